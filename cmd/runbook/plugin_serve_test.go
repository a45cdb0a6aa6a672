package main

import (
	"context"
	"os/exec"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/builtin"
	"github.com/runbookdev/runbook/plugins/host"
)

// TestBuiltinsServedByReexec launches every built-in plugin that has an
// implementation the way a run does: plugins/host re-executes the runbook
// binary as `runbook __plugin NAME` (testscript puts a runbook copy of the
// test binary on $PATH). Each must answer the handshake with the schema the
// registry holds, and shell.run must really run.
func TestBuiltinsServedByReexec(t *testing.T) {
	self, err := exec.LookPath("runbook")
	if err != nil {
		t.Fatalf("no runbook on $PATH: %v", err)
	}
	reg := builtin.Registry()
	var specs []host.Spec
	for _, name := range reg.Names() {
		if reg.Builtin(name).New != nil {
			specs = append(specs, host.BuiltinSpec(name))
		}
	}
	if len(specs) == 0 {
		t.Skip("no built-in plugin has an implementation yet")
	}
	pool := host.NewPool(&host.Launcher{Self: []string{self, "__plugin"}, TempDir: t.TempDir()})
	if err := pool.Start(context.Background(), specs); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := pool.Close(); err != nil {
			t.Error(err)
		}
	}()
	cmpCty := []cmp.Option{
		cmp.Comparer(func(a, b cty.Type) bool { return a.Equals(b) }),
		cmp.Comparer(func(a, b cty.Value) bool { return a.RawEquals(b) }),
	}
	for _, s := range specs {
		got, err := pool.Get(s.Name).Schema(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(reg.Builtin(s.Name).Schema, got, cmpCty...); diff != "" {
			t.Errorf("%s: schema served differs from the registry's (-registry +served):\n%s", s.Name, diff)
		}
	}
	shell := pool.Get("shell")
	if shell == nil {
		return
	}
	args := cty.ObjectVal(map[string]cty.Value{
		"command":   cty.StringVal("echo hello from $0"),
		"dir":       cty.NullVal(cty.String),
		"env":       cty.NullVal(cty.Map(cty.String)),
		"read_only": cty.True,
	})
	if a := reg.Builtin("shell").Schema.Actions["run"]; a == nil || !a.ArgsType().Equals(args.Type()) {
		t.Skip("shell.run's arguments changed; update this test")
	}
	res, err := shell.Apply(context.Background(), &plugins.ActionRequest{Action: "run", Args: args})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Output.GetAttr("stdout").AsString(); got != "hello from bash\n" {
		t.Errorf("shell.run stdout %q", got)
	}
}
