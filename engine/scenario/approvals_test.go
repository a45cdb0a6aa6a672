package scenario

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/runbookdev/runbook/engine/identity/identitytest"
	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/schema"
)

const approvalRunbook = `
team "oncall" {
  members = ["bob@example.com", "carol@example.com"]
}
runbook "ap" {
  owner = "t"
  step "write" {
    confirm   = "Write?"
    approvals = 2
    approvers = ["oncall"]
    action "kv.set" {
      key   = "k"
      value = "new"
    }
  }
}
`

func signersFile(t *testing.T, principals ...string) string {
	t.Helper()
	var b strings.Builder
	for _, p := range principals {
		fmt.Fprintf(&b, "%s %s\n", p, identitytest.AuthorizedKey(identitytest.NewKey(t, p)))
	}
	return b.String()
}

// runbook test answers approvals by principal, checked as signatures'
// principals are: in allowed_signers, among the approvers.
func TestApprovalsByPrincipal(t *testing.T) {
	reg, err := plugins.NewRegistry(&plugins.Builtin{Name: "kv", Schema: kvSchema})
	if err != nil {
		t.Fatal(err)
	}
	signers := signersFile(t, "bob@example.com", "carol@example.com", "dave@example.com")
	for _, tc := range []struct {
		name, answers string
		pass          bool
		failure       string
	}{
		{name: "approved", answers: `approvals = { write = ["bob@example.com"] }`, pass: true},
		{name: "denied", answers: `denials = { write = "carol@example.com" }`, failure: "carol@example.com denied the step"},
		{name: "nobody answers", answers: ``, failure: "waited 30m0s for 1 more approval from oncall; got 0"},
		{name: "not an approver", answers: `approvals = { write = ["dave@example.com"] }`, failure: "got 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tests := fmt.Sprintf(`test "t" {
  runbook       = "ap"
  answers       = { write = true }
  %s
  expect_status = "succeeded"
  mock "kv.set" {
    output = { key = "k", value = "new", version = 2 }
  }
}
`, tc.answers)
			cfg, diags := schema.Load([]schema.Source{
				{Name: "ap.hcl", Bytes: []byte(approvalRunbook)},
				{Name: "ap.test.hcl", Bytes: []byte(tests)},
				{Name: "allowed_signers", Bytes: []byte(signers)},
			}, schema.Options{Schemas: schema.RegistrySource{Registry: reg}})
			if diags.HasErrors() {
				var sb strings.Builder
				_ = hcl.NewDiagnosticTextWriter(&sb, cfg.Files, 100, false).WriteDiagnostics(diags)
				t.Fatal(sb.String())
			}
			res := RunTest(context.Background(), cfg, cfg.Tests[0])
			if res.Passed != tc.pass {
				t.Fatalf("passed %v, want %v: %q", res.Passed, tc.pass, res.Failures)
			}
			if tc.failure != "" && !strings.Contains(strings.Join(res.Failures, "\n"), tc.failure) {
				t.Errorf("failures %q, want one saying %q", res.Failures, tc.failure)
			}
		})
	}
}

func TestApprovalsOfAStepWithoutThem(t *testing.T) {
	reg, _ := plugins.NewRegistry(&plugins.Builtin{Name: "kv", Schema: kvSchema})
	_, diags := schema.Load([]schema.Source{
		{Name: "rb.hcl", Bytes: []byte(scenarioRunbook)},
		{Name: "rb.test.hcl", Bytes: []byte(`test "t" {
  runbook   = "rb"
  approvals = { write = ["bob@example.com"] }
}
`)},
	}, schema.Options{Schemas: schema.RegistrySource{Registry: reg}})
	if !strings.Contains(diags.Error(), `Nothing to approve; Step "write" needs no approval besides the operator's`) {
		t.Fatalf("diags %v", diags)
	}
}
