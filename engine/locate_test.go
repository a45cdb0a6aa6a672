package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
)

// erringKV is the kv plugin with errors about attributes, from Configure or
// from Apply.
type erringKV struct {
	*kvPlugin
	configErr, applyErr error
}

func (p *erringKV) Configure(ctx context.Context, cfg cty.Value) error {
	if p.configErr != nil {
		return p.configErr
	}
	return p.kvPlugin.Configure(ctx, cfg)
}

func (p *erringKV) Apply(ctx context.Context, req *plugins.ActionRequest) (*plugins.ApplyResult, error) {
	if p.applyErr != nil {
		return nil, p.applyErr
	}
	return p.kvPlugin.Apply(ctx, req)
}

// Errors a plugin attributes to an attribute are shown at its place: an
// argument in the step, a configuration attribute in the plugin block.
func TestPluginErrorsArePositioned(t *testing.T) {
	src := `plugin "kv" {
  path = "store.json"
}

runbook "r" {
  owner = "team"
  step "s" {
    action "kv.get" {
      key = "k"
    }
  }
}
`
	for _, tt := range []struct {
		name                string
		configErr, applyErr error
		want                string
	}{
		{"configure", &plugins.Error{Path: cty.GetAttrPath("path"), Summary: "No store here"}, nil,
			`configuring plugin "kv": t.hcl:2,10-22: plugin "kv" attribute path: No store here`},
		{"apply, argument", nil, &plugins.Error{Path: cty.GetAttrPath("key"), Summary: "No such key"},
			`t.hcl:9,13-16: argument key: No such key`},
		{"apply, configuration", nil, &plugins.Error{Path: cty.GetAttrPath("path"), Summary: "Store gone", Config: true},
			`t.hcl:2,10-22: plugin "kv" attribute path: Store gone`},
		{"apply, default configuration", nil, &plugins.Error{Path: cty.GetAttrPath("other"), Summary: "Bad", Config: true},
			`t.hcl:1,1-12: plugin "kv" attribute other: Bad`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, rb := load(t, src)
			p := &erringKV{kvPlugin: newKV(), configErr: tt.configErr, applyErr: tt.applyErr}
			res, err := Run(context.Background(), cfg, rb, WithPlugins(InProcess{"kv": p}), WithHooks(&recorder{}),
				WithClock(&fakeClock{now: time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)}), WithEnv(func(string) (string, bool) { return "", false }))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(res.Reason, tt.want) {
				t.Errorf("reason %q, want %q", res.Reason, tt.want)
			}
		})
	}
}
