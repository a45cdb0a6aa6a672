package transcript

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/runbookdev/runbook/engine/identity"
	"github.com/runbookdev/runbook/engine/identity/identitytest"
)

func sign(t *testing.T, k *identity.Key, msg []byte) string {
	t.Helper()
	sig, err := identity.Sign(k, msg)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func TestSignatures(t *testing.T) {
	alice, bob := identitytest.NewKey(t, "alice"), identitytest.NewKey(t, "bob")
	const digest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	step := StepRef{Index: 1, Name: "write", Owner: "team"}
	for _, tc := range []struct {
		name string
		// change alters the records before they are written.
		change func(rs *RunStarted, ans *ApprovalAnswered)
		want   []string // each signature's error, in part; "" for none
	}{
		{name: "intact", change: func(*RunStarted, *ApprovalAnswered) {}, want: []string{"", ""}},
		{name: "variables changed after signing", change: func(rs *RunStarted, _ *ApprovalAnswered) {
			rs.Vars["note"] = json.RawMessage(`"other"`)
		}, want: []string{"does not verify", ""}},
		{name: "an approval over another digest", change: func(_ *RunStarted, a *ApprovalAnswered) {
			a.Signature = sign(t, bob, ApprovalMessage("run-1", "write", strings.Replace(digest, "1", "2", 1), "approve", ""))
		}, want: []string{"", "does not verify"}},
		{name: "another key than recorded", change: func(_ *RunStarted, a *ApprovalAnswered) {
			a.Key = alice.Fingerprint()
		}, want: []string{"", "not the recorded key"}},
		{name: "a refused answer is not checked", change: func(_ *RunStarted, a *ApprovalAnswered) {
			a.Accepted, a.Refused, a.Signature = false, "the operator's own key", "garbage"
		}, want: []string{""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := RunStarted{RunID: "run-1", Runbook: "rb", Mode: "run", Operator: "alice@host",
				Source: Source{Path: "rb.hcl", SHA256: strings.Repeat("a", 64)},
				Vars:   map[string]json.RawMessage{"note": json.RawMessage(`"a<b & c"`), "n": json.RawMessage(`0.1`)}}
			rs.Identity = &OperatorIdentity{Principal: "alice@example.com", Fingerprint: alice.Fingerprint(),
				Signature: sign(t, alice, RunStartedMessage(&rs, "alice@example.com"))}
			ans := ApprovalAnswered{StepRef: step, Decision: "approve", Principal: "bob@example.com", Key: bob.Fingerprint(),
				Signature: sign(t, bob, ApprovalMessage("run-1", "write", digest, "approve", "")), Accepted: true, Approvals: 1}
			tc.change(&rs, &ans)
			w, err := Create(t.TempDir(), "run-1")
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range []Record{rs, ApprovalRequested{StepRef: step, Digest: digest, Needed: 1, Changes: []string{}}, ans} {
				if _, err := w.Record(r); err != nil {
					t.Fatal(err)
				}
			}
			w.Close()
			tr, err := Read(w.Path())
			if err != nil {
				t.Fatal(err)
			}
			sigs := tr.Signatures()
			if len(sigs) != len(tc.want) {
				t.Fatalf("%d signatures, want %d: %+v", len(sigs), len(tc.want), sigs)
			}
			for i, want := range tc.want {
				switch err := sigs[i].Err; {
				case want == "" && err != nil:
					t.Errorf("signature %d: %v", i, err)
				case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
					t.Errorf("signature %d: error %v, want one saying %q", i, err, want)
				}
			}
		})
	}
}
