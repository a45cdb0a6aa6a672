package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Two-person approval (docs/approvals.md): a step whose confirm needs
// more approvals than the operator's records a request where other people
// can answer it (the transcript store), and waits for their signed
// answers.

// Decisions a person signs.
const (
	DecisionApprove = "approve"
	DecisionDeny    = "deny"
)

// Outcomes of a request, as ApprovalBroker.CloseApproval records them.
const (
	ApprovalApproved    = "approved"
	ApprovalDenied      = "denied"
	ApprovalTimedOut    = "timed out"
	ApprovalInterrupted = "interrupted"
)

// ApprovalRequest is what a step that needs approvals asks for.
type ApprovalRequest struct {
	RunID    string
	Runbook  string
	Step     string
	Operator string
	// Question is the step's confirm question, as the operator saw it.
	Question string
	// Changes are the step's plan lines, as recorded.
	Changes []string
	// Digest is the SHA-256 of the request: the runbook's source, the
	// run's recorded variables, the step, its question and plan lines
	// (RequestDigest). What approvers sign names it.
	Digest string
	// Needed counts the approvals wanted besides the operator's.
	Needed int
	// Approvers are the principals that may answer, teams expanded; none
	// means any principal of the allowed signers but the operator.
	Approvers []string
	// From is the approvers attribute as written (team names and
	// principals), for people to read.
	From      []string
	Requested time.Time
	Expires   time.Time
}

// ApprovalResponse is one person's signed answer to a request.
type ApprovalResponse struct {
	// ID orders the answers to a request; it is given by the broker.
	ID       int64
	Decision string // DecisionApprove or DecisionDeny
	Reason   string
	// Signature is an armored SSH signature (namespace "runbook") over
	// ApprovalMessage of the request and this decision and reason.
	Signature string
	// Principal is who answered, when the broker itself vouches for it
	// (a `runbook test` scenario); "" from a store, where only the
	// signature tells.
	Principal string
	Submitted time.Time
}

// ApprovalBroker carries requests to the people who answer them and
// their answers back. The transcript store (engine/store) is one.
type ApprovalBroker interface {
	// RequestApproval records a request that people can answer.
	RequestApproval(ctx context.Context, req *ApprovalRequest) error
	// ApprovalResponses returns the answers to the run's step whose ID
	// is greater than after, in ID order.
	ApprovalResponses(ctx context.Context, runID, step string, after int64) ([]ApprovalResponse, error)
	// CloseApproval records the request's outcome (ApprovalApproved, …),
	// after which it is no longer offered to approvers.
	CloseApproval(ctx context.Context, runID, step, outcome string) error
}

// ApprovalVerifier decides who made an answer, or why it does not count.
type ApprovalVerifier interface {
	// Verify returns the principal that signed resp and the fingerprint
	// of its key, or an error that says why the answer is refused.
	Verify(req *ApprovalRequest, resp *ApprovalResponse) (principal, key string, err error)
}

// ApprovalMessage is the text an approver signs: it names the run, the
// step, the request's digest and the decision, so that a signature cannot
// be moved to another run, step, request or decision.
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

// RequestDigest is the digest of a request: "sha256:" and the hex SHA-256
// of a JSON document of the run, the runbook's source digest, the recorded
// variables (sensitive ones as "(sensitive)"), the step, its question and
// its plan lines.
func RequestDigest(req *ApprovalRequest, sourceSHA256 string, vars map[string]any) string {
	doc := struct {
		RunID    string         `json:"run_id"`
		Runbook  string         `json:"runbook"`
		Source   string         `json:"source_sha256"`
		Vars     map[string]any `json:"vars"`
		Step     string         `json:"step"`
		Question string         `json:"question"`
		Changes  []string       `json:"changes"`
	}{req.RunID, req.Runbook, sourceSHA256, vars, req.Step, req.Question, req.Changes}
	if doc.Changes == nil {
		doc.Changes = []string{}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		// Recorded variables are JSON already; this cannot happen, but a
		// digest of nothing would let anything through.
		b = []byte(fmt.Sprintf("unencodable request: %v", err))
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
