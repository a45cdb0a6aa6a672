package transcript

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/runbookdev/runbook/engine/identity"
)

// The texts people sign (docs/approvals.md, "What is signed"), in the
// namespace "runbook", and the check of the signatures a transcript holds.

// ApprovalMessage is the text an approver signs: it names the run, the
// step, the request's digest and the decision (with a denial's reason), so
// that a signature cannot be moved to another run, step, request or
// decision.
func ApprovalMessage(runID, step, digest, decision, reason string) []byte {
	var b strings.Builder
	b.WriteString("runbook approval v1\n")
	fmt.Fprintf(&b, "run: %s\n", runID)
	fmt.Fprintf(&b, "step: %s\n", step)
	fmt.Fprintf(&b, "digest: %s\n", digest)
	fmt.Fprintf(&b, "decision: %s\n", decision)
	fmt.Fprintf(&b, "reason: %s\n", strings.ReplaceAll(reason, "\n", " "))
	return []byte(b.String())
}

// RunStartedMessage is what the operator signs when a run starts: the
// run, the runbook's source, the mode, the operator and their principal,
// and the SHA-256 of the recorded variables as JSON (vars, as
// json.Marshal writes them).
func RunStartedMessage[V any](rs *RunStartedOf[V], principal string) []byte {
	vars, err := json.Marshal(rs.Vars)
	if err != nil {
		vars = []byte(fmt.Sprintf("unencodable variables: %v", err))
	}
	sum := sha256.Sum256(vars)
	var b strings.Builder
	b.WriteString("runbook run v1\n")
	fmt.Fprintf(&b, "run: %s\n", rs.RunID)
	fmt.Fprintf(&b, "runbook: %s\n", rs.Runbook)
	fmt.Fprintf(&b, "source: %s\n", rs.Source.SHA256)
	fmt.Fprintf(&b, "mode: %s\n", rs.Mode)
	fmt.Fprintf(&b, "operator: %s\n", rs.Operator)
	fmt.Fprintf(&b, "principal: %s\n", principal)
	fmt.Fprintf(&b, "vars: sha256:%s\n", hex.EncodeToString(sum[:]))
	return []byte(b.String())
}

// Signature is one signature a transcript holds, checked.
type Signature struct {
	Seq int64
	// What says what was signed: "run_started", or "approve STEP" /
	// "deny STEP".
	What      string
	Principal string
	// Key is the fingerprint of the key that signed.
	Key string
	// Err says why the signature does not hold; nil when it does.
	Err error
}

// Signatures checks every signature the transcript holds: the operator's
// over run_started, and each accepted approval's over the request its
// step recorded before it. Each must verify over what its record says and
// be made by the key the record names. Whether a key was allowed to sign
// is allowed_signers' to say, and the run checked it when it ran.
func (t *Transcript) Signatures() []Signature {
	var out []Signature
	runID := ""
	digests := map[string]string{} // by step
	for _, ev := range t.Events {
		r, ok, err := ev.Record()
		if !ok || err != nil {
			continue
		}
		switch r := r.(type) {
		case RunStarted:
			runID = r.RunID
			if id := r.Identity; id != nil {
				out = append(out, checkSignature(ev.Seq, "run_started", id.Principal, id.Fingerprint, id.Signature, RunStartedMessage(&r, id.Principal)))
			}
		case ApprovalRequested:
			digests[r.Name] = r.Digest
		case ApprovalAnswered:
			if !r.Accepted {
				continue
			}
			msg := ApprovalMessage(runID, r.Name, digests[r.Name], r.Decision, r.Reason)
			out = append(out, checkSignature(ev.Seq, r.Decision+" "+r.Name, r.Principal, r.Key, r.Signature, msg))
		}
	}
	return out
}

func checkSignature(seq int64, what, principal, fingerprint, armored string, msg []byte) Signature {
	s := Signature{Seq: seq, What: what, Principal: principal, Key: fingerprint}
	key, err := identity.Verify(armored, msg)
	switch {
	case err != nil:
		s.Err = fmt.Errorf("event %d (%s by %s): the signature does not verify: %w", seq, what, principal, err)
	case ssh.FingerprintSHA256(key) != fingerprint:
		s.Err = fmt.Errorf("event %d (%s by %s): signed with %s, not the recorded key %s", seq, what, principal, ssh.FingerprintSHA256(key), fingerprint)
	}
	return s
}
