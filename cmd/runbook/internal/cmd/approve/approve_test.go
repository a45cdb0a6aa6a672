package approve

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/runbookdev/runbook/cmd/runbook/internal/cmdutil"
	"github.com/runbookdev/runbook/cmd/runbook/internal/iostreams"
	"github.com/runbookdev/runbook/engine"
	"github.com/runbookdev/runbook/engine/exitcode"
	"github.com/runbookdev/runbook/engine/identity"
	"github.com/runbookdev/runbook/engine/store"
	"github.com/runbookdev/runbook/engine/transcript"
	"github.com/runbookdev/runbook/plugins/index/pgtest"
)

func TestAnswerFlags(t *testing.T) {
	tests := []struct {
		deny bool
		args []string
		code int // 0: runF is called
		want func(*Options) bool
	}{
		{false, []string{"20261202T1500", "--yes", "--key", "id_ed25519"}, 0, func(o *Options) bool {
			return o.RunID == "20261202T1500" && o.Yes && o.Key == "id_ed25519" && o.Decision == engine.DecisionApprove
		}},
		{false, []string{"20261202T1500"}, 0, func(o *Options) bool { return !o.Yes && o.Key == "" && o.Reason == "" }},
		{true, []string{"20261202T1500", "--reason", "not during the freeze"}, 0, func(o *Options) bool {
			return o.Decision == engine.DecisionDeny && o.Reason == "not during the freeze" && o.Key == ""
		}},
		{false, []string{}, exitcode.BadInput, nil},
		{false, []string{"a", "b"}, exitcode.BadInput, nil},
		{false, []string{"20261202T1500", "--reason", "x"}, exitcode.BadInput, nil}, // approve takes no reason
		{true, []string{"20261202T1500"}, exitcode.BadInput, nil},
		{true, []string{"20261202T1500", "--reason", "  "}, exitcode.BadInput, nil},
		{true, []string{"20261202T1500", "--reason", strings.Repeat("x", store.MaxApprovalReason+1)}, exitcode.BadInput, nil},
		{true, []string{"20261202T1500", "--reason", "x", "--yes"}, exitcode.BadInput, nil}, // deny does not ask
	}
	for _, tt := range tests {
		streams, _, _, _ := iostreams.Test()
		f := cmdutil.New(streams, nil)
		var got *Options
		runF := func(o *Options) error { got = o; return nil }
		cmd := NewCmdApprove(f, runF)
		if tt.deny {
			cmd = NewCmdDeny(f, runF)
		}
		cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return cmdutil.Exitf(exitcode.BadInput, "%s", err) })
		cmd.SetArgs(tt.args)
		cmd.SilenceErrors, cmd.SilenceUsage = true, true
		err := cmd.Execute()
		if tt.code != 0 {
			var e *cmdutil.ExitError
			if !errors.As(err, &e) || e.Code != tt.code || got != nil {
				t.Errorf("deny %v %q: err %v, ran %v; want exit %d before running", tt.deny, tt.args, err, got != nil, tt.code)
			}
			continue
		}
		if err != nil || got == nil || !tt.want(got) {
			t.Errorf("deny %v %q: err %v, options %+v", tt.deny, tt.args, err, got)
		}
	}
}

// answered is what one command did.
type answered struct {
	code        int
	out, errOut string
}

// answer runs `runbook approve` (or deny) with args against the store at
// dsn ("" for none), stdin a terminal when tty, with input typed on it.
func answer(t *testing.T, dsn string, tty bool, input string, deny bool, args ...string) answered {
	t.Helper()
	streams, in, out, errOut := iostreams.Test()
	streams.SetTTY(tty, false, false)
	in.WriteString(input)
	f := cmdutil.New(streams, nil)
	f.Global.StoreURL = dsn
	defer f.CloseStore()
	cmd := NewCmdApprove(f, nil)
	if deny {
		cmd = NewCmdDeny(f, nil)
	}
	cmd.SetArgs(args)
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.ExecuteContext(context.Background())
	if err != nil {
		errOut.WriteString(err.Error() + "\n")
	}
	return answered{exitcode.Of(err), out.String(), errOut.String()}
}

// newKey makes an ed25519 key with ssh-keygen and returns its path.
func newKey(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("no ssh-keygen")
	}
	path := filepath.Join(t.TempDir(), "id_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bob@example", "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	return path
}

// pushFinishedRun stores a run that started and succeeded.
func pushFinishedRun(t *testing.T, s *store.Store, id string) {
	t.Helper()
	w, err := transcript.Create(t.TempDir(), id)
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range []transcript.Record{
		transcript.RunStarted{RunID: id, Runbook: "release", Mode: "run", Operator: "alice@laptop", Version: "test"},
		transcript.RunFinished{Status: "succeeded", ExitCode: 0},
	} {
		if _, err := w.Record(rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Push(context.Background(), w.Path()); err != nil {
		t.Fatal(err)
	}
}

func TestAnswerAgainstStore(t *testing.T) {
	if _, err := pgtest.BinDir(); err != nil && !pgtest.Required() {
		t.Skip(err)
	}
	t.Setenv("SSH_AUTH_SOCK", "")
	dsn := pgtest.Start(t)
	ctx := context.Background()
	s, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	keyPath := newKey(t)
	key, err := identity.LoadKey(keyPath)
	if err != nil {
		t.Fatal(err)
	}

	now := time.Now()
	req := &engine.ApprovalRequest{
		RunID: "20261202T150000Z-ab12", Runbook: "release", Step: "deploy", Operator: "alice@laptop",
		Question: "Deploy v2?", Changes: []string{"~ image v1 → v2", "\x1b[31mred\x1b[0m"},
		Source: strings.Repeat("ab", 32), Vars: []byte(`{"image":"v2","token":"(sensitive)"}`),
		Needed: 2, Approvers: []string{"bob", "carol"}, From: []string{"team.sre"},
		Requested: now, Expires: now.Add(time.Hour),
	}
	req.Digest = engine.RequestDigest(req)
	if err := s.RequestApproval(ctx, req); err != nil {
		t.Fatal(err)
	}
	// A request changed in the store after the run made it: its plan
	// lines no longer give its digest.
	changed := *req
	changed.RunID = "20261202T150000Z-ff99"
	if err := s.RequestApproval(ctx, &changed); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `UPDATE runbook.approval_requests SET changes = '{"~ image v1 → v1"}' WHERE run_id = $1`, changed.RunID); err != nil {
		t.Fatal(err)
	}

	// Refusals that store nothing.
	refusals := []struct {
		name  string
		dsn   string
		tty   bool
		input string
		deny  bool
		args  []string
		code  int
		want  string
	}{
		{"no store", "", false, "", false, []string{req.RunID, "--yes", "--key", keyPath}, exitcode.BadInput, "--store"},
		{"no key", dsn, false, "", false, []string{req.RunID, "--yes"}, exitcode.BadInput, "pass --key FILE, or start ssh-agent"},
		{"bad key", dsn, false, "", false, []string{req.RunID, "--yes", "--key", filepath.Join(t.TempDir(), "none")}, exitcode.BadInput, "--key"},
		{"no terminal", dsn, false, "", false, []string{req.RunID, "--key", keyPath}, exitcode.Refused, "no terminal to ask on; re-run with --yes"},
		{"said no", dsn, true, "n\n", false, []string{req.RunID, "--key", keyPath}, exitcode.Refused, "not approved"},
		{"said nothing", dsn, true, "", false, []string{req.RunID, "--key", keyPath}, exitcode.Refused, "not approved"},
		{"unknown run", dsn, false, "", false, []string{"2025", "--yes", "--key", keyPath}, exitcode.BadInput, "not in the transcript store"},
		{"deny without reason", dsn, false, "", true, []string{req.RunID, "--key", keyPath}, exitcode.BadInput, "--reason"},
		{"a changed request", dsn, false, "", false, []string{changed.RunID, "--yes", "--key", keyPath}, exitcode.Failed,
			"the request in the store does not match its digest (" + req.Digest},
	}
	for _, tt := range refusals {
		got := answer(t, tt.dsn, tt.tty, tt.input, tt.deny, tt.args...)
		if got.code != tt.code || !strings.Contains(got.errOut, tt.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d saying %q", tt.name, got.code, got.errOut, tt.code, tt.want)
		}
	}
	for _, id := range []string{req.RunID, changed.RunID} {
		if resps, err := s.ApprovalResponses(ctx, id, req.Step, 0); err != nil || len(resps) != 0 {
			t.Fatalf("after refusals: %d responses to %s, %v; want none", len(resps), id, err)
		}
	}

	// An approval asked on the terminal, then a refusal.
	got := answer(t, dsn, true, "maybe\nyes\n", false, req.RunID, "--key", keyPath)
	if got.code != 0 || !strings.Contains(got.out, "approved step deploy of run "+req.RunID+" as "+key.Fingerprint()) ||
		!strings.Contains(got.errOut, "Please answer yes or no") {
		t.Fatalf("approve: exit %d\nstdout:\n%s\nstderr:\n%s", got.code, got.out, got.errOut)
	}
	for _, want := range []string{"release", "alice@laptop", "Deploy v2?", `{"image":"v2","token":"(sensitive)"}`, "~ image v1 → v2", `\x1b[31mred\x1b[0m`, "team.sre (bob, carol)", "2 more approvals", req.Digest, key.Fingerprint()} {
		if !strings.Contains(got.out, want) {
			t.Errorf("approve's request lacks %q:\n%s", want, got.out)
		}
	}
	if strings.Contains(got.out, "\x1b") {
		t.Errorf("approve wrote an escape from the store to the terminal:\n%q", got.out)
	}
	got = answer(t, dsn, false, "", true, req.RunID, "--key", keyPath, "--reason", "not during the freeze")
	if got.code != 0 || !strings.Contains(got.out, "denied step deploy") {
		t.Fatalf("deny: exit %d\nstdout:\n%s\nstderr:\n%s", got.code, got.out, got.errOut)
	}

	resps, err := s.ApprovalResponses(ctx, req.RunID, req.Step, 0)
	if err != nil || len(resps) != 2 {
		t.Fatalf("responses: %d, %v; want 2", len(resps), err)
	}
	for i, want := range []struct{ decision, reason string }{{engine.DecisionApprove, ""}, {engine.DecisionDeny, "not during the freeze"}} {
		r := resps[i]
		pub, err := identity.Verify(r.Signature, engine.ApprovalMessage(req.RunID, req.Step, req.Digest, want.decision, want.reason))
		if r.Decision != want.decision || r.Reason != want.reason || err != nil || !bytes.Equal(pub.Marshal(), key.Signer.PublicKey().Marshal()) {
			t.Errorf("response %d: %s %q, verify: %v; want %s %q signed by the key", i, r.Decision, r.Reason, err, want.decision, want.reason)
		}
		other := engine.DecisionDeny
		if want.decision == engine.DecisionDeny {
			other = engine.DecisionApprove
		}
		if _, err := identity.Verify(r.Signature, engine.ApprovalMessage(req.RunID, req.Step, req.Digest, other, want.reason)); err == nil {
			t.Errorf("response %d verifies as a %s too", i, other)
		}
	}

	// Once closed, nothing waits.
	if err := s.CloseApproval(ctx, req.RunID, req.Step, engine.ApprovalDenied); err != nil {
		t.Fatal(err)
	}
	got = answer(t, dsn, false, "", false, req.RunID, "--yes", "--key", keyPath)
	if got.code != exitcode.Failed || !strings.Contains(got.errOut, "run "+req.RunID+" is not waiting for an approval: its last request, for step deploy, was closed: denied") {
		t.Errorf("approve after close: exit %d, stderr %q; want exit 1, not waiting", got.code, got.errOut)
	}
	pushFinishedRun(t, s, "20261202T160000Z-cd34")
	got = answer(t, dsn, false, "", false, "20261202T16", "--yes", "--key", keyPath)
	if got.code != exitcode.Failed || !strings.Contains(got.errOut, "is not waiting for an approval: the run ended succeeded (exit code 0)") {
		t.Errorf("approve of a finished run: exit %d, stderr %q; want exit 1 saying how it ended", got.code, got.errOut)
	}
}

// startAgent starts an ssh-agent holding the key at keyPath, stopped when
// the test ends, and points SSH_AUTH_SOCK at it.
func startAgent(t *testing.T, keyPath string) {
	t.Helper()
	for _, tool := range []string{"ssh-agent", "ssh-add"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s", tool)
		}
	}
	// A short folder: a socket's path is limited to about 100 bytes.
	dir, err := os.MkdirTemp("", "rb-agent-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "agent.sock")
	// In the foreground (-D), so that this test reaps it; it says its
	// environment once it listens.
	agent := exec.Command("ssh-agent", "-D", "-s", "-a", sock)
	stdout, err := agent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		agent.Process.Kill()
		agent.Wait()
	})
	lines := bufio.NewScanner(stdout)
	for lines.Scan() && !strings.HasPrefix(lines.Text(), "SSH_AUTH_SOCK=") {
	}
	if lines.Err() != nil || !strings.HasPrefix(lines.Text(), "SSH_AUTH_SOCK=") {
		t.Fatalf("ssh-agent did not say it listens: %v", lines.Err())
	}
	t.Setenv("SSH_AUTH_SOCK", sock)
	if out, err := exec.Command("ssh-add", "-q", keyPath).CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v\n%s", err, out)
	}
}

func TestApproveWithAgentKey(t *testing.T) {
	if _, err := pgtest.BinDir(); err != nil && !pgtest.Required() {
		t.Skip(err)
	}
	keyPath := newKey(t)
	startAgent(t, keyPath)
	dsn := pgtest.Start(t)
	ctx := context.Background()
	s, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	key, err := identity.LoadKey(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	req := &engine.ApprovalRequest{RunID: "20261202T170000Z-ef56", Runbook: "release", Step: "migrate", Operator: "alice@laptop",
		Needed: 1, Requested: now, Expires: now.Add(time.Hour)}
	req.Digest = engine.RequestDigest(req)
	if err := s.RequestApproval(ctx, req); err != nil {
		t.Fatal(err)
	}
	got := answer(t, dsn, false, "", false, req.RunID, "--yes")
	if got.code != 0 || !strings.Contains(got.out, "Signing with "+key.Fingerprint()+" (ssh-agent)") ||
		!strings.Contains(got.out, "any principal of the run's allowed signers but the operator") {
		t.Fatalf("approve with ssh-agent: exit %d\nstdout:\n%s\nstderr:\n%s", got.code, got.out, got.errOut)
	}
	resps, err := s.ApprovalResponses(ctx, req.RunID, req.Step, 0)
	if err != nil || len(resps) != 1 {
		t.Fatalf("responses: %v, %v", resps, err)
	}
	pub, err := identity.Verify(resps[0].Signature, engine.ApprovalMessage(req.RunID, req.Step, req.Digest, engine.DecisionApprove, ""))
	if err != nil || !bytes.Equal(pub.Marshal(), key.Signer.PublicKey().Marshal()) {
		t.Errorf("the stored signature: verify %v; want the agent's key", err)
	}
}
