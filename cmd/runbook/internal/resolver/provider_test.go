package resolver

import (
	"context"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/builtin"
	"github.com/runbookdev/runbook/plugins/host"
	"github.com/runbookdev/runbook/schema"
)

func newTestProvider(t *testing.T, reg *plugins.Registry) *Provider {
	l := &host.Launcher{TempDir: t.TempDir()}
	return &Provider{registry: reg, cfg: &schema.Config{}, launcher: l, pool: host.NewPool(l)}
}

// The built-ins a run uses run in this process, each with the schema the
// registry holds, and really work; Close ends them, and closing twice is
// harmless.
func TestProviderRunsBuiltinsInProcess(t *testing.T) {
	ctx := context.Background()
	reg := builtin.Registry()
	p := newTestProvider(t, reg)
	p.Prestart(ctx, []string{"prompt", "shell"})
	got, err := p.Start(ctx, []string{"prompt", "shell"})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"prompt", "shell"} {
		pl, ok := got[name].(*host.InProcess)
		if !ok {
			t.Fatalf("%s is a %T, want a built-in in process", name, got[name])
		}
		s, err := pl.Schema(ctx)
		if err != nil || s != reg.Builtin(name).Schema && len(s.Actions) != len(reg.Builtin(name).Schema.Actions) {
			t.Errorf("%s: schema %v, %v", name, s, err)
		}
	}
	args := cty.ObjectVal(map[string]cty.Value{
		"command":   cty.StringVal("echo hello from $0"),
		"dir":       cty.NullVal(cty.String),
		"env":       cty.NullVal(cty.Map(cty.String)),
		"read_only": cty.True,
	})
	res, err := got["shell"].Apply(ctx, &plugins.ActionRequest{Action: "run", Args: args})
	if err != nil {
		t.Fatal(err)
	}
	if out := res.Output.GetAttr("stdout").AsString(); out != "hello from bash\n" {
		t.Errorf("shell.run stdout %q", out)
	}
	if _, err := p.Start(ctx, []string{"shell"}); err == nil {
		t.Error("started a built-in twice")
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := got["shell"].Apply(ctx, &plugins.ActionRequest{Action: "run", Args: args}); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("a closed built-in answered: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestProviderRefuses(t *testing.T) {
	ctx := context.Background()
	t.Run("prestarted run that never starts", func(t *testing.T) {
		p := newTestProvider(t, builtin.Registry())
		p.Prestart(ctx, []string{"shell"})
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("unknown plugin", func(t *testing.T) {
		p := newTestProvider(t, builtin.Registry())
		defer p.Close()
		p.Prestart(ctx, []string{"nope"})
		if _, err := p.Start(ctx, []string{"nope"}); err == nil || !strings.Contains(err.Error(), `"nope"`) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("schema-only built-in", func(t *testing.T) {
		reg, err := plugins.NewRegistry(&plugins.Builtin{Name: "ghost", Schema: &plugins.Schema{
			Actions: map[string]*plugins.Action{"boo": {Name: "boo", Output: cty.String}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		p := newTestProvider(t, reg)
		defer p.Close()
		if _, err := p.Start(ctx, []string{"ghost"}); err == nil || !strings.Contains(err.Error(), `plugin "ghost" has no implementation in this build`) {
			t.Errorf("err = %v", err)
		}
	})
}
