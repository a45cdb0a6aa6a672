// Package runbooks holds the runbooks shipped with runbook; its tests prove
// that they always validate against the built-in plugins.
package runbooks

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

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
