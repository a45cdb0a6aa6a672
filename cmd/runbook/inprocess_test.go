package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/cmd/runbook/internal/cmd/root"
	"github.com/runbookdev/runbook/cmd/runbook/internal/cmdutil"
	"github.com/runbookdev/runbook/cmd/runbook/internal/iostreams"
	"github.com/runbookdev/runbook/engine/exitcode"
	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/builtin"
)

// faulty is a built-in that misbehaves on purpose: explode panics, stall
// ignores cancellation, leak returns its sensitive argument in its output
// and its error.
type faulty struct{}

var faultySchema = &plugins.Schema{Actions: map[string]*plugins.Action{
	"explode":   {Name: "explode", Output: cty.String},
	"planpanic": {Name: "planpanic", Output: cty.String},
	"stall":     {Name: "stall", Output: cty.String, ReadOnly: true},
	"leak": {Name: "leak", Output: cty.Object(map[string]cty.Type{"echo": cty.String}), ReadOnly: true,
		Args: []*plugins.Attribute{{Name: "value", Type: cty.String, Required: true, Sensitive: true}, {Name: "fail", Type: cty.Bool}}},
}}

func (faulty) Schema(context.Context) (*plugins.Schema, error) { return faultySchema, nil }
func (faulty) Configure(context.Context, cty.Value) error      { return nil }
func (faulty) Plan(_ context.Context, req *plugins.ActionRequest) (*plugins.PlanResult, error) {
	if req.Action == "planpanic" {
		panic("kaboom in plan")
	}
	return &plugins.PlanResult{}, nil
}
func (faulty) Apply(ctx context.Context, req *plugins.ActionRequest) (*plugins.ApplyResult, error) {
	switch req.Action {
	case "explode":
		var s []int
		_ = s[len(req.Action)] // out of range: the runtime panics
	case "stall":
		select {}
	case "leak":
		v := req.Args.GetAttr("value").AsString()
		if f := req.Args.GetAttr("fail"); !f.IsNull() && f.True() {
			return nil, errors.New("backend refused token " + v)
		}
		return &plugins.ApplyResult{Output: cty.ObjectVal(map[string]cty.Value{"echo": cty.StringVal("got " + v)})}, nil
	}
	return &plugins.ApplyResult{Output: cty.StringVal("ok")}, nil
}
func (faulty) Close() error { return nil }

// execWithFaulty runs `runbook exec ARGS…` in this process with the
// built-ins and faulty, on the runbook files given, and returns the exit
// code, stdout and stderr, and the folder it ran in.
func execWithFaulty(t *testing.T, files map[string]string, args ...string) (int, string, string, string) {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	code, out, errOut := execFaulty(t, args...)
	return code, out, errOut, dir
}

// execFaultyIn runs `runbook exec ARGS…` again in the current folder and
// returns the exit code and all output.
func execFaultyIn(t *testing.T, args ...string) (int, string) {
	code, out, errOut := execFaulty(t, args...)
	return code, out + errOut
}

func execFaulty(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	reg := builtin.Registry()
	if err := reg.Register(&plugins.Builtin{Name: "faulty", Schema: faultySchema, New: func() plugins.Plugin { return faulty{} }}); err != nil {
		t.Fatal(err)
	}
	streams, _, out, errOut := iostreams.Test()
	code := root.Main(append([]string{"exec"}, args...), cmdutil.New(streams, reg))
	return code, out.String(), errOut.String()
}

func transcriptText(t *testing.T, dir string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, ".runbook", "transcripts", "*.jsonl"))
	var b strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
	}
	return b.String()
}

// A built-in that panics fails its step with the panic and the stack, in
// the terminal and the transcript; the run stops cleanly (the next step
// does not run, the transcript ends with run_finished, the lock is free).
func TestBuiltinPanicFailsTheStep(t *testing.T) {
	files := map[string]string{"runbooks/crash.hcl": `
runbook "crash" {
  owner = "team"
  lock  = "crash"
  step "before" {
    action "shell.run" { command = "echo one > before.txt" }
  }
  step "boom" {
    action "faulty.explode" {}
  }
  step "after" {
    action "shell.run" { command = "touch after.txt" }
  }
}
`}
	code, out, _, dir := execWithFaulty(t, files, "crash", "--yes")
	if code != exitcode.Failed {
		t.Errorf("exit %d, want %d", code, exitcode.Failed)
	}
	for _, want := range []string{`plugin "faulty" panicked during faulty.explode`, "index out of range"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "before.txt")); err != nil {
		t.Errorf("the step before the panic: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "after.txt")); err == nil {
		t.Error("the step after the panic ran")
	}
	tr := transcriptText(t, dir)
	for _, want := range []string{`"type":"action_result"`, "panic: runtime error: index out of range", "goroutine ", "cmd/runbook.faulty.Apply", `"type":"run_finished"`} {
		if !strings.Contains(tr, want) {
			t.Errorf("transcript lacks %q", want)
		}
	}
	// The lock was released: the same run runs (and fails) again, rather
	// than being refused with exit 3.
	if code, out := execFaultyIn(t, "crash", "--yes"); code != exitcode.Failed {
		t.Errorf("second run: exit %d, want %d (the lock still held?):\n%s", code, exitcode.Failed, out)
	}
}

// A built-in that ignores its step's timeout is abandoned after the grace
// period: the step fails, the run ends.
func TestBuiltinIgnoringTimeoutIsAbandoned(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the 5 s grace period")
	}
	files := map[string]string{"runbooks/stall.hcl": `
runbook "stall" {
  owner = "team"
  step "stuck" {
    timeout = "1s"
    action "faulty.stall" {}
  }
}
`}
	code, out, _, _ := execWithFaulty(t, files, "stall", "--yes")
	if code != exitcode.Failed {
		t.Errorf("exit %d, want %d", code, exitcode.Failed)
	}
	if !strings.Contains(out, "faulty.stall timed out after 1s") {
		t.Errorf("output:\n%s", out)
	}
}

// Sensitive values are masked in what a built-in returns: its output and
// its error.
func TestBuiltinAnswersAreMasked(t *testing.T) {
	const secret = "hunter2-correct-horse"
	files := map[string]string{"runbooks/leak.hcl": `
runbook "leak" {
  owner = "team"
  variable "token" {
    type      = string
    sensitive = true
  }
  step "echo" {
    action "faulty.leak" { value = var.token }
  }
  step "refused" {
    action "faulty.leak" {
      value = var.token
      fail  = true
    }
  }
}
`}
	code, out, errOut, dir := execWithFaulty(t, files, "leak", "--yes", "--var", "token="+secret)
	if code != exitcode.Failed {
		t.Errorf("exit %d, want %d:\n%s%s", code, exitcode.Failed, out, errOut)
	}
	if !strings.Contains(out, "backend refused token") {
		t.Errorf("the error did not reach the output:\n%s", out)
	}
	for what, text := range map[string]string{"stdout": out, "stderr": errOut, "transcript": transcriptText(t, dir)} {
		if strings.Contains(text, secret) {
			t.Errorf("%s shows the secret:\n%s", what, text)
		}
	}
}

// A panic while planning is reported in full, in the terminal and in the
// transcript's plan record, not cut to its first line.
func TestBuiltinPanicInPlan(t *testing.T) {
	files := map[string]string{"runbooks/crash.hcl": `
runbook "crash" {
  owner = "team"
  step "boom" {
    action "faulty.planpanic" {}
  }
}
`}
	code, out, _, dir := execWithFaulty(t, files, "crash", "--dry-run")
	if code != exitcode.Failed {
		t.Errorf("exit %d, want %d", code, exitcode.Failed)
	}
	for _, want := range []string{`✗ plan faulty.planpanic: plugin "faulty" panicked during plan of faulty.planpanic:`, "panic: kaboom in plan", "cmd/runbook.faulty.Plan"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	tr := transcriptText(t, dir)
	for _, want := range []string{`"type":"plan"`, "panic: kaboom in plan", "goroutine "} {
		if !strings.Contains(tr, want) {
			t.Errorf("transcript lacks %q", want)
		}
	}
	// transcript show replays it the same way.
	streams, _, sout, _ := iostreams.Test()
	trs, _ := filepath.Glob(filepath.Join(dir, ".runbook", "transcripts", "*.jsonl"))
	if len(trs) != 1 {
		t.Fatalf("transcripts: %v", trs)
	}
	if code := root.Main([]string{"transcript", "show", strings.TrimSuffix(filepath.Base(trs[0]), ".jsonl")}, cmdutil.New(streams, builtin.Registry())); code != 0 {
		t.Fatalf("transcript show: exit %d", code)
	}
	if !strings.Contains(sout.String(), "✗ plan faulty.planpanic: plugin \"faulty\" panicked") || !strings.Contains(sout.String(), "panic: kaboom in plan") {
		t.Errorf("transcript show:\n%s", sout)
	}
}
