package scenario

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/schema"
)

var kvOutput = cty.Object(map[string]cty.Type{"key": cty.String, "value": cty.String, "version": cty.Number})

var kvSchema = &plugins.Schema{
	Actions: map[string]*plugins.Action{
		"get": {Name: "get", ReadOnly: true, Output: kvOutput,
			Args: []*plugins.Attribute{{Name: "key", Type: cty.String, Required: true}}},
		"set": {Name: "set", Output: kvOutput, Args: []*plugins.Attribute{
			{Name: "key", Type: cty.String, Required: true},
			{Name: "value", Type: cty.String, Required: true},
		}},
	},
}

const scenarioRunbook = `
runbook "rb" {
  owner = "t"
  variable "key" {
    default = "k"
  }
  step "read" {
    action "kv.get" {
      key = var.key
    }
    expect {
      condition     = output.version >= 3
      error_message = "only v${output.version}"
      within        = "10m"
      every         = "30s"
    }
  }
  step "write" {
    confirm = "Write?"
    precondition {
      condition     = step.read.output.value != "frozen"
      error_message = "frozen"
    }
    action "kv.set" {
      key   = var.key
      value = "new"
    }
  }
  step "tell" {
    manual = "Tell people."
  }
}
`

func loadScenario(t *testing.T, tests string) *schema.Config {
	t.Helper()
	reg, err := plugins.NewRegistry(&plugins.Builtin{Name: "kv", Schema: kvSchema})
	if err != nil {
		t.Fatal(err)
	}
	cfg, diags := schema.Load([]schema.Source{
		{Name: "rb.hcl", Bytes: []byte(scenarioRunbook)},
		{Name: "rb.test.hcl", Bytes: []byte(tests)},
	}, schema.Options{Schemas: schema.RegistrySource{Registry: reg}})
	if diags.HasErrors() {
		var sb strings.Builder
		_ = hcl.NewDiagnosticTextWriter(&sb, cfg.Files, 100, false).WriteDiagnostics(diags)
		t.Fatal(sb.String())
	}
	return cfg
}

func TestRunTest(t *testing.T) {
	out := func(v int, value string) string {
		return `{ key = "k", value = "` + value + `", version = ` + string(rune('0'+v)) + ` }`
	}
	tests := []struct {
		name     string
		test     string
		pass     bool
		failures []string
	}{
		{
			name: "happy path with a ten-minute wait on the virtual clock",
			test: `test "t" {
  runbook = "rb"
  mock "kv.get" {
    outputs = [` + out(1, "a") + `, ` + out(2, "a") + `, ` + out(3, "a") + `]
  }
  mock "kv.set" {
    output = ` + out(4, "new") + `
  }
  answers       = { write = true }
  expect_status = "succeeded"
  expect_steps  = { read = "succeeded", write = "succeeded", tell = "succeeded" }
  expect_calls  = { "kv.get" = 3, "kv.set" = 1 }
}`,
			pass: true,
		},
		{
			name: "wrong expectations name the first difference and the condition's line",
			test: `test "t" {
  runbook = "rb"
  mock "kv.get" {
    output = ` + out(3, "frozen") + `
  }
  answers       = { write = true }
  expect_status = "succeeded"
  expect_steps  = { write = "succeeded" }
  expect_calls  = { "kv.set" = 1 }
}`,
			failures: []string{"run: want succeeded, got blocked", `step "write": want succeeded, got blocked`, "rb.hcl:21,23", "calls of kv.set: want 1, got 0"},
		},
		{
			name: "a mock's plan lines are what the step plans before its confirmation",
			test: `test "t" {
  runbook = "rb"
  mock "kv.get" {
    output = ` + out(3, "a") + `
  }
  mock "kv.set" {
    output = ` + out(4, "new") + `
    plan   = ["k: v3 → v4"]
  }
  answers      = { write = true }
  expect_plans = { write = ["k: v3 → v4"] }
}`,
			pass: true,
		},
		{
			name: "plan lines that differ fail the test, both shown",
			test: `test "t" {
  runbook = "rb"
  mock "kv.get" {
    output = ` + out(3, "a") + `
  }
  mock "kv.set" {
    output = ` + out(4, "new") + `
    plan   = ["k: v3 → v5"]
  }
  answers      = { write = true }
  expect_plans = { write = ["k: v3 → v4"], read = [] }
}`,
			failures: []string{`plan of step "write": want ["k: v3 → v4"], got ["k: v3 → v5"]`},
		},
		{
			name: "an action without a mock fails the test",
			test: `test "t" {
  runbook = "rb"
  mock "kv.get" {
    output = ` + out(3, "a") + `
  }
  answers = { write = true }
}`,
			failures: []string{"no mock for kv.set"},
		},
		{
			name: "an unanswered confirmation fails the test",
			test: `test "t" {
  runbook = "rb"
  mock "kv.get" {
    output = ` + out(3, "a") + `
  }
}`,
			failures: []string{`step "write" asks "Write?"`},
		},
		{
			name: "running out of outputs fails the test",
			test: `test "t" {
  runbook = "rb"
  mock "kv.get" {
    outputs = [` + out(1, "a") + `]
  }
}`,
			failures: []string{"kv.get was called 2 times, but its mock gives 1 outputs"},
		},
		{
			name: "a mocked error fails the step",
			test: `test "t" {
  runbook = "rb"
  mock "kv.get" {
    error = "connection refused"
  }
  expect_status = "failed"
  expect_steps  = { read = "failed", write = "not run" }
}`,
			pass: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := loadScenario(t, tt.test)
			res := RunTest(context.Background(), cfg, cfg.Tests[0])
			if res.Passed != tt.pass {
				t.Fatalf("passed = %v, failures %q", res.Passed, res.Failures)
			}
			all := strings.Join(res.Failures, "\n")
			for _, want := range tt.failures {
				if !strings.Contains(all, want) {
					t.Errorf("failures %q lack %q", res.Failures, want)
				}
			}
		})
	}
}
