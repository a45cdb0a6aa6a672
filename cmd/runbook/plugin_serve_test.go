package main

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/builtin"
	"github.com/runbookdev/runbook/plugins/host"
	"github.com/runbookdev/runbook/schema"
)

// TestBuiltinsServedByReexec launches every built-in plugin that has an
// implementation the way a run does: plugins/host re-executes the runbook
// binary once as `runbook __plugin NAME…` (testscript puts a runbook copy
// of the test binary on $PATH). Each must answer the handshake with the
// schema the registry holds, all from one process, and shell.run must
// really run.
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
	// One process serves them all.
	pid := pool.Get(specs[0].Name).Pid()
	for _, s := range specs {
		if got := pool.Get(s.Name).Pid(); got != pid {
			t.Errorf("%s runs in pid %d, %s in %d: want one process for the built-ins", s.Name, got, specs[0].Name, pid)
		}
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

// An exec starts its plugins before the run needs them (Prestart): Start
// hands over the processes that start began, and Close ends them whether
// or not the run ever started.
func TestPrestart(t *testing.T) {
	self, err := exec.LookPath("runbook")
	if err != nil {
		t.Fatalf("no runbook on $PATH: %v", err)
	}
	cfg := &schema.Config{}
	newProvider := func() *hostProvider {
		return &hostProvider{registry: builtin.Registry(), cfg: cfg, pool: host.NewPool(&host.Launcher{Self: []string{self, "__plugin"}, TempDir: t.TempDir()})}
	}
	ctx := context.Background()

	t.Run("start takes over", func(t *testing.T) {
		p := newProvider()
		p.Prestart(ctx, []string{"prompt", "shell"})
		got, err := p.Start(ctx, []string{"prompt", "shell"})
		if err != nil {
			t.Fatal(err)
		}
		pid := got["shell"].(*host.Plugin).Pid()
		if pid == 0 || got["prompt"].(*host.Plugin).Pid() != pid {
			t.Fatalf("pids: prompt %d, shell %d; want one running process", got["prompt"].(*host.Plugin).Pid(), pid)
		}
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		waitGone(t, pid)
		if err := p.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})

	t.Run("run never starts", func(t *testing.T) {
		p := newProvider()
		p.Prestart(ctx, []string{"shell"})
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		if names := p.pool.Names(); len(names) > 0 {
			t.Errorf("pool still holds %v", names)
		}
	})

	t.Run("other names start anew", func(t *testing.T) {
		p := newProvider()
		defer p.Close()
		p.Prestart(ctx, []string{"shell"})
		if _, err := p.Start(ctx, []string{"prompt"}); err != nil {
			t.Fatal(err)
		}
		if got := p.pool.Names(); !slices.Equal(got, []string{"prompt"}) && !slices.Equal(got, []string{"prompt", "shell"}) {
			t.Errorf("pool holds %v", got)
		}
	})

	t.Run("unknown plugin", func(t *testing.T) {
		p := newProvider()
		p.Prestart(ctx, []string{"nope"})
		if _, err := p.Start(ctx, []string{"nope"}); err == nil || !strings.Contains(err.Error(), `"nope"`) {
			t.Errorf("err = %v", err)
		}
		p.Close()
	})
}

// waitGone waits for process pid to end (or be a zombie).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return
		}
		if s := string(stat); strings.Contains(s[strings.LastIndex(s, ")"):], ") Z") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d still running", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
