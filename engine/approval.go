package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/runbookdev/runbook/engine/identity"
	"github.com/runbookdev/runbook/engine/transcript"
	"github.com/runbookdev/runbook/schema"
	"github.com/runbookdev/runbook/schema/signers"
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
	// Question is what the approvers are asked: the step's confirm
	// question as the operator saw it or, in an agent's run, what the
	// agent asks to do.
	Question string
	// Changes are the step's plan lines, as recorded.
	Changes []string
	// Source is the SHA-256 of the runbook's source file.
	Source string
	// Vars are the run's variables as run_started records them (JSON,
	// sensitive ones "(sensitive)").
	Vars json.RawMessage
	// Digest is RequestDigest of the request, which approvers sign: an
	// approver's command computes it again from what it shows.
	Digest string
	// Needed counts the approvals wanted besides the operator's (in an
	// agent's run, all of them: the agent's never counts).
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

// ApprovalMessage is the text an approver signs (transcript.ApprovalMessage).
func ApprovalMessage(runID, step, digest, decision, reason string) []byte {
	return transcript.ApprovalMessage(runID, step, digest, decision, reason)
}

// RequestDigest is the digest of a request: "sha256:" and the hex SHA-256
// of a JSON document of what the request shows: the run, the runbook and
// its source's SHA-256, the recorded variables, the step, its question and
// its plan lines. Anyone holding the request can compute it again.
func RequestDigest(req *ApprovalRequest) string {
	vars := req.Vars
	if len(vars) == 0 {
		vars = json.RawMessage("{}")
	}
	if !json.Valid(vars) {
		// Not JSON: digest it as a string, which no valid request has.
		vars, _ = json.Marshal(string(vars))
	}
	doc := struct {
		RunID    string          `json:"run_id"`
		Runbook  string          `json:"runbook"`
		Source   string          `json:"source_sha256"`
		Vars     json.RawMessage `json:"vars"`
		Step     string          `json:"step"`
		Question string          `json:"question"`
		Changes  []string        `json:"changes"`
	}{req.RunID, req.Runbook, req.Source, vars, req.Step, req.Question, req.Changes}
	if doc.Changes == nil {
		doc.Changes = []string{}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		// The members are strings and valid JSON; this cannot happen,
		// but a digest of nothing would let anything through.
		b = []byte(fmt.Sprintf("unencodable request: %v", err))
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Identity is the operator's SSH key and the principal the allowed
// signers give it. With one, a real run signs its run_started.
type Identity struct {
	Principal string
	Key       *identity.Key
}

// WithIdentity sets the operator's verified identity.
func WithIdentity(id *Identity) Option { return func(c *config) { c.identity = id } }

// WithApprovals sets where approval requests go and how their answers are
// verified: the transcript store and the allowed signers (SignersVerifier)
// in a real run, a scenario's answers in `runbook test`.
func WithApprovals(b ApprovalBroker, v ApprovalVerifier) Option {
	return func(c *config) { c.broker, c.verifier = b, v }
}

// WithApprovalPoll sets how often a waiting step asks the broker for
// answers (default one second).
func WithApprovalPoll(d time.Duration) Option { return func(c *config) { c.approvalPoll = d } }

// DefaultApprovalPoll is how often a waiting step looks for answers.
const DefaultApprovalPoll = time.Second

// SignersVerifier verifies answers by their SSH signatures against the
// runbook directory's allowed signers.
type SignersVerifier struct {
	Signers *signers.File
	// Operator is the run's operator, whose own key never approves.
	Operator *Identity
	// Now is the time signatures are checked at (validity windows).
	Now func() time.Time
}

// Verify implements ApprovalVerifier.
func (v *SignersVerifier) Verify(req *ApprovalRequest, resp *ApprovalResponse) (string, string, error) {
	if resp.Decision != DecisionApprove && resp.Decision != DecisionDeny {
		return "", "", fmt.Errorf("the decision %q is neither %q nor %q", resp.Decision, DecisionApprove, DecisionDeny)
	}
	key, err := identity.Verify(resp.Signature, ApprovalMessage(req.RunID, req.Step, req.Digest, resp.Decision, resp.Reason))
	if err != nil {
		return "", "", fmt.Errorf("the signature does not verify over this request (%s): %w", req.Digest, err)
	}
	fp := ssh.FingerprintSHA256(key)
	if v.Operator != nil && v.Operator.Key != nil && fp == v.Operator.Key.Fingerprint() {
		return "", fp, fmt.Errorf("%s is the operator's own key: the operator cannot approve their own run", fp)
	}
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	principals := v.Signers.Principals(key, identity.Namespace, now)
	if len(principals) == 0 {
		return "", fp, fmt.Errorf("key %s is not in %s (namespace %q, valid now)", fp, schema.SignersFileName, identity.Namespace)
	}
	// A key listed for an agent is named as the agent's, whose answer
	// the waiting step refuses.
	if i := slices.IndexFunc(principals, IsAgent); i >= 0 {
		return principals[i], fp, nil
	}
	if len(req.Approvers) == 0 {
		return principals[0], fp, nil
	}
	for _, p := range principals {
		if slices.Contains(req.Approvers, p) {
			return p, fp, nil
		}
	}
	return "", fp, fmt.Errorf("%s (key %s) is not among the approvers (%s)", strings.Join(principals, ", "), fp, strings.Join(req.From, ", "))
}

// approvals waits, after the operator confirmed, for the approvals the
// step needs besides theirs; ok is false when the step must stop. A
// dry-run records who would have to approve and waits for nobody.
func (st *stepRun) approvals(ctx context.Context, question string) (StepResult, bool) {
	a := st.s.Approval
	if a.Others() == 0 {
		return StepResult{}, true
	}
	_, res, ok := st.awaitApprovals(ctx, st.approvalRequest(question, a.Others(), a.Timeout))
	return res, ok
}

// awaitApprovals records req and waits for its approvals; approvers are
// the principals whose approvals counted, and ok is false when the step
// must stop. A dry-run records the request and waits for nobody.
func (st *stepRun) awaitApprovals(ctx context.Context, req *ApprovalRequest) (approvers []string, res StepResult, ok bool) {
	ev := ApprovalRequested{
		StepRef: st.ref, Digest: req.Digest, Needed: req.Needed, Approvers: req.Approvers,
		From: req.From, Question: req.Question, Changes: req.Changes, Expires: req.Expires.UTC(), DryRun: st.c.dryRun,
	}
	if !st.emit(ev) {
		return nil, st.fail(StatusFailed, "%s", st.hookErr), false
	}
	if st.c.dryRun {
		return nil, StepResult{}, true
	}
	if st.c.broker == nil || st.c.verifier == nil {
		return nil, st.fail(StatusDeclined, "step needs %d more %s, but this run has no transcript store to ask in (--store)", req.Needed, approvalWord(req.Needed)), false
	}
	// The request is on disk before anyone can answer it.
	st.boundary()
	if err := st.c.broker.RequestApproval(ctx, req); err != nil {
		if ctx.Err() != nil {
			return nil, StepResult{Name: st.s.Name, Status: StatusInterrupted}, false
		}
		return nil, st.fail(StatusFailed, "requesting approval: %s", err), false
	}
	// Told once the request can be answered.
	st.notifyWaiting(req)
	w := &approvalWait{st: st, req: req, seen: map[string]bool{}}
	if st.c.identity != nil {
		w.seen[st.c.identity.Principal] = true
	}
	outcome, res, ok := w.wait(ctx)
	closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	// The outcome is the transcript's; failing to close the request in
	// the store only leaves it offered until it expires.
	_ = st.c.broker.CloseApproval(closeCtx, req.RunID, req.Step, outcome)
	return w.approvers, res, ok
}

func approvalWord(n int) string {
	if n == 1 {
		return "approval"
	}
	return "approvals"
}

// approvalRequest builds the step's request for needed approvals within
// timeout: its plan lines as recorded, its approvers expanded (a step
// without approvers attributes may be approved by any allowed signer),
// its digest.
func (st *stepRun) approvalRequest(question string, needed int, timeout time.Duration) *ApprovalRequest {
	a := st.s.Approval
	if a == nil {
		a = &schema.Approval{}
	}
	now := st.c.clock.Now()
	req := &ApprovalRequest{
		RunID: st.c.runID, Runbook: st.rb.Name, Step: st.s.Name, Operator: st.c.operator,
		Question: question, Changes: st.changes, Needed: needed,
		Approvers: people(st.cfg.Approvers(a)), From: a.From,
		Requested: now, Expires: now.Add(timeout),
	}
	if req.Changes == nil {
		req.Changes = []string{}
	}
	req.Source = st.sourceInfo().SHA256
	if vars, err := json.Marshal(st.recordedVars); err == nil {
		req.Vars = vars
	} else {
		req.Vars = json.RawMessage("{}")
	}
	req.Digest = RequestDigest(req)
	return req
}

// approvalWait is a step waiting for its approvals.
type approvalWait struct {
	st  *stepRun
	req *ApprovalRequest
	// seen holds the principals counted, the operator's first.
	seen      map[string]bool
	approvers []string
	after     int64
	// storeErr is the broker's error when it last failed to answer.
	storeErr string
}

// wait polls the broker until enough approvals came, one denial, the
// timeout or Ctrl-C; it returns the request's outcome and the step's.
func (w *approvalWait) wait(ctx context.Context) (string, StepResult, bool) {
	st := w.st
	poll := st.c.approvalPoll
	if poll <= 0 {
		poll = DefaultApprovalPoll
	}
	for {
		resps, err := st.c.broker.ApprovalResponses(ctx, w.req.RunID, w.req.Step, w.after)
		if err != nil {
			// The store may come back before the timeout: keep asking.
			w.storeErr = "; the store last answered: " + st.mask.String(err.Error())
		} else {
			w.storeErr = ""
		}
		for i := range resps {
			if outcome, res, done := w.answer(&resps[i]); done {
				return outcome, res, outcome == ApprovalApproved
			}
		}
		if ctx.Err() != nil {
			return ApprovalInterrupted, StepResult{Name: st.s.Name, Status: StatusInterrupted}, false
		}
		if !st.c.clock.Now().Before(w.req.Expires) {
			return ApprovalTimedOut, st.fail(StatusDeclined, "waited %s for %d more %s from %s; got %d%s",
				w.req.Expires.Sub(w.req.Requested), w.req.Needed, approvalWord(w.req.Needed), orAnySigner(w.req.From), len(w.approvers), w.storeErr), false
		}
		if err := st.c.clock.Sleep(ctx, min(poll, w.req.Expires.Sub(st.c.clock.Now()))); err != nil {
			return ApprovalInterrupted, StepResult{Name: st.s.Name, Status: StatusInterrupted}, false
		}
	}
}

// answer records one answer; done is set when it decides the step.
func (w *approvalWait) answer(resp *ApprovalResponse) (string, StepResult, bool) {
	st := w.st
	if resp.ID > w.after {
		w.after = resp.ID
	}
	ev := ApprovalAnswered{StepRef: st.ref, Decision: resp.Decision, Reason: st.mask.String(resp.Reason), Signature: resp.Signature}
	principal, key, err := st.c.verifier.Verify(w.req, resp)
	ev.Principal, ev.Key = principal, key
	switch {
	case err != nil:
		ev.Refused = st.mask.String(err.Error())
	case IsAgent(principal) || (st.c.agent != "" && principal == st.c.operator):
		ev.Refused = fmt.Sprintf("%s is an agent: an agent's answer never counts as an approval", principal)
	case w.seen[principal] && st.c.identity != nil && principal == st.c.identity.Principal:
		ev.Refused = fmt.Sprintf("%s is the operator: the operator's approval is already counted", principal)
	case w.seen[principal]:
		ev.Refused = fmt.Sprintf("%s has already answered: each principal counts once", principal)
	}
	ev.Accepted = ev.Refused == ""
	if ev.Accepted {
		w.seen[principal] = true
		if resp.Decision == DecisionApprove {
			w.approvers = append(w.approvers, principal)
		}
		ev.Approvals = len(w.approvers)
	}
	if !st.emit(ev) {
		return ApprovalInterrupted, st.fail(StatusFailed, "%s", st.hookErr), true
	}
	switch {
	case !ev.Accepted:
		return "", StepResult{}, false
	case resp.Decision == DecisionDeny:
		reason := ev.Reason
		if reason == "" {
			reason = "no reason given"
		}
		return ApprovalDenied, st.fail(StatusDeclined, "%s denied the step: %s", principal, reason), true
	case len(w.approvers) >= w.req.Needed:
		return ApprovalApproved, StepResult{}, true
	}
	return "", StepResult{}, false
}

// RunStartedMessage is what the operator signs when a run starts
// (transcript.RunStartedMessage).
func RunStartedMessage(rs *RunStarted, principal string) []byte {
	return transcript.RunStartedMessage(rs, principal)
}

// sign signs the run's start with the operator's key, when the run has
// an identity.
func (r *runner) sign(rs *RunStarted) error {
	id := r.c.identity
	if id == nil || id.Key == nil {
		return nil
	}
	sig, err := identity.Sign(id.Key, RunStartedMessage(rs, id.Principal))
	if err != nil {
		return fmt.Errorf("signing the run's start with %s (%s): %w", id.Key.Fingerprint(), id.Key.Source, err)
	}
	rs.Identity = &OperatorIdentity{
		Principal:   id.Principal,
		Key:         strings.TrimSpace(string(ssh.MarshalAuthorizedKey(id.Key.Signer.PublicKey()))),
		Fingerprint: id.Key.Fingerprint(),
		Signature:   sig,
	}
	return nil
}

// checkApprovals refuses, before anything runs, a real run whose steps
// need approvals it could never get: without a store to ask in, without
// the operator's verified identity, or with fewer possible approvers than
// a step needs once the operator is left out.
func checkApprovals(cfg *schema.Config, rb *schema.Runbook, c *config) error {
	if c.dryRun {
		return nil
	}
	if c.agent != "" {
		return checkAgentApprovals(cfg, rb, c)
	}
	for _, s := range rb.Steps {
		a := s.Approval
		if a.Others() == 0 {
			continue
		}
		switch {
		case c.broker == nil || c.verifier == nil:
			return inputErrorf("step %q needs %d approvals, which are asked for in the transcript store: run with --store (or RUNBOOK_STORE)", s.Name, a.Count)
		case c.identity == nil:
			return inputErrorf("step %q needs %d approvals, but the operator has no verified identity: the runbook directory needs an %s file that lists the operator's key", s.Name, a.Count, schema.SignersFileName)
		}
		var possible []string
		for _, p := range cfg.Approvers(a) {
			if p != c.identity.Principal && !IsAgent(p) && cfg.Signers.Has(p, identity.Namespace) {
				possible = append(possible, p)
			}
		}
		if len(possible) < a.Others() {
			return inputErrorf("step %q needs %d more %s from %s, but besides the operator (%s) only %d can approve", s.Name, a.Others(), approvalWord(a.Others()), orAnySigner(a.From), c.identity.Principal, len(possible))
		}
	}
	return nil
}

func orAnySigner(from []string) string {
	if len(from) == 0 {
		return "the allowed signers"
	}
	return strings.Join(from, ", ")
}
