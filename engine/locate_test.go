package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/schema"
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

// A validator's check of a value known only when the run reaches the step
// fails the step, at the argument.
func TestValidatorsAtRunTime(t *testing.T) {
	src := `runbook "r" {
  owner = "team"
  step "read" {
    action "kv.get" {
      key = "k"
    }
  }
  step "write" {
    action "kv.set" {
      key   = step.read.output.value
      value = "x"
    }
  }
}
`
	sch := *kvSchema
	sch.Actions = map[string]*plugins.Action{}
	for name, a := range kvSchema.Actions {
		sch.Actions[name] = a
	}
	set := *kvSchema.Actions["set"]
	set.Args = []*plugins.Attribute{
		{Name: "key", Type: cty.String, Required: true, Validators: []*plugins.Validator{plugins.MatchPattern(`[a-z]+`)}},
		{Name: "value", Type: cty.String, Required: true},
	}
	sch.Actions["set"] = &set
	cfg, rb := loadWith(t, src, &plugins.Builtin{Name: "kv", Schema: &sch})
	kv := newKV()
	res, err := Run(context.Background(), cfg, rb, WithPlugins(InProcess{"kv": kv}), WithHooks(&recorder{}),
		WithClock(&fakeClock{now: time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)}), WithEnv(func(string) (string, bool) { return "", false }))
	if err != nil {
		t.Fatal(err)
	}
	want := `t.hcl:10,15-37: kv.set: argument "key": "v1" does not match the pattern [a-z]+.`
	if !strings.Contains(res.Reason, want) {
		t.Errorf("reason %q, want %q", res.Reason, want)
	}
	if strings.Contains(strings.Join(kv.Calls(), ";"), "apply set") {
		t.Errorf("the plugin was called: %q", kv.Calls())
	}
}

// The transcript names the version an external plugin reported, not what
// the caller could say of it before the plugin ran.
func TestReportedVersionRecorded(t *testing.T) {
	cfg, rb := load(t, `runbook "r" {
  owner = "team"
  step "s" {
    action "kv.get" {
      key = "k"
    }
  }
}
`)
	cfg.Plugins["kv"] = &schema.PluginDecl{Name: "kv", Source: "/opt/runbook-plugin-kv", SHA256: "ab", Config: hcl.EmptyBody()}
	cfg.Versions = map[string]string{"kv": "0.3.1"}
	rec := &recorder{}
	_, err := Run(context.Background(), cfg, rb, WithPlugins(InProcess{"kv": newKV()}), WithHooks(rec),
		WithPluginInfo(map[string]PluginInfo{"kv": {Version: "external", SHA256: "ab"}}),
		WithClock(&fakeClock{now: time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)}), WithEnv(func(string) (string, bool) { return "", false }))
	if err != nil {
		t.Fatal(err)
	}
	started, ok := rec.events[0].(RunStarted)
	if !ok {
		t.Fatalf("first event %T", rec.events[0])
	}
	if got := started.Plugins["kv"]; got.Version != "0.3.1" || got.SHA256 != "ab" {
		t.Errorf("recorded %+v", got)
	}
}
