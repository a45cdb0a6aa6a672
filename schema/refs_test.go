package schema

import (
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

func TestParseRef(t *testing.T) {
	tests := []struct {
		expr      string
		kind      RefKind
		name      string
		remaining int
		summary   string // the error, when the reference is invalid
	}{
		{expr: "var.prompt", kind: RefVar, name: "prompt"},
		{expr: "var.labels.team", kind: RefVar, name: "labels", remaining: 1},
		{expr: `var["prompt"]`, kind: RefVar, name: "prompt"},
		{expr: "step.current.output", kind: RefStep, name: "current"},
		{expr: "step.current.output.versions[0]", kind: RefStep, name: "current", remaining: 2},
		{expr: "run.id", kind: RefRun, name: "id"},
		{expr: "run.dry_run", kind: RefRun, name: "dry_run"},
		{expr: "output.version", kind: RefOutput, name: "output", remaining: 1},
		{expr: "var", summary: "Incomplete reference"},
		{expr: "var[0]", summary: "Invalid reference"},
		{expr: "step.current", summary: "Incomplete reference"},
		{expr: "step.current.status", summary: "Unsupported step attribute"},
		{expr: "run.user", summary: "Unsupported run attribute"},
		{expr: "local.x", summary: "Unknown reference"},
		{expr: "self", summary: "Unknown reference"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			trav, diags := hclsyntax.ParseTraversalAbs([]byte(tt.expr), "t.hcl", hcl.InitialPos)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			ref, diags := parseRef(trav)
			if tt.summary != "" {
				if len(diags) != 1 || diags[0].Summary != tt.summary || diags[0].Subject == nil {
					t.Fatalf("got %v, want one %q with a range", diags, tt.summary)
				}
				return
			}
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			if ref.Kind != tt.kind || ref.Name != tt.name || len(ref.Remaining) != tt.remaining {
				t.Errorf("got kind %d name %q remaining %d, want %d %q %d", ref.Kind, ref.Name, len(ref.Remaining), tt.kind, tt.name, tt.remaining)
			}
		})
	}
}
