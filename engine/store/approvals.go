package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/runbookdev/runbook/engine"
)

// Bounds of what the approval tables hold and what is read back from them:
// rows are untrusted (anyone who can write the database can change them).
const (
	// MaxApprovalChanges caps the plan lines of a request.
	MaxApprovalChanges = 1000
	// MaxApprovalReason caps a response's reason, in characters.
	MaxApprovalReason = 1000
	// MaxApprovalSignature caps a response's armored signature, in bytes.
	MaxApprovalSignature = 16 << 10
	// MaxApprovalResponses caps the responses one ApprovalResponses call
	// returns; the caller asks again after the last.
	MaxApprovalResponses = 1000
)

// maxApprovalText caps each text read back from a request (a plan line,
// the question, a name), in bytes.
const maxApprovalText = 4096

// maxApprovalVars caps the variables read back from a request, in bytes.
const maxApprovalVars = 256 << 10

// ErrNotWaiting is returned by SubmitApproval for a request that is
// closed, has expired, or does not exist.
var ErrNotWaiting = errors.New("not waiting for an approval")

var _ engine.ApprovalBroker = (*Store)(nil)

// RequestApproval records req so that approvers can answer it
// (engine.ApprovalBroker). Recording the same request again (same run,
// step and digest) is a retry and does nothing; a request of the same run
// and step with another digest is an error.
func (s *Store) RequestApproval(ctx context.Context, req *engine.ApprovalRequest) error {
	if err := checkRequest(req); err != nil {
		return fmt.Errorf("transcript store %s: %w", s.service, err)
	}
	what := fmt.Sprintf("record the approval request of run %s, step %s", req.RunID, req.Step)
	tag, err := s.pool.Exec(ctx, `INSERT INTO `+s.table("approval_requests")+
		` (run_id, step, runbook, operator, question, changes, digest, needed, approvers, "from", requested, expires, source_sha256, vars)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (run_id, step) DO NOTHING`,
		req.RunID, req.Step, req.Runbook, req.Operator, req.Question, nonNil(req.Changes), req.Digest, req.Needed,
		nonNil(req.Approvers), nonNil(req.From), req.Requested, req.Expires, req.Source, varsText(req.Vars))
	if err != nil {
		return s.approvalErr(what, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var digest string
	err = s.pool.QueryRow(ctx, `SELECT digest FROM `+s.table("approval_requests")+` WHERE run_id = $1 AND step = $2`,
		req.RunID, req.Step).Scan(&digest)
	if err != nil {
		return s.approvalErr(what, err)
	}
	if digest != req.Digest {
		return fmt.Errorf("transcript store %s: run %s, step %s already has an approval request, with digest %s, not %s",
			s.service, req.RunID, req.Step, clip(digest, 100), req.Digest)
	}
	return nil
}

// checkRequest refuses a request the tables would not hold.
func checkRequest(req *engine.ApprovalRequest) error {
	switch {
	case req.RunID == "" || req.Step == "":
		return errors.New("an approval request needs a run id and a step")
	case req.Digest == "":
		return fmt.Errorf("the approval request of run %s, step %s has no digest", req.RunID, req.Step)
	case req.Needed < 1:
		return fmt.Errorf("the approval request of run %s, step %s needs %d approvals: want at least 1", req.RunID, req.Step, req.Needed)
	case req.Requested.IsZero() || !req.Expires.After(req.Requested):
		return fmt.Errorf("the approval request of run %s, step %s must expire after it is made (requested %s, expires %s)",
			req.RunID, req.Step, req.Requested.Format(time.RFC3339), req.Expires.Format(time.RFC3339))
	case len(req.Vars) > maxApprovalVars:
		return fmt.Errorf("the approval request of run %s, step %s has %d bytes of variables: at most %d are stored",
			req.RunID, req.Step, len(req.Vars), maxApprovalVars)
	case len(req.Changes) > MaxApprovalChanges:
		return fmt.Errorf("the approval request of run %s, step %s has %d plan lines: at most %d are stored",
			req.RunID, req.Step, len(req.Changes), MaxApprovalChanges)
	}
	return nil
}

// ApprovalResponses returns the answers to run runID's step whose ID is
// greater than after, in ID order, at most MaxApprovalResponses of them
// (engine.ApprovalBroker).
func (s *Store) ApprovalResponses(ctx context.Context, runID, step string, after int64) ([]engine.ApprovalResponse, error) {
	what := fmt.Sprintf("read the approval responses of run %s, step %s", runID, step)
	rows, err := s.pool.Query(ctx, `SELECT id, decision, left(reason, $4), left(signature, $5), submitted FROM `+
		s.table("approval_responses")+` WHERE run_id = $1 AND step = $2 AND id > $3 ORDER BY id LIMIT $6`,
		runID, step, after, MaxApprovalReason, MaxApprovalSignature, MaxApprovalResponses)
	if err != nil {
		return nil, s.approvalErr(what, err)
	}
	var out []engine.ApprovalResponse
	var r engine.ApprovalResponse
	var reason, signature pgtype.Text
	_, err = pgx.ForEachRow(rows, []any{&r.ID, &r.Decision, &reason, &signature, &r.Submitted}, func() error {
		r.Reason, r.Signature = reason.String, signature.String
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, s.approvalErr(what, err)
	}
	return out, nil
}

// CloseApproval records the outcome of run runID's step's request
// (engine.ApprovalBroker), after which it is not pending and takes no
// more answers. A request already closed keeps its first outcome.
func (s *Store) CloseApproval(ctx context.Context, runID, step, outcome string) error {
	what := fmt.Sprintf("close the approval request of run %s, step %s", runID, step)
	var stored *string
	err := s.pool.QueryRow(ctx, `SELECT `+pgx.Identifier{s.schema, "close_approval"}.Sanitize()+`($1, $2, $3)`,
		runID, step, outcome).Scan(&stored)
	if err != nil {
		return s.approvalErr(what, err)
	}
	if stored == nil {
		return fmt.Errorf("transcript store %s: run %s has no approval request for step %s", s.service, runID, step)
	}
	return nil
}

// PendingApprovals returns the open requests of run runID (not closed,
// not expired by the store's clock), oldest first.
func (s *Store) PendingApprovals(ctx context.Context, runID string) ([]engine.ApprovalRequest, error) {
	what := fmt.Sprintf("read the approval requests of run %s", runID)
	rows, err := s.pool.Query(ctx, `SELECT `+requestColumns+` FROM `+s.table("approval_requests")+
		` WHERE run_id = $1 AND outcome IS NULL AND expires > now() ORDER BY requested, step LIMIT $2`,
		runID, MaxApprovalResponses)
	if err != nil {
		return nil, s.approvalErr(what, err)
	}
	out, err := scanRequests(rows)
	if err != nil {
		return nil, s.approvalErr(what, err)
	}
	return out, nil
}

// requestColumns are the columns scanRequests reads, each bounded.
var requestColumns = strings.NewReplacer("@t@", fmt.Sprint(maxApprovalText), "@n@", fmt.Sprint(MaxApprovalChanges), "@v@", fmt.Sprint(maxApprovalVars)).Replace(
	`left(run_id, @t@), left(step, @t@), left(runbook, @t@), left(operator, @t@), left(question, @t@),
	changes[1:@n@], left(digest, @t@), needed, approvers[1:@n@], "from"[1:@n@], requested, expires,
	left(source_sha256, @t@), left(vars, @v@)`)

// scanRequests reads rows of requestColumns, then of the columns extra
// scans into. NULL elements of an array read as "", and each line is cut
// to maxApprovalText bytes.
func scanRequests(rows pgx.Rows, extra ...any) ([]engine.ApprovalRequest, error) {
	var out []engine.ApprovalRequest
	var r engine.ApprovalRequest
	var changes, approvers, from []pgtype.Text
	var vars string
	dest := []any{&r.RunID, &r.Step, &r.Runbook, &r.Operator, &r.Question,
		&changes, &r.Digest, &r.Needed, &approvers, &from, &r.Requested, &r.Expires, &r.Source, &vars}
	_, err := pgx.ForEachRow(rows, append(dest, extra...), func() error {
		r.Changes, r.Approvers, r.From = texts(changes), texts(approvers), texts(from)
		// Vars that are not JSON (or were cut) make the digest differ,
		// which the approver's command reports.
		r.Vars = json.RawMessage(vars)
		out = append(out, r)
		return nil
	})
	return out, err
}

// texts are the strings of a text array read from the store.
func texts(a []pgtype.Text) []string {
	if len(a) == 0 {
		return nil
	}
	out := make([]string, len(a))
	for i, t := range a {
		out[i] = clip(t.String, maxApprovalText)
	}
	return out
}

// clip cuts s to at most n bytes, on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// varsText is a request's variables as stored: "{}" for none.
func varsText(vars json.RawMessage) string {
	if len(vars) == 0 {
		return "{}"
	}
	return string(vars)
}

// nonNil is a, or an empty slice: the array columns are NOT NULL.
func nonNil(a []string) []string {
	if a == nil {
		return []string{}
	}
	return a
}

// SubmitApproval stores one signed answer to the open request of run
// runID's step and returns its ID. An answer to a request that is closed,
// has expired or does not exist is refused with an error that says which
// (wrapping ErrNotWaiting), as is one whose decision is not
// engine.DecisionApprove or engine.DecisionDeny, whose reason is longer
// than MaxApprovalReason characters or whose signature is empty or longer
// than MaxApprovalSignature bytes.
func (s *Store) SubmitApproval(ctx context.Context, runID, step string, resp engine.ApprovalResponse) (int64, error) {
	if err := checkResponse(resp); err != nil {
		return 0, fmt.Errorf("transcript store %s: run %s, step %s: %w", s.service, runID, step, err)
	}
	var id int64
	err := s.pool.QueryRow(ctx, `INSERT INTO `+s.table("approval_responses")+
		` (run_id, step, decision, reason, signature) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		runID, step, resp.Decision, resp.Reason, resp.Signature).Scan(&id)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "RB010":
			return 0, fmt.Errorf("run %s is %w of step %s: it has no request for one", runID, ErrNotWaiting, step)
		case "RB011":
			return 0, fmt.Errorf("run %s is %w of step %s: the request is closed (%s)", runID, ErrNotWaiting, step, clip(pgErr.Detail, 100))
		case "RB012":
			return 0, fmt.Errorf("run %s is %w of step %s: the request expired at %s", runID, ErrNotWaiting, step, clip(pgErr.Detail, 100))
		}
	}
	if err != nil {
		return 0, s.approvalErr(fmt.Sprintf("store an approval response to run %s, step %s", runID, step), err)
	}
	return id, nil
}

// checkResponse refuses an answer the tables would not hold.
func checkResponse(resp engine.ApprovalResponse) error {
	switch {
	case resp.Decision != engine.DecisionApprove && resp.Decision != engine.DecisionDeny:
		return fmt.Errorf("decision %q: want %q or %q", resp.Decision, engine.DecisionApprove, engine.DecisionDeny)
	case utf8.RuneCountInString(resp.Reason) > MaxApprovalReason:
		return fmt.Errorf("the reason is %d characters long: at most %d are stored", utf8.RuneCountInString(resp.Reason), MaxApprovalReason)
	case !utf8.ValidString(resp.Reason):
		return errors.New("the reason is not UTF-8")
	case resp.Signature == "":
		return errors.New("the answer is not signed")
	case len(resp.Signature) > MaxApprovalSignature:
		return fmt.Errorf("the signature is %d bytes long: at most %d are stored", len(resp.Signature), MaxApprovalSignature)
	}
	return nil
}

// approvalErr is the error of a failed approval statement: an
// *UnreachableError when the store is away, else err with what was being
// done.
func (s *Store) approvalErr(what string, err error) error {
	var scan pgx.ScanArgError
	if !errors.As(err, &scan) && !errors.Is(err, pgx.ErrNoRows) && connectionError(err) {
		return &UnreachableError{Service: s.service, Err: err}
	}
	return fmt.Errorf("transcript store %s: %s: %w", s.service, what, err)
}

// ApprovalExpired is the outcome LastApproval gives a request that was
// never closed but has expired.
const ApprovalExpired = "expired"

// LastApproval returns run runID's newest request, pending or not, and its
// outcome: as closed (engine.ApprovalApproved, …), ApprovalExpired, or ""
// while it is pending. A run with no request is nil, "", nil.
func (s *Store) LastApproval(ctx context.Context, runID string) (*engine.ApprovalRequest, string, error) {
	var outcome string
	rows, err := s.pool.Query(ctx, `SELECT `+requestColumns+`,
		left(coalesce(outcome, CASE WHEN expires <= now() THEN $2 ELSE '' END), 100) FROM `+s.table("approval_requests")+
		` WHERE run_id = $1 ORDER BY requested DESC, step DESC LIMIT 1`, runID, ApprovalExpired)
	if err == nil {
		var reqs []engine.ApprovalRequest
		if reqs, err = scanRequests(rows, &outcome); err == nil && len(reqs) > 0 {
			return &reqs[0], outcome, nil
		}
	}
	if err != nil {
		return nil, "", s.approvalErr(fmt.Sprintf("read the approval requests of run %s", runID), err)
	}
	return nil, "", nil
}
