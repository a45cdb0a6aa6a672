package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/runbookdev/runbook/engine"
)

// approvalRequest is a request of run runID's step "deploy" that expires
// in an hour.
func approvalRequest(runID string) *engine.ApprovalRequest {
	now := time.Now().UTC().Truncate(time.Microsecond)
	return &engine.ApprovalRequest{
		RunID: runID, Runbook: "release", Step: "deploy", Operator: "alice@laptop",
		Question: "Deploy v2 to production?", Changes: []string{"~ service web: image v1 → v2"},
		Digest: "sha256:" + strings.Repeat("ab", 32), Needed: 1,
		Approvers: []string{"bob", "carol"}, From: []string{"team.sre"},
		Requested: now, Expires: now.Add(time.Hour),
	}
}

func TestApprovalLifecycle(t *testing.T) {
	s, _ := openStore(t)
	ctx := context.Background()
	req := approvalRequest("20261202T100000")
	if err := s.RequestApproval(ctx, req); err != nil {
		t.Fatal(err)
	}
	pending, err := s.PendingApprovals(ctx, req.RunID)
	if err != nil || len(pending) != 1 {
		t.Fatalf("pending: %v, %v; want one request", pending, err)
	}
	got := pending[0]
	if got.Step != req.Step || got.Digest != req.Digest || got.Question != req.Question || got.Needed != 1 ||
		strings.Join(got.Changes, "|") != strings.Join(req.Changes, "|") ||
		strings.Join(got.Approvers, ",") != "bob,carol" || strings.Join(got.From, ",") != "team.sre" ||
		!got.Requested.Equal(req.Requested) || !got.Expires.Equal(req.Expires) {
		t.Errorf("pending request = %+v, want %+v", got, *req)
	}

	first, err := s.SubmitApproval(ctx, req.RunID, req.Step, engine.ApprovalResponse{Decision: engine.DecisionApprove, Signature: "sig-1"})
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.SubmitApproval(ctx, req.RunID, req.Step, engine.ApprovalResponse{Decision: engine.DecisionDeny, Reason: "not today", Signature: "sig-2"})
	if err != nil {
		t.Fatal(err)
	}
	if second <= first {
		t.Errorf("ids %d then %d: want increasing", first, second)
	}
	all, err := s.ApprovalResponses(ctx, req.RunID, req.Step, 0)
	if err != nil || len(all) != 2 || all[0].ID != first || all[1].Reason != "not today" || all[1].Signature != "sig-2" || all[0].Submitted.IsZero() {
		t.Fatalf("responses after 0 = %+v, %v", all, err)
	}
	after, err := s.ApprovalResponses(ctx, req.RunID, req.Step, first)
	if err != nil || len(after) != 1 || after[0].ID != second || after[0].Decision != engine.DecisionDeny {
		t.Fatalf("responses after %d = %+v, %v; want only %d", first, after, err, second)
	}

	if err := s.CloseApproval(ctx, req.RunID, req.Step, engine.ApprovalDenied); err != nil {
		t.Fatal(err)
	}
	// A second close keeps the first outcome.
	if err := s.CloseApproval(ctx, req.RunID, req.Step, engine.ApprovalTimedOut); err != nil {
		t.Fatal(err)
	}
	if pending, err := s.PendingApprovals(ctx, req.RunID); err != nil || len(pending) != 0 {
		t.Errorf("pending after close = %v, %v; want none", pending, err)
	}
	_, err = s.SubmitApproval(ctx, req.RunID, req.Step, engine.ApprovalResponse{Decision: engine.DecisionApprove, Signature: "late"})
	if !errors.Is(err, ErrNotWaiting) || !strings.Contains(err.Error(), "closed (denied)") {
		t.Errorf("submit to a closed request: %v; want ErrNotWaiting saying closed (denied)", err)
	}
	if err := s.CloseApproval(ctx, req.RunID, "other", engine.ApprovalApproved); err == nil {
		t.Error("closing a request that does not exist: no error")
	}
}

func TestApprovalRefused(t *testing.T) {
	s, _ := openStore(t)
	ctx := context.Background()
	expired := approvalRequest("20261202T110000")
	expired.Step = "expired"
	expired.Requested = time.Now().Add(-2 * time.Hour)
	expired.Expires = time.Now().Add(-time.Hour)
	open := approvalRequest(expired.RunID)
	for _, r := range []*engine.ApprovalRequest{expired, open} {
		if err := s.RequestApproval(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	pending, err := s.PendingApprovals(ctx, open.RunID)
	if err != nil || len(pending) != 1 || pending[0].Step != open.Step {
		t.Errorf("pending = %+v, %v; want only step %s", pending, err, open.Step)
	}

	ok := engine.ApprovalResponse{Decision: engine.DecisionApprove, Signature: "sig"}
	tests := []struct {
		name, step string
		resp       engine.ApprovalResponse
		want       string
		notWaiting bool
	}{
		{"expired", expired.Step, ok, "expired at", true},
		{"no request", "nothing", ok, "has no request", true},
		{"bad decision", open.Step, engine.ApprovalResponse{Decision: "maybe", Signature: "sig"}, `decision "maybe"`, false},
		{"unsigned", open.Step, engine.ApprovalResponse{Decision: engine.DecisionApprove}, "not signed", false},
		{"long reason", open.Step, engine.ApprovalResponse{Decision: engine.DecisionDeny, Reason: strings.Repeat("é", MaxApprovalReason+1), Signature: "sig"}, "1001 characters", false},
		{"long signature", open.Step, engine.ApprovalResponse{Decision: engine.DecisionApprove, Signature: strings.Repeat("A", MaxApprovalSignature+1)}, "16385 bytes", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.SubmitApproval(ctx, open.RunID, tt.step, tt.resp)
			if err == nil || !strings.Contains(err.Error(), tt.want) || errors.Is(err, ErrNotWaiting) != tt.notWaiting {
				t.Errorf("submit: %v; want an error saying %q (ErrNotWaiting: %v)", err, tt.want, tt.notWaiting)
			}
		})
	}
	if got, err := s.ApprovalResponses(ctx, open.RunID, open.Step, 0); err != nil || len(got) != 0 {
		t.Errorf("responses after refusals = %v, %v; want none", got, err)
	}
}

func TestRequestApprovalTwice(t *testing.T) {
	s, _ := openStore(t)
	ctx := context.Background()
	req := approvalRequest("20261202T120000")
	if err := s.RequestApproval(ctx, req); err != nil {
		t.Fatal(err)
	}
	retry := *req
	retry.Question = "changed, but the digest is the same"
	if err := s.RequestApproval(ctx, &retry); err != nil {
		t.Errorf("the same request again: %v; want a no-op", err)
	}
	pending, err := s.PendingApprovals(ctx, req.RunID)
	if err != nil || len(pending) != 1 || pending[0].Question != req.Question {
		t.Errorf("pending after a retry = %+v, %v; want the first request", pending, err)
	}
	other := *req
	other.Digest = "sha256:" + strings.Repeat("cd", 32)
	if err := s.RequestApproval(ctx, &other); err == nil || !strings.Contains(err.Error(), "already has an approval request") {
		t.Errorf("another digest: %v; want an error", err)
	}
	tooMany := approvalRequest("20261202T120001")
	tooMany.Changes = make([]string, MaxApprovalChanges+1)
	if err := s.RequestApproval(ctx, tooMany); err == nil || !strings.Contains(err.Error(), "1001 plan lines") {
		t.Errorf("too many plan lines: %v; want an error", err)
	}
	noExpiry := approvalRequest("20261202T120003")
	noExpiry.Expires = time.Time{}
	if err := s.RequestApproval(ctx, noExpiry); err == nil || !strings.Contains(err.Error(), "must expire after") {
		t.Errorf("a request without an expiry: %v; want an error", err)
	}
	none := approvalRequest("20261202T120002")
	none.Needed = 0
	if err := s.RequestApproval(ctx, none); err == nil {
		t.Error("a request that needs no approval: no error")
	}
}

// TestApprovalOddRows reads rows someone changed by hand: NULL array
// elements, oversized values, more responses than one call returns.
func TestApprovalOddRows(t *testing.T) {
	s, schema := openStore(t)
	ctx := context.Background()
	req := approvalRequest("20261202T130000")
	if err := s.RequestApproval(ctx, req); err != nil {
		t.Fatal(err)
	}
	su := superConn(t)
	q := pgx.Identifier{schema}.Sanitize()
	for _, stmt := range []string{
		`ALTER TABLE ` + q + `.approval_requests DROP CONSTRAINT approval_requests_needed_check`,
		`UPDATE ` + q + `.approval_requests SET changes = ARRAY[NULL, repeat('x', 10000)] || array_fill('y'::text, ARRAY[2000]),
			approvers = ARRAY[NULL]::text[], question = repeat('q', 100000), needed = -5`,
		`ALTER TABLE ` + q + `.approval_responses DISABLE TRIGGER submit_approval`,
		`ALTER TABLE ` + q + `.approval_responses DROP CONSTRAINT approval_responses_signature_check`,
		`INSERT INTO ` + q + `.approval_responses (run_id, step, decision, signature)
			SELECT '20261202T130000', 'deploy', 'approve', repeat('s', 20000) FROM generate_series(1, 1001)`,
	} {
		if _, err := su.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	pending, err := s.PendingApprovals(ctx, req.RunID)
	if err != nil || len(pending) != 1 {
		t.Fatalf("pending: %v, %v", pending, err)
	}
	p := pending[0]
	if len(p.Changes) != MaxApprovalChanges || p.Changes[0] != "" || len(p.Changes[1]) > maxApprovalText+len("…") ||
		len(p.Approvers) != 1 || p.Approvers[0] != "" || len(p.Question) > maxApprovalText || p.Needed != -5 {
		t.Errorf("odd request read as %d changes (first %q), approvers %q, question of %d bytes, needed %d",
			len(p.Changes), p.Changes[0], p.Approvers, len(p.Question), p.Needed)
	}
	resps, err := s.ApprovalResponses(ctx, req.RunID, req.Step, 0)
	if err != nil || len(resps) != MaxApprovalResponses || len(resps[0].Signature) != MaxApprovalSignature {
		t.Fatalf("responses: %d (first signature of %d bytes), %v; want %d of %d bytes",
			len(resps), len(resps[0].Signature), err, MaxApprovalResponses, MaxApprovalSignature)
	}
	rest, err := s.ApprovalResponses(ctx, req.RunID, req.Step, resps[len(resps)-1].ID)
	if err != nil || len(rest) != 1 {
		t.Errorf("responses after the first page: %d, %v; want 1", len(rest), err)
	}
}

// TestApprovalsAsWriterRole checks that the grants of docs/store.md let
// the writer role request, answer and close, and not rewrite an answer.
func TestApprovalsAsWriterRole(t *testing.T) {
	_, schema := openStore(t)
	ctx := context.Background()
	su := superConn(t)
	role := "approver_" + schema
	q := pgx.Identifier{schema}.Sanitize()
	for _, stmt := range []string{
		`CREATE ROLE ` + role + ` LOGIN`,
		`GRANT USAGE ON SCHEMA ` + q + ` TO ` + role,
		`GRANT SELECT ON ALL TABLES IN SCHEMA ` + q + ` TO ` + role,
		`GRANT INSERT ON ` + q + `.approval_requests, ` + q + `.approval_responses TO ` + role,
		`GRANT USAGE ON SEQUENCE ` + q + `.approval_responses_id_seq TO ` + role,
	} {
		if _, err := su.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	dsn := strings.Replace(serverDSN(t), "//runbook@", "//"+role+"@", 1)
	as, err := Open(ctx, dsn, WithSchema(schema))
	if err != nil {
		t.Fatalf("open as %s: %v", role, err)
	}
	defer as.Close()
	req := approvalRequest("20261202T140000")
	if err := as.RequestApproval(ctx, req); err != nil {
		t.Fatal(err)
	}
	if _, err := as.SubmitApproval(ctx, req.RunID, req.Step, engine.ApprovalResponse{Decision: engine.DecisionApprove, Signature: "sig"}); err != nil {
		t.Fatal(err)
	}
	if err := as.CloseApproval(ctx, req.RunID, req.Step, engine.ApprovalApproved); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, stmt := range []string{
		`UPDATE ` + q + `.approval_responses SET decision = 'deny'`,
		`DELETE FROM ` + q + `.approval_responses`,
		`UPDATE ` + q + `.approval_requests SET digest = 'forged'`,
	} {
		if _, err := conn.Exec(ctx, stmt); err == nil || !strings.Contains(err.Error(), "42501") {
			t.Errorf("%s as the writer role: %v, want permission denied", stmt, err)
		}
	}
}

func TestLastApproval(t *testing.T) {
	s, _ := openStore(t)
	ctx := context.Background()
	if req, outcome, err := s.LastApproval(ctx, "none"); req != nil || outcome != "" || err != nil {
		t.Errorf("LastApproval of a run with no request = %v, %q, %v", req, outcome, err)
	}
	first := approvalRequest("20261202T150000")
	first.Step = "first"
	first.Requested = first.Requested.Add(-time.Minute)
	second := approvalRequest(first.RunID)
	for _, r := range []*engine.ApprovalRequest{first, second} {
		if err := s.RequestApproval(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	expired := approvalRequest("20261202T150001")
	expired.Requested = time.Now().Add(-time.Minute)
	expired.Expires = time.Now().Add(-time.Second)
	if err := s.RequestApproval(ctx, expired); err != nil {
		t.Fatal(err)
	}
	check := func(runID, wantStep, wantOutcome string) {
		t.Helper()
		req, outcome, err := s.LastApproval(ctx, runID)
		if err != nil || req == nil || req.Step != wantStep || outcome != wantOutcome {
			t.Errorf("LastApproval(%s) = %+v, %q, %v; want step %s, %q", runID, req, outcome, err, wantStep, wantOutcome)
		}
	}
	check(first.RunID, second.Step, "")
	if err := s.CloseApproval(ctx, second.RunID, second.Step, engine.ApprovalApproved); err != nil {
		t.Fatal(err)
	}
	check(first.RunID, second.Step, engine.ApprovalApproved)
	check(expired.RunID, expired.Step, ApprovalExpired)
}

// TestMigrateFromVersion1 opens a store left at version 1 (before
// approvals): Open adds the approval tables and approvals work.
func TestMigrateFromVersion1(t *testing.T) {
	s, schema := openStore(t)
	ctx := context.Background()
	r := newRun(t, "20261202T080000")
	appendAll(t, s, r.id, r.events)
	s.Close()
	q := pgx.Identifier{schema}.Sanitize()
	su := superConn(t)
	for _, stmt := range []string{
		`DROP TABLE ` + q + `.approval_responses, ` + q + `.approval_requests`,
		`DROP FUNCTION ` + q + `.submit_approval(), ` + q + `.close_approval(text, text, text)`,
		`DELETE FROM ` + q + `.schema_migrations WHERE version = 2`,
	} {
		if _, err := su.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	again, err := Open(ctx, serverDSN(t), WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	var version int
	if err := su.QueryRow(ctx, `SELECT max(version) FROM `+q+`.schema_migrations`).Scan(&version); err != nil || version != 2 {
		t.Fatalf("schema version after Open = %d, %v; want 2", version, err)
	}
	if err := again.RequestApproval(ctx, approvalRequest(r.id)); err != nil {
		t.Fatal(err)
	}
	if got, err := again.PendingApprovals(ctx, r.id); err != nil || len(got) != 1 {
		t.Errorf("pending after the migration: %v, %v", got, err)
	}
	if _, err := again.Run(ctx, r.id); err != nil {
		t.Errorf("the run stored before the migration: %v", err)
	}
}
