// Package runbooks holds the runbooks shipped with runbook; its tests prove
// that they always validate against the built-in plugins.
package runbooks

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/runbookdev/runbook/engine/scenario"
	"github.com/runbookdev/runbook/plugins/builtin"
	"github.com/runbookdev/runbook/schema"
)

func TestShippedRunbooksValidate(t *testing.T) {
	cfg, diags := schema.LoadDir(".", schema.Options{Schemas: schema.RegistrySource{Registry: builtin.Registry()}})
	if len(diags) > 0 {
		var sb strings.Builder
		_ = hcl.NewDiagnosticTextWriter(&sb, cfg.Files, 100, false).WriteDiagnostics(diags)
		t.Fatalf("shipped runbooks have problems:\n%s", sb.String())
	}
	want := []string{"activate-fallback", "deactivate-fallback", "deploy-prompt", "rebuild-index", "rollback-index", "rollback-prompt"}
	for _, name := range want {
		rb := cfg.Runbook(name)
		if rb == nil {
			t.Errorf("runbook %s missing", name)
			continue
		}
		if rb.Owner == "" || rb.Description == "" {
			t.Errorf("%s: every shipped runbook has an owner and a description", name)
		}
		mutating, confirmed := 0, 0
		for _, s := range rb.Steps {
			if s.Action != nil && s.Action.Schema != nil && !s.Action.Schema.ReadOnly && s.Action.Schema.ReadOnlyWhen == nil {
				mutating++
				if s.Confirm != nil {
					confirmed++
				}
			}
		}
		// A step that changes production asks a person first, except a
		// publish to staging, which production does not see.
		if mutating-confirmed > 1 || (mutating-confirmed == 1 && name != "deploy-prompt") {
			t.Errorf("%s: %d mutating steps, only %d ask for confirmation", name, mutating, confirmed)
		}
	}
}

// TestShippedRunbookTests runs the test blocks of the *.test.hcl files
// beside the runbooks, as `runbook test` does.
func TestShippedRunbookTests(t *testing.T) {
	cfg, diags := schema.LoadDir(".", schema.Options{Schemas: schema.RegistrySource{Registry: builtin.Registry()}})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	covered := map[string]int{}
	for _, tc := range cfg.Tests {
		covered[tc.Runbook]++
		t.Run(tc.Runbook+"/"+tc.Name, func(t *testing.T) {
			res := scenario.RunTest(context.Background(), cfg, tc)
			if !res.Passed {
				t.Errorf("%s", strings.Join(res.Failures, "\n"))
			}
		})
	}
	for _, rb := range cfg.Runbooks {
		if covered[rb.Name] < 2 {
			t.Errorf("runbook %s has %d tests; every shipped runbook is tested on its happy path and on each precondition that can stop it", rb.Name, covered[rb.Name])
		}
	}
}
