package engine

import (
	"encoding/json"
	"testing"
)

// FuzzParsePlan feeds arbitrary bytes to the saved plan reader (exec
// --plan, show --plan). Nothing may panic; a plan it accepts names its
// runbook and dry-run and encodes again.
func FuzzParsePlan(f *testing.F) {
	for _, seed := range []string{
		`{"format":1,"runbook":"r","dry_run":"d","created":"2026-12-02T08:00:00Z","steps":[{"step":"s","action":"p.a","basis":"e30="}]}`,
		`{"format":2}`, `{"format":1,"runbook":"r"}`, `[]`, `{`, `{"format":1,"runbook":"r","dry_run":"d","created":"2026-12-02T08:00:00Z","extra":1}`,
		`{"format":1,"runbook":"r","dry_run":"d","created":"2026-12-02T08:00:00Z","sensitive_vars":{"t":{"salt":"s","sha256":"x"}},"vars":{"a":[1,{"b":null}]}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePlan(data)
		if err != nil {
			return
		}
		if p.Runbook == "" || p.DryRun == "" || p.Format != PlanFormat {
			t.Fatalf("accepted a plan without runbook or dry-run: %+v", p)
		}
		if _, err := json.Marshal(p); err != nil {
			t.Fatalf("an accepted plan does not encode: %v", err)
		}
	})
}
