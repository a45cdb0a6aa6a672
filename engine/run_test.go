package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/engine/redact"
	"github.com/runbookdev/runbook/plugins"
)

const rollback = `
runbook "rb" {
  owner = "team"
  variable "key" {
    type    = string
    default = "k"
  }
  variable "value" {
    type = string
  }
  step "read" {
    action "kv.get" {
      key = var.key
    }
  }
  step "write" {
    confirm = "Set ${var.key} from v${step.read.output.version}?"
    precondition {
      condition     = step.read.output.version >= 1
      error_message = "nothing to change"
    }
    action "kv.set" {
      key   = var.key
      value = var.value
    }
    expect {
      condition     = output.version > step.read.output.version
      error_message = "version did not move"
    }
  }
  step "check" {
    action "kv.get" {
      key = var.key
    }
    expect {
      condition     = output.value == var.value
      error_message = "still ${output.value}"
    }
  }
  step "announce" {
    manual = "Tell people: ${var.key} is v${step.check.output.version}."
  }
}
`

func TestRunSucceeds(t *testing.T) {
	h := run(t, rollback, WithVars(map[string]string{"value": "v2"}), WithYes(true))
	if h.err != nil {
		t.Fatal(h.err)
	}
	if h.res.Status != StatusSucceeded || h.res.ExitCode != 0 {
		t.Fatalf("status %s exit %d: %s", h.res.Status, h.res.ExitCode, h.res.Reason)
	}
	// The mutating step is planned before its confirmation.
	want := []string{"configure", "apply get", "plan set", "apply set", "apply get"}
	if diff := cmp.Diff(want, h.kv.Calls()); diff != "" {
		t.Errorf("plugin calls (-want +got):\n%s", diff)
	}
	wantTypes := "run_started step_started action_result step_finished " +
		"step_started precondition plan confirmation action_result expectation step_finished " +
		"step_started action_result expectation step_finished " +
		"step_started confirmation step_finished run_finished"
	if got := h.rec.types(); got != wantTypes {
		t.Errorf("events:\n got %s\nwant %s", got, wantTypes)
	}
	for _, e := range h.rec.events {
		if c, ok := e.(ConfirmationAnswered); ok && (c.Answer != "yes" || c.By != "--yes") {
			t.Errorf("confirmation %+v, want yes by --yes", c)
		}
		if c, ok := e.(ConfirmationAnswered); ok && c.Name == "write" && c.Question != "Set k from v1?" {
			t.Errorf("question %q", c.Question)
		}
	}
	manual := h.res.Steps[3].Output
	if by := manual.GetAttr("confirmed_by").AsString(); by != "alice@host (--yes)" {
		t.Errorf("confirmed_by %q", by)
	}
}

func TestRunOutcomes(t *testing.T) {
	tests := []struct {
		name       string
		src        string
		opts       []Option
		status     string
		exit       int
		reason     string
		stepStatus map[string]string
		calls      []string
	}{
		{
			name:   "precondition stops the run",
			src:    strings.Replace(rollback, "step.read.output.version >= 1", "step.read.output.version > 5", 1),
			opts:   []Option{WithVars(map[string]string{"value": "v2"}), WithYes(true)},
			status: StatusBlocked, exit: 1, reason: "nothing to change",
			stepStatus: map[string]string{"read": StatusSucceeded, "write": StatusBlocked},
			calls:      []string{"configure", "apply get"},
		},
		{
			name:   "declined confirmation",
			src:    rollback,
			opts:   []Option{WithVars(map[string]string{"value": "v2"}), WithPrompter(&answers{confirm: false})},
			status: StatusDeclined, exit: 3, reason: "declined",
			stepStatus: map[string]string{"write": StatusDeclined},
			calls:      []string{"configure", "apply get", "plan set"},
		},
		{
			name:   "no terminal and no --yes refuses",
			src:    rollback,
			opts:   []Option{WithVars(map[string]string{"value": "v2"})},
			status: StatusDeclined, exit: 3, reason: "--yes",
			calls: []string{"configure", "apply get", "plan set"},
		},
		{
			name:   "confirmed on the terminal",
			src:    rollback,
			opts:   []Option{WithVars(map[string]string{"value": "v2"}), WithPrompter(&answers{confirm: true})},
			status: StatusSucceeded, exit: 0,
			calls: []string{"configure", "apply get", "plan set", "apply set", "apply get"},
		},
		{
			name:   "expectation fails and aborts",
			src:    strings.Replace(rollback, "output.value == var.value", "output.value == \"other\"", 1),
			opts:   []Option{WithVars(map[string]string{"value": "v2"}), WithYes(true)},
			status: StatusFailed, exit: 1, reason: "still v2",
			stepStatus: map[string]string{"check": StatusFailed},
		},
		{
			name: "expectation fails and the run continues",
			src: strings.Replace(strings.Replace(rollback, "output.value == var.value", "output.value == \"other\"", 1),
				"error_message = \"still ${output.value}\"\n    }", "error_message = \"still ${output.value}\"\n    }\n    on_failure = \"continue\"", 1),
			opts:   []Option{WithVars(map[string]string{"value": "v2"}), WithYes(true)},
			status: StatusFailed, exit: 1, reason: "on_failure",
			stepStatus: map[string]string{"check": StatusFailed, "announce": StatusSucceeded},
		},
		{
			name: "when false skips",
			src: `runbook "rb" {
  owner = "t"
  variable "go" {
    type    = bool
    default = false
  }
  step "maybe" {
    when = var.go
    action "kv.set" {
      key   = "k"
      value = "x"
    }
  }
}`,
			status: StatusSucceeded, exit: 0,
			stepStatus: map[string]string{"maybe": StatusSkipped},
			calls:      []string{"configure"},
		},
		{
			name: "retry until the action succeeds",
			src: `runbook "rb" {
  owner = "t"
  step "flaky" {
    action "kv.fail" {
      times = 2
    }
    retry {
      attempts = 3
      delay    = "1s"
    }
  }
}`,
			status: StatusSucceeded, exit: 0,
			calls: []string{"configure", "plan fail", "apply fail", "apply fail", "apply fail"},
		},
		{
			name: "retries run out",
			src: `runbook "rb" {
  owner = "t"
  step "broken" {
    action "kv.fail" {}
    retry {
      attempts = 2
    }
  }
}`,
			status: StatusFailed, exit: 1, reason: "after 2 attempts: failure 2",
		},
		{
			name: "timeout",
			src: `runbook "rb" {
  owner = "t"
  step "hang" {
    action "kv.block" {}
    timeout = "10ms"
  }
}`,
			status: StatusFailed, exit: 1, reason: "timed out after 10ms",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := run(t, tt.src, tt.opts...)
			if h.err != nil {
				t.Fatal(h.err)
			}
			if h.res.Status != tt.status || h.res.ExitCode != tt.exit || !strings.Contains(h.res.Reason, tt.reason) {
				t.Errorf("got %s exit %d %q; want %s exit %d, reason containing %q", h.res.Status, h.res.ExitCode, h.res.Reason, tt.status, tt.exit, tt.reason)
			}
			steps := h.rec.steps()
			for name, want := range tt.stepStatus {
				if got := steps[name].Status; got != want {
					t.Errorf("step %s: %s, want %s", name, got, want)
				}
			}
			if tt.calls != nil {
				if diff := cmp.Diff(tt.calls, h.kv.Calls()); diff != "" {
					t.Errorf("plugin calls (-want +got):\n%s", diff)
				}
			}
			last := h.rec.events[len(h.rec.events)-1]
			if f, ok := last.(RunFinished); !ok || f.Status != tt.status || f.ExitCode != tt.exit {
				t.Errorf("last event %#v", last)
			}
		})
	}
}

const polling = `
runbook "rb" {
  owner = "t"
  step "wait" {
    action "kv.get" {
      key = "k"
    }
    expect {
      condition     = output.version >= 4
      error_message = "still v${output.version}"
      within        = "1m"
      every         = "10s"
    }
  }
}`

func TestWithinPolling(t *testing.T) {
	t.Run("holds late", func(t *testing.T) {
		cfg, rb := load(t, polling)
		kv := newKV()
		kv.getBump = true
		rec := &recorder{}
		clock := &fakeClock{now: time.Unix(0, 0)}
		res, err := Run(context.Background(), cfg, rb, WithPlugins(InProcess{"kv": kv}), WithHooks(rec), WithClock(clock))
		if err != nil || res.Status != StatusSucceeded {
			t.Fatalf("%v %+v", err, res)
		}
		// v2, v3 fail; v4 holds: three reads, twenty virtual seconds.
		if n := len(kv.Calls()); n != 4 {
			t.Errorf("calls %v", kv.Calls())
		}
		if d := clock.Now().Sub(time.Unix(0, 0)); d != 20*time.Second {
			t.Errorf("waited %s of virtual time", d)
		}
		var results []string
		for _, e := range rec.events {
			if x, ok := e.(ExpectationChecked); ok {
				results = append(results, x.Result)
			}
		}
		if diff := cmp.Diff([]string{"waiting", "waiting", "passed"}, results); diff != "" {
			t.Errorf("expectation results (-want +got):\n%s", diff)
		}
	})
	t.Run("times out", func(t *testing.T) {
		h := run(t, polling)
		if h.res.Status != StatusFailed || !strings.Contains(h.res.Reason, "still v1") {
			t.Fatalf("%+v", h.res)
		}
		// Checked at 0, 10, …, 60 s: seven reads.
		if n := len(h.kv.Calls()) - 1; n != 7 {
			t.Errorf("%d reads: %v", n, h.kv.Calls())
		}
	})
}

func TestDryRunChangesNothing(t *testing.T) {
	src := strings.Replace(rollback, `  step "announce" {`, `  step "after" {
    action "kv.echo" {
      key = "v${step.write.output.version}"
    }
  }
  step "announce" {`, 1)
	h := run(t, src, WithVars(map[string]string{"value": "v2"}), WithDryRun(true))
	if h.err != nil {
		t.Fatal(h.err)
	}
	if h.res.Status != StatusSucceeded || h.res.ExitCode != 0 {
		t.Fatalf("%+v", h.res)
	}
	for _, call := range h.kv.Calls() {
		if call == "apply set" {
			t.Fatalf("a dry-run applied a mutating action: %v", h.kv.Calls())
		}
	}
	want := []string{"configure", "apply get", "plan set", "apply get", "apply echo"}
	if diff := cmp.Diff(want, h.kv.Calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	steps := h.rec.steps()
	if steps["write"].Status != StatusPlanned || steps["announce"].Status != StatusPlanned {
		t.Errorf("write %s, announce %s; want planned", steps["write"].Status, steps["announce"].Status)
	}
	var plan Planned
	var checkResult string
	for _, e := range h.rec.events {
		switch x := e.(type) {
		case Planned:
			plan = x
		case ExpectationChecked:
			if x.Name == "check" {
				checkResult = x.Result
			}
		case ConfirmationAnswered:
			if x.Answer != "not asked" {
				t.Errorf("a dry-run asked: %+v", x)
			}
		}
	}
	if len(plan.Changes) != 1 || plan.Changes[0] != "k: v1 → v2" {
		t.Errorf("plan %+v", plan)
	}
	// check reads the live store, where the value is still v1: after a
	// planned change its expectation cannot be judged, so it is pending.
	if checkResult != StatusPending || steps["check"].Status != StatusPending {
		t.Errorf("check: expectation %s, step %+v; want pending", checkResult, steps["check"])
	}
	if h.kv.store["k"] != "v1" {
		t.Errorf("store changed: %v", h.kv.store)
	}
}

func TestSensitiveValuesNeverLeave(t *testing.T) {
	src := `runbook "rb" {
  owner = "t"
  variable "token" {
    type      = string
    sensitive = true
  }
  step "echo" {
    action "kv.echo" {
      key = "Bearer ${var.token}"
    }
    expect {
      condition     = output.value == "nope"
      error_message = "got ${output.value} for ${var.token}"
    }
  }
}`
	h := run(t, src, WithVars(map[string]string{"token": "s3cr3t-value"}))
	if h.err != nil {
		t.Fatal(h.err)
	}
	for _, e := range h.rec.events {
		if s := strings.Join(strings.Fields(strings.ReplaceAll(fmtEvent(e), "\n", " ")), " "); strings.Contains(s, "s3cr3t-value") {
			t.Errorf("secret in %s event: %s", e.Type(), s)
		}
	}
	if strings.Contains(h.res.Reason, "s3cr3t") {
		t.Errorf("secret in reason %q", h.res.Reason)
	}
	started := h.rec.events[0].(RunStarted)
	if started.Vars["token"] != redact.Marker {
		t.Errorf("vars %v", started.Vars)
	}
}

func fmtEvent(e Event) string { return fmt.Sprintf("%+v", e) }

func TestInterrupt(t *testing.T) {
	cfg, rb := load(t, `runbook "rb" {
  owner = "t"
  step "hang" {
    action "kv.block" {}
  }
  step "never" {
    action "kv.get" {
      key = "k"
    }
  }
}`)
	kv := newKV()
	rec := &recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for len(kv.Calls()) < 2 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	res, err := Run(ctx, cfg, rb, WithPlugins(InProcess{"kv": kv}), WithHooks(rec))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusInterrupted || res.ExitCode != 130 {
		t.Fatalf("%+v", res)
	}
	last, ok := rec.events[len(rec.events)-1].(Interrupted)
	if !ok || last.Step != "hang" {
		t.Errorf("last event %#v", rec.events[len(rec.events)-1])
	}
	if diff := cmp.Diff([]string{"configure", "apply block"}, kv.Calls()); diff != "" {
		t.Errorf("calls: %s", diff)
	}
}

func TestHookFailureStopsBeforeTheNextStep(t *testing.T) {
	cfg, rb := load(t, rollback)
	kv := newKV()
	rec := &recorder{failAt: "action_result"}
	res, err := Run(context.Background(), cfg, rb, WithPlugins(InProcess{"kv": kv}), WithHooks(rec),
		WithVars(map[string]string{"value": "v2"}), WithYes(true), WithEnv(func(string) (string, bool) { return "", false }))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusFailed || !strings.Contains(res.Reason, "disk full") {
		t.Fatalf("%+v", res)
	}
	if diff := cmp.Diff([]string{"configure", "apply get"}, kv.Calls()); diff != "" {
		t.Errorf("ran on after the transcript failed: %s", diff)
	}
}

func TestVariables(t *testing.T) {
	src := `runbook "rb" {
  owner = "t"
  variable "s" {
    type    = string
    default = "default"
  }
  variable "n" {
    type    = number
    default = 1
    validation {
      condition     = var.n < 100
      error_message = "n must be below 100"
    }
  }
  variable "l" {
    type    = list(string)
    default = []
  }
  step "only" {
    manual = "${var.s} ${var.n} ${join(",", var.l)}"
  }
}`
	varFile := func(name, content string) string {
		path := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tests := []struct {
		name    string
		opts    []Option
		want    string
		wantErr string
	}{
		{"defaults", nil, "default 1 ", ""},
		{"huge exponent", []Option{WithVars(map[string]string{"n": "1e9999999"})}, "", "Number out of range"},
		{"huge exponent in a string", []Option{WithVars(map[string]string{"n": `"1e9999999"`})}, "", "number out of range"},
		{"a million digits", []Option{WithEnv(mapEnv{"RUNBOOK_VAR_n": strings.Repeat("7", 1000000)}.lookup)}, "", "Number too long"},
		{"huge exponent in a JSON var file", []Option{WithVarFiles(varFile("v.json", `{"n": "1e9999999"}`))}, "", "number out of range"},
		{"a million digits in an HCL var file", []Option{WithVarFiles(varFile("v.hcl", `n = "`+strings.Repeat("7", 1000000)+`"`))}, "", "number too long"},
		{"digits in a string variable", []Option{WithVarFiles(varFile("v.json", `{"s": "`+strings.Repeat("7", 200)+`"}`))}, strings.Repeat("7", 200) + " 1 ", ""},
		{"flags parse HCL literals", []Option{WithVars(map[string]string{"n": "42", "l": `["a", "b"]`, "s": "x y"})}, "x y 42 a,b", ""},
		{"env below flags", []Option{WithEnv(mapEnv{"RUNBOOK_VAR_s": "env", "RUNBOOK_VAR_n": "7"}.lookup), WithVars(map[string]string{"n": "8"})}, "env 8 ", ""},
		{"validation", []Option{WithVars(map[string]string{"n": "100"})}, "", "n must be below 100"},
		{"bad number", []Option{WithVars(map[string]string{"n": "many"})}, "", `"many" is not a valid number`},
		{"unknown variable", []Option{WithVars(map[string]string{"nope": "1"})}, "", `has no variable "nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := append([]Option{WithYes(true)}, tt.opts...)
			h := run(t, src, opts...)
			if tt.wantErr != "" {
				var ie *InputError
				if !errors.As(h.err, &ie) || !strings.Contains(h.err.Error(), tt.wantErr) || ie.ExitCode() != 2 {
					t.Fatalf("err %v, want an input error containing %q", h.err, tt.wantErr)
				}
				return
			}
			if h.err != nil {
				t.Fatal(h.err)
			}
			var q string
			for _, e := range h.rec.events {
				if c, ok := e.(ConfirmationAnswered); ok {
					q = c.Question
				}
			}
			if q != tt.want {
				t.Errorf("manual text %q, want %q", q, tt.want)
			}
		})
	}
}

func TestRequiredVariable(t *testing.T) {
	src := `runbook "rb" {
  owner = "t"
  variable "name" {}
  step "only" {
    manual = "hello ${var.name}"
  }
}`
	h := run(t, src, WithYes(true))
	var ie *InputError
	if !errors.As(h.err, &ie) || !strings.Contains(h.err.Error(), `variable "name" is required`) {
		t.Fatalf("err %v", h.err)
	}
	h = run(t, src, WithYes(true), WithPrompter(&answers{values: map[string]string{"name": "bob"}}))
	if h.err != nil || h.res.Status != StatusSucceeded {
		t.Fatalf("%v %+v", h.err, h.res)
	}
}

type mapEnv map[string]string

func (m mapEnv) lookup(k string) (string, bool) { v, ok := m[k]; return v, ok }

func TestPluginErrorPointsAtTheArgument(t *testing.T) {
	src := `runbook "rb" {
  owner = "t"
  step "bad" {
    action "kv.get" {
      key = "missing"
    }
  }
}`
	cfg, rb := load(t, src)
	p := &argErrPlugin{kvPlugin: newKV()}
	res, err := Run(context.Background(), cfg, rb, WithPlugins(InProcess{"kv": p}), WithEnv(func(string) (string, bool) { return "", false }))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Reason, "t.hcl:5,13-22: argument key: no such key") {
		t.Errorf("reason %q does not point at the argument", res.Reason)
	}
}

type argErrPlugin struct{ *kvPlugin }

func (p *argErrPlugin) Apply(context.Context, *plugins.ActionRequest) (*plugins.ApplyResult, error) {
	return nil, &plugins.Error{Path: cty.GetAttrPath("key"), Summary: "no such key"}
}
