package schema

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"golang.org/x/crypto/ssh"
)

func authorizedKey(t *testing.T) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
}

func TestApprovalChecks(t *testing.T) {
	signers := fmt.Sprintf("alice@example.com namespaces=\"runbook\" %s\nbob@example.com %s\ngit-only@example.com namespaces=\"git\" %s\n",
		authorizedKey(t), authorizedKey(t), authorizedKey(t))
	step := func(attrs string) string {
		return fmt.Sprintf(`
team "oncall" {
  members = ["alice@example.com", "bob@example.com"]
}
runbook "rb" {
  owner = "team"
  step "s" {
    %s
    manual = "do it"
  }
}
`, attrs)
	}
	for _, tc := range []struct {
		name    string
		src     string
		signers string // "" for no allowed_signers file
		want    []string
		line    int // of the first error, when want is set
	}{
		{name: "valid", src: step(`confirm = "ok?"
    approvals = 2
    approvers = ["oncall"]`), signers: signers},
		{name: "a principal as approver", src: step(`confirm = "ok?"
    approvals = 2
    approvers = ["bob@example.com"]`), signers: signers},
		{name: "any signer", src: step(`confirm = "ok?"
    approvals = 3`), signers: signers},
		{name: "unknown team", src: step(`confirm = "ok?"
    approvals = 2
    approvers = ["oncal"]`), signers: signers, want: []string{"Unknown approver", `"oncal" is neither a team block nor a principal`, `Did you mean oncall?`}, line: 10},
		{name: "too many approvals", src: step(`confirm = "ok?"
    approvals = 3
    approvers = ["bob@example.com"]`), signers: signers, want: []string{"Too many approvals", "only 1 principal with a key"}, line: 9},
		{name: "too many for any signer", src: step(`confirm = "ok?"
    approvals = 4`), signers: signers, want: []string{"Too many approvals", "2 principals with keys"}, line: 9},
		{name: "a signer of another namespace", src: step(`confirm = "ok?"
    approvals = 2
    approvers = ["git-only@example.com"]`), signers: signers, want: []string{"Unknown approver"}, line: 10},
		{name: "without confirm", src: step(`approvals = 2`), signers: signers, want: []string{"Approvals without confirm"}, line: 8},
		{name: "without allowed_signers", src: step(`confirm = "ok?"
    approvals = 2
    approvers = ["oncall"]`), want: []string{"Approvals without allowed_signers"}, line: 9},
		{name: "zero approvals", src: step(`confirm = "ok?"
    approvals = 0`), signers: signers, want: []string{"Invalid approvals"}, line: 9},
		{name: "eleven approvals", src: step(`confirm = "ok?"
    approvals = 11`), signers: signers, want: []string{"Invalid approvals"}, line: 9},
		{name: "a bad timeout", src: step(`confirm = "ok?"
    approvals = 2
    approval_timeout = "soon"`), signers: signers, want: []string{"duration"}, line: 10},
		{name: "a duplicate team", src: step(`confirm = "ok?"`) + `team "oncall" { members = ["bob@example.com"] }`, signers: signers, want: []string{"Duplicate team"}, line: 12},
		{name: "an empty team", src: `team "nobody" { members = [] }`, signers: signers, want: []string{"Empty team"}, line: 1},
		{name: "a pattern as member", src: `team "all" { members = ["*@example.com"] }`, signers: signers, want: []string{"Invalid member"}, line: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srcs := []Source{{Name: "rb.hcl", Bytes: []byte(tc.src)}}
			if tc.signers != "" {
				srcs = append(srcs, Source{Name: "allowed_signers", Bytes: []byte(tc.signers)})
			}
			_, diags := Load(srcs, Options{})
			var errs hcl.Diagnostics
			for _, d := range diags {
				if d.Severity == hcl.DiagError {
					errs = append(errs, d)
				}
			}
			if len(tc.want) == 0 {
				if len(errs) > 0 {
					t.Fatalf("unexpected errors: %v", errs)
				}
				return
			}
			if len(errs) == 0 {
				t.Fatalf("no error, want %q", tc.want)
			}
			text := errs[0].Summary + ": " + errs[0].Detail
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("error %q does not say %q", text, w)
				}
			}
			if errs[0].Subject == nil || errs[0].Subject.Start.Line != tc.line {
				t.Errorf("error at %v, want line %d", errs[0].Subject, tc.line)
			}
		})
	}
}

func TestTeamMemberWithoutKeyWarns(t *testing.T) {
	src := `team "oncall" { members = ["alice@example.com", "zed@example.com"] }`
	_, diags := Load([]Source{
		{Name: "rb.hcl", Bytes: []byte(src)},
		{Name: "allowed_signers", Bytes: []byte("alice@example.com " + authorizedKey(t) + "\n")},
	}, Options{})
	if len(diags) != 1 || diags[0].Severity != hcl.DiagWarning || !strings.Contains(diags[0].Detail, `"zed@example.com" has no key`) {
		t.Fatalf("diags %v, want one warning about zed", diags)
	}
}
