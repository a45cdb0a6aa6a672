package index_test

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/runbookdev/runbook/plugins/builtin"
	"github.com/runbookdev/runbook/schema"
)

// The shipped PostgreSQL example validates against the built-in plugins.
func TestPostgresExampleValidates(t *testing.T) {
	const dir = "../../examples/backends/postgres"
	cfg, diags := schema.LoadDir(dir, schema.Options{Schemas: schema.RegistrySource{Registry: builtin.Registry()}})
	if len(diags) > 0 {
		var sb strings.Builder
		_ = hcl.NewDiagnosticTextWriter(&sb, cfg.Files, 100, false).WriteDiagnostics(diags)
		t.Fatalf("%s has problems:\n%s", dir, sb.String())
	}
	if cfg.Runbook("postgres-index-status") == nil {
		t.Errorf("%s: no runbook postgres-index-status", dir)
	}
}
