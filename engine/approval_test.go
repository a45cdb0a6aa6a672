package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"golang.org/x/crypto/ssh"

	"github.com/runbookdev/runbook/engine/exitcode"
	"github.com/runbookdev/runbook/engine/identity"
	"github.com/runbookdev/runbook/engine/identity/identitytest"
	"github.com/runbookdev/runbook/engine/transcript"
	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/schema"
)

const approvalRunbook = `
team "oncall" {
  members = ["bob@example.com", "carol@example.com"]
}

runbook "rb" {
  owner = "team"
  variable "note" {
    default = "a<b & c>d é"
  }
  variable "ratio" {
    default = 0.1
  }
  step "write" {
    confirm          = "Set k?"
    approvals        = %d
    approvers        = ["oncall"]
    approval_timeout = "10s"
    action "kv.set" {
      key   = "k"
      value = "v2"
    }
  }
}
`

// memBroker is an ApprovalBroker in memory: when a request comes, answer
// makes the responses people give to it.
type memBroker struct {
	mu       sync.Mutex
	answer   func(req *ApprovalRequest) []ApprovalResponse
	req      *ApprovalRequest
	resps    []ApprovalResponse
	outcome  string
	requests int
}

func (b *memBroker) RequestApproval(_ context.Context, req *ApprovalRequest) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.requests++
	b.req = req
	for i, r := range b.answer(req) {
		r.ID = int64(i + 1)
		b.resps = append(b.resps, r)
	}
	return nil
}

func (b *memBroker) ApprovalResponses(_ context.Context, runID, step string, after int64) ([]ApprovalResponse, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []ApprovalResponse
	for _, r := range b.resps {
		if r.ID > after {
			out = append(out, r)
		}
	}
	return out, nil
}

func (b *memBroker) CloseApproval(_ context.Context, _, _, outcome string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.outcome = outcome
	return nil
}

// signed is key's answer to req.
func signed(t *testing.T, key *identity.Key, req *ApprovalRequest, digest, decision, reason string) ApprovalResponse {
	t.Helper()
	sig, err := identity.Sign(key, ApprovalMessage(req.RunID, req.Step, digest, decision, reason))
	if err != nil {
		t.Fatal(err)
	}
	return ApprovalResponse{Decision: decision, Reason: reason, Signature: sig}
}

type approvalKeys struct {
	alice, bob, carol1, carol2, mallory *identity.Key
	// agent is listed for an agent's principal, which never approves.
	agent *identity.Key
}

func (k approvalKeys) signers() string {
	line := func(p string, key *identity.Key) string {
		return fmt.Sprintf("%s namespaces=\"runbook\" %s", p, identitytest.AuthorizedKey(key))
	}
	lines := []string{
		line("alice@example.com", k.alice), line("bob@example.com", k.bob),
		line("carol@example.com", k.carol1), line("carol@example.com", k.carol2),
	}
	if k.agent != nil {
		lines = append(lines, line("agent:ci-bot", k.agent))
	}
	return strings.Join(lines, "\n") + "\n"
}

func TestApprovals(t *testing.T) {
	keys := approvalKeys{
		alice: identitytest.NewKey(t, "alice"), bob: identitytest.NewKey(t, "bob"), carol1: identitytest.NewKey(t, "carol1"),
		carol2: identitytest.NewKey(t, "carol2"), mallory: identitytest.NewKey(t, "mallory"),
		agent: identitytest.NewKey(t, "agent"),
	}
	for _, tc := range []struct {
		name      string
		approvals int
		answer    func(t *testing.T, req *ApprovalRequest) []ApprovalResponse
		status    string
		exit      int
		outcome   string
		refused   []string // each refused answer's reason, in part
		approvers []string
	}{
		{
			name: "another allowed key approves", approvals: 2,
			answer: func(t *testing.T, req *ApprovalRequest) []ApprovalResponse {
				return []ApprovalResponse{signed(t, keys.bob, req, req.Digest, DecisionApprove, "")}
			},
			status: StatusSucceeded, outcome: ApprovalApproved, approvers: []string{"bob@example.com"},
		},
		{
			name: "the operator's own key", approvals: 2,
			answer: func(t *testing.T, req *ApprovalRequest) []ApprovalResponse {
				return []ApprovalResponse{signed(t, keys.alice, req, req.Digest, DecisionApprove, "")}
			},
			status: StatusDeclined, exit: exitcode.Refused, outcome: ApprovalTimedOut, refused: []string{"the operator's own key"},
		},
		{
			name: "a key listed for an agent, in a person's run", approvals: 2,
			answer: func(t *testing.T, req *ApprovalRequest) []ApprovalResponse {
				return []ApprovalResponse{signed(t, keys.agent, req, req.Digest, DecisionApprove, "")}
			},
			status: StatusDeclined, exit: exitcode.Refused, outcome: ApprovalTimedOut, refused: []string{"agent:ci-bot is an agent: an agent's answer never counts"},
		},
		{
			name: "an unknown key", approvals: 2,
			answer: func(t *testing.T, req *ApprovalRequest) []ApprovalResponse {
				return []ApprovalResponse{signed(t, keys.mallory, req, req.Digest, DecisionApprove, "")}
			},
			status: StatusDeclined, exit: exitcode.Refused, outcome: ApprovalTimedOut, refused: []string{"is not in allowed_signers"},
		},
		{
			name: "a signature over another digest", approvals: 2,
			answer: func(t *testing.T, req *ApprovalRequest) []ApprovalResponse {
				return []ApprovalResponse{signed(t, keys.bob, req, "sha256:"+strings.Repeat("0", 64), DecisionApprove, "")}
			},
			status: StatusDeclined, exit: exitcode.Refused, outcome: ApprovalTimedOut, refused: []string{"does not verify"},
		},
		{
			name: "a tampered signature", approvals: 2,
			answer: func(t *testing.T, req *ApprovalRequest) []ApprovalResponse {
				r := signed(t, keys.bob, req, req.Digest, DecisionApprove, "")
				lines := strings.Split(r.Signature, "\n")
				b := []byte(lines[2])
				b[10] ^= 'A' ^ 'B'
				if b[10] == lines[2][10] {
					b[10] = 'C'
				}
				lines[2] = string(b)
				r.Signature = strings.Join(lines, "\n")
				return []ApprovalResponse{r}
			},
			status: StatusDeclined, exit: exitcode.Refused, outcome: ApprovalTimedOut, refused: []string{"does not verify"},
		},
		{
			name: "a decision changed after signing", approvals: 2,
			answer: func(t *testing.T, req *ApprovalRequest) []ApprovalResponse {
				r := signed(t, keys.bob, req, req.Digest, DecisionDeny, "no")
				r.Decision, r.Reason = DecisionApprove, ""
				return []ApprovalResponse{r}
			},
			status: StatusDeclined, exit: exitcode.Refused, outcome: ApprovalTimedOut, refused: []string{"does not verify"},
		},
		{
			name: "a duplicate principal", approvals: 3,
			answer: func(t *testing.T, req *ApprovalRequest) []ApprovalResponse {
				return []ApprovalResponse{
					signed(t, keys.carol1, req, req.Digest, DecisionApprove, ""),
					signed(t, keys.carol2, req, req.Digest, DecisionApprove, ""),
				}
			},
			status: StatusDeclined, exit: exitcode.Refused, outcome: ApprovalTimedOut, refused: []string{"already answered"},
			approvers: []string{"carol@example.com"},
		},
		{
			name: "two distinct principals", approvals: 3,
			answer: func(t *testing.T, req *ApprovalRequest) []ApprovalResponse {
				return []ApprovalResponse{
					signed(t, keys.carol1, req, req.Digest, DecisionApprove, ""),
					signed(t, keys.bob, req, req.Digest, DecisionApprove, ""),
				}
			},
			status: StatusSucceeded, outcome: ApprovalApproved, approvers: []string{"carol@example.com", "bob@example.com"},
		},
		{
			name: "a denial", approvals: 2,
			answer: func(t *testing.T, req *ApprovalRequest) []ApprovalResponse {
				return []ApprovalResponse{signed(t, keys.bob, req, req.Digest, DecisionDeny, "not during the launch")}
			},
			status: StatusDeclined, exit: exitcode.Refused, outcome: ApprovalDenied,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, rb := loadApproval(t, tc.approvals, keys.signers())
			broker := &memBroker{answer: func(req *ApprovalRequest) []ApprovalResponse { return tc.answer(t, req) }}
			op := &Identity{Principal: "alice@example.com", Key: keys.alice}
			w, err := transcript.Create(t.TempDir(), "run-1", transcript.WithFS(noSync{}))
			if err != nil {
				t.Fatal(err)
			}
			h := runLoaded(t, cfg, rb, WithYes(true), WithIdentity(op), WithHooks(TranscriptHook(w)),
				WithApprovals(broker, &SignersVerifier{Signers: cfg.Signers, Operator: op}))
			w.Close()
			if h.err != nil {
				t.Fatal(h.err)
			}
			if h.res.Status != tc.status || h.res.ExitCode != tc.exit {
				t.Fatalf("status %s exit %d (%s), want %s exit %d", h.res.Status, h.res.ExitCode, h.res.Reason, tc.status, tc.exit)
			}
			if broker.outcome != tc.outcome {
				t.Errorf("request closed as %q, want %q", broker.outcome, tc.outcome)
			}
			var refused, approvers []string
			for _, e := range h.rec.events {
				if a, ok := e.(ApprovalAnswered); ok {
					if !a.Accepted {
						refused = append(refused, a.Refused)
					} else if a.Decision == DecisionApprove {
						approvers = append(approvers, a.Principal)
					}
				}
			}
			if len(refused) != len(tc.refused) {
				t.Fatalf("refused %q, want %d refusals like %q", refused, len(tc.refused), tc.refused)
			}
			for i := range refused {
				if !strings.Contains(refused[i], tc.refused[i]) {
					t.Errorf("refusal %q, want it to say %q", refused[i], tc.refused[i])
				}
			}
			if strings.Join(approvers, ",") != strings.Join(tc.approvers, ",") {
				t.Errorf("approvers %q, want %q", approvers, tc.approvers)
			}
			applied := strings.Contains(strings.Join(h.kv.Calls(), ","), "apply set")
			if applied != (tc.status == StatusSucceeded) {
				t.Errorf("calls %q with status %s: the action runs only when approved", h.kv.Calls(), h.res.Status)
			}
			start := h.rec.events[0].(RunStarted)
			if start.Identity == nil || start.Identity.Principal != "alice@example.com" {
				t.Fatalf("run_started identity %+v", start.Identity)
			}
			key, err := identity.Verify(start.Identity.Signature, RunStartedMessage(&start, "alice@example.com"))
			if err != nil || ssh.FingerprintSHA256(key) != keys.alice.Fingerprint() {
				t.Errorf("run_started signature: %v", err)
			}
			// The transcript read back holds every signature, each of
			// which verifies from the records alone.
			tr, err := transcript.Read(w.Path())
			if err != nil {
				t.Fatal(err)
			}
			sigs := tr.Signatures()
			accepted := len(tc.approvers)
			if broker.outcome == ApprovalDenied {
				accepted++
			}
			if len(sigs) != 1+accepted {
				t.Fatalf("%d signatures in the transcript, want %d: %+v", len(sigs), 1+accepted, sigs)
			}
			for _, s := range sigs {
				if s.Err != nil {
					t.Error(s.Err)
				}
			}
		})
	}
}

func TestApprovalsRefusedBeforeRunning(t *testing.T) {
	keys := approvalKeys{alice: identitytest.NewKey(t, "a"), bob: identitytest.NewKey(t, "b"), carol1: identitytest.NewKey(t, "c1"), carol2: identitytest.NewKey(t, "c2")}
	op := &Identity{Principal: "alice@example.com", Key: keys.alice}
	broker := &memBroker{answer: func(*ApprovalRequest) []ApprovalResponse { return nil }}
	for _, tc := range []struct {
		name string
		opts []Option
		want string
	}{
		{"no store", []Option{WithIdentity(op)}, "--store"},
		{"no identity", []Option{WithApprovals(broker, &SignersVerifier{})}, "no verified identity"},
		{"too few approvers once the operator is left out", []Option{
			WithIdentity(&Identity{Principal: "bob@example.com", Key: keys.bob}),
			WithApprovals(broker, &SignersVerifier{}),
		}, "only 1 can approve"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, rb := loadApproval(t, 3, keys.signers())
			h := runLoaded(t, cfg, rb, append([]Option{WithYes(true)}, tc.opts...)...)
			var input *InputError
			if !errors.As(h.err, &input) || !strings.Contains(h.err.Error(), tc.want) {
				t.Fatalf("err %v, want an input error saying %q", h.err, tc.want)
			}
			if len(h.rec.events) != 0 || broker.requests != 0 {
				t.Errorf("events %q, requests %d: nothing may run", h.rec.types(), broker.requests)
			}
		})
	}
}

func TestApprovalsDryRun(t *testing.T) {
	keys := approvalKeys{alice: identitytest.NewKey(t, "a"), bob: identitytest.NewKey(t, "b"), carol1: identitytest.NewKey(t, "c1"), carol2: identitytest.NewKey(t, "c2")}
	cfg, rb := loadApproval(t, 2, keys.signers())
	h := runLoaded(t, cfg, rb, WithDryRun(true))
	if h.err != nil || h.res.Status != StatusSucceeded {
		t.Fatalf("err %v, status %v", h.err, h.res)
	}
	var req *ApprovalRequested
	for _, e := range h.rec.events {
		if r, ok := e.(ApprovalRequested); ok {
			req = &r
		}
	}
	if req == nil || !req.DryRun || req.Needed != 1 || strings.Join(req.Approvers, ",") != "bob@example.com,carol@example.com" {
		t.Fatalf("approval_request %+v, want a dry-run's, 1 needed from bob and carol", req)
	}
}

func loadApproval(t *testing.T, approvals int, signers string) (*schema.Config, *schema.Runbook) {
	t.Helper()
	reg, err := plugins.NewRegistry(&plugins.Builtin{Name: "kv", Schema: kvSchema})
	if err != nil {
		t.Fatal(err)
	}
	cfg, diags := schema.Load([]schema.Source{
		{Name: "t.hcl", Bytes: []byte(fmt.Sprintf(approvalRunbook, approvals))},
		{Name: "allowed_signers", Bytes: []byte(signers)},
	}, schema.Options{Schemas: schema.RegistrySource{Registry: reg}})
	if diags.HasErrors() {
		var sb strings.Builder
		_ = hcl.NewDiagnosticTextWriter(&sb, cfg.Files, 100, false).WriteDiagnostics(diags)
		t.Fatal(sb.String())
	}
	return cfg, cfg.Runbooks[0]
}
