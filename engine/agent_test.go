package engine

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/runbookdev/runbook/engine/exitcode"
	"github.com/runbookdev/runbook/engine/identity"
	"github.com/runbookdev/runbook/engine/identity/identitytest"
	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/schema"
)

// agentRunbook holds one runbook whose steps are given.
const agentRunbook = `
team "oncall" {
  members = ["bob@example.com", "carol@example.com"]
}

runbook "rb" {
  owner = "team"
  %s
}
`

// agentKeys are the keys of an agent test: alice, bob and carol are
// people; agent signs as "agent:claude", which allowed_signers lists too.
type agentKeys struct {
	alice, bob, carol, agent *identity.Key
}

func newAgentKeys(t *testing.T) agentKeys {
	return agentKeys{
		alice: identitytest.NewKey(t, "alice"), bob: identitytest.NewKey(t, "bob"),
		carol: identitytest.NewKey(t, "carol"), agent: identitytest.NewKey(t, "agent"),
	}
}

func (k agentKeys) signers() string {
	line := func(p string, key *identity.Key) string {
		return fmt.Sprintf("%s namespaces=\"runbook\" %s", p, identitytest.AuthorizedKey(key))
	}
	return strings.Join([]string{
		line("alice@example.com", k.alice), line("bob@example.com", k.bob),
		line("carol@example.com", k.carol), line("agent:claude", k.agent),
	}, "\n") + "\n"
}

// loadAgent loads a runbook of steps, with signers as its allowed_signers
// ("": none).
func loadAgent(t *testing.T, steps, signers string) (*schema.Config, *schema.Runbook) {
	t.Helper()
	reg, err := plugins.NewRegistry(&plugins.Builtin{Name: "kv", Schema: kvSchema})
	if err != nil {
		t.Fatal(err)
	}
	srcs := []schema.Source{{Name: "t.hcl", Bytes: []byte(fmt.Sprintf(agentRunbook, steps))}}
	if signers != "" {
		srcs = append(srcs, schema.Source{Name: "allowed_signers", Bytes: []byte(signers)})
	}
	cfg, diags := schema.Load(srcs, schema.Options{Schemas: schema.RegistrySource{Registry: reg}})
	if diags.HasErrors() {
		var sb strings.Builder
		_ = hcl.NewDiagnosticTextWriter(&sb, cfg.Files, 100, false).WriteDiagnostics(diags)
		t.Fatal(sb.String())
	}
	return cfg, cfg.Runbooks[0]
}

const (
	agentRead = `step "read" {
	  action "kv.get" {
	    key = "k"
	  }
	}`
	agentWrite = `step "write" {
	  action "kv.set" {
	    key   = "k"
	    value = "v2"
	  }
	}`
	agentManual = `step "hand" {
	  manual = "Restart the pod"
	}`
)

func TestAgentRun(t *testing.T) {
	keys := newAgentKeys(t)
	approve := func(keys ...*identity.Key) func(t *testing.T, req *ApprovalRequest) []ApprovalResponse {
		return func(t *testing.T, req *ApprovalRequest) []ApprovalResponse {
			var out []ApprovalResponse
			for _, k := range keys {
				out = append(out, signed(t, k, req, req.Digest, DecisionApprove, ""))
			}
			return out
		}
	}
	for _, tc := range []struct {
		name   string
		steps  string
		answer func(t *testing.T, req *ApprovalRequest) []ApprovalResponse
		status string
		exit   int
		// request is the approval request wanted, nil for none.
		request *ApprovalRequest
		outcome string
		refused []string // each refused answer's reason, in part
		applied bool     // whether kv.set ran
		// confirmedBy is a manual step's confirmed_by.
		confirmedBy string
	}{
		{
			name: "a read-only step runs unasked", steps: agentRead,
			status: StatusSucceeded,
		},
		{
			name: "a mutating step waits for one approval", steps: agentWrite, answer: approve(keys.bob),
			status: StatusSucceeded, outcome: ApprovalApproved, applied: true,
			request: &ApprovalRequest{
				Needed: 1, Question: "agent:claude asks to run kv.set (step write)",
				Approvers: []string{"alice@example.com", "bob@example.com", "carol@example.com"},
				Changes:   []string{"k: v1 → v2"},
			},
		},
		{
			name: "a denial declines", steps: agentWrite,
			answer: func(t *testing.T, req *ApprovalRequest) []ApprovalResponse {
				return []ApprovalResponse{signed(t, keys.carol, req, req.Digest, DecisionDeny, "not now")}
			},
			status: StatusDeclined, exit: exitcode.Refused, outcome: ApprovalDenied,
			request: &ApprovalRequest{Needed: 1, Question: "agent:claude asks to run kv.set (step write)"},
		},
		{
			name: "nobody answers", steps: agentWrite, answer: approve(),
			status: StatusDeclined, exit: exitcode.Refused, outcome: ApprovalTimedOut,
			request: &ApprovalRequest{Needed: 1, Question: "agent:claude asks to run kv.set (step write)"},
		},
		{
			name: "an agent's approval never counts", steps: agentWrite, answer: approve(keys.agent, keys.bob),
			status: StatusSucceeded, outcome: ApprovalApproved, applied: true, refused: []string{"agent:claude is an agent"},
			request: &ApprovalRequest{Needed: 1, Question: "agent:claude asks to run kv.set (step write)"},
		},
		{
			name: "only an agent approves", steps: agentWrite, answer: approve(keys.agent),
			status: StatusDeclined, exit: exitcode.Refused, outcome: ApprovalTimedOut, refused: []string{"never counts as an approval"},
			request: &ApprovalRequest{Needed: 1, Question: "agent:claude asks to run kv.set (step write)"},
		},
		{
			name: "a confirm on a read-only step", answer: approve(keys.alice),
			steps: `step "look" {
			  confirm = "Read k?"
			  action "kv.get" {
			    key = "k"
			  }
			}`,
			status: StatusSucceeded, outcome: ApprovalApproved,
			request: &ApprovalRequest{Needed: 1, Question: "Read k?"},
		},
		{
			name: "approvals counts every approval, from the approvers", answer: approve(keys.bob, keys.carol),
			steps: `step "write" {
			  confirm   = "Set k?"
			  approvals = 2
			  approvers = ["oncall"]
			  action "kv.set" {
			    key   = "k"
			    value = "v2"
			  }
			}`,
			status: StatusSucceeded, outcome: ApprovalApproved, applied: true,
			request: &ApprovalRequest{Needed: 2, Question: "Set k?", Approvers: []string{"bob@example.com", "carol@example.com"}, From: []string{"oncall"}},
		},
		{
			name: "one approval of two", answer: approve(keys.bob, keys.alice),
			steps: `step "write" {
			  confirm   = "Set k?"
			  approvals = 2
			  approvers = ["oncall"]
			  action "kv.set" {
			    key   = "k"
			    value = "v2"
			  }
			}`,
			status: StatusDeclined, exit: exitcode.Refused, outcome: ApprovalTimedOut, refused: []string{"not among the approvers"},
			request: &ApprovalRequest{Needed: 2, Question: "Set k?"},
		},
		{
			name: "a manual step is confirmed by its approver", steps: agentManual, answer: approve(keys.carol),
			status: StatusSucceeded, outcome: ApprovalApproved, confirmedBy: "carol@example.com",
			request: &ApprovalRequest{Needed: 1, Question: "Restart the pod"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, rb := loadAgent(t, tc.steps, keys.signers())
			answer := tc.answer
			if answer == nil {
				answer = approve()
			}
			broker := &memBroker{answer: func(req *ApprovalRequest) []ApprovalResponse { return answer(t, req) }}
			prompter := &answers{confirm: true}
			h := runLoaded(t, cfg, rb, WithAgent("claude"), WithPrompter(prompter),
				WithApprovals(broker, &SignersVerifier{Signers: cfg.Signers}))
			if h.err != nil {
				t.Fatal(h.err)
			}
			if h.res.Status != tc.status || h.res.ExitCode != tc.exit {
				t.Fatalf("status %s exit %d (%s), want %s exit %d", h.res.Status, h.res.ExitCode, h.res.Reason, tc.status, tc.exit)
			}
			if start := h.rec.events[0].(RunStarted); start.Operator != "agent:claude" || start.Identity != nil {
				t.Errorf("run_started operator %q identity %+v, want agent:claude, unsigned", start.Operator, start.Identity)
			}
			if len(prompter.asked) != 0 {
				t.Errorf("asked %q at the terminal: an agent's run asks nobody there", prompter.asked)
			}
			checkAgentRequest(t, h, broker, tc.request)
			if broker.outcome != tc.outcome {
				t.Errorf("request closed as %q, want %q", broker.outcome, tc.outcome)
			}
			var refused []string
			for _, e := range h.rec.events {
				switch e := e.(type) {
				case ApprovalAnswered:
					if !e.Accepted {
						refused = append(refused, e.Refused)
					}
				case ConfirmationAnswered:
					t.Errorf("confirmation %+v recorded: nobody confirms in an agent's run", e)
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
			if applied := strings.Contains(strings.Join(h.kv.Calls(), ","), "apply set"); applied != tc.applied {
				t.Errorf("calls %q: set applied %v, want %v", h.kv.Calls(), applied, tc.applied)
			}
			if tc.confirmedBy != "" {
				out, _ := h.rec.steps()["hand"].Output.(map[string]any)
				if out["confirmed_by"] != tc.confirmedBy || out["confirmed_at"] != "2026-11-26T14:00:00Z" {
					t.Errorf("manual output %v, want confirmed by %s at the start", h.rec.steps()["hand"].Output, tc.confirmedBy)
				}
			}
		})
	}
}

// checkAgentRequest compares the request the run made and recorded with
// want (nil: none made); a zero field of want is not compared.
func checkAgentRequest(t *testing.T, h *harness, broker *memBroker, want *ApprovalRequest) {
	t.Helper()
	var recorded []ApprovalRequested
	for _, e := range h.rec.events {
		if r, ok := e.(ApprovalRequested); ok {
			recorded = append(recorded, r)
		}
	}
	if want == nil {
		if broker.requests != 0 || len(recorded) != 0 {
			t.Errorf("%d requests, %d recorded; want none", broker.requests, len(recorded))
		}
		return
	}
	if broker.requests != 1 || len(recorded) != 1 {
		t.Fatalf("%d requests, %d recorded; want one", broker.requests, len(recorded))
	}
	req, ev := broker.req, recorded[0]
	if req.Operator != "agent:claude" || req.Needed != want.Needed || req.Question != want.Question || ev.Needed != want.Needed || ev.Question != want.Question || ev.Digest != req.Digest {
		t.Errorf("request %+v, recorded %+v; want needed %d, question %q", req, ev, want.Needed, want.Question)
	}
	if want.Approvers != nil && strings.Join(ev.Approvers, ",") != strings.Join(want.Approvers, ",") {
		t.Errorf("approvers %q, want %q", ev.Approvers, want.Approvers)
	}
	if want.From != nil && strings.Join(ev.From, ",") != strings.Join(want.From, ",") {
		t.Errorf("from %q, want %q", ev.From, want.From)
	}
	if want.Changes != nil && strings.Join(ev.Changes, ",") != strings.Join(want.Changes, ",") {
		t.Errorf("changes %q, want %q: approvers see the plan", ev.Changes, want.Changes)
	}
	if got := ev.Expires.Sub(h.clock.Now()); req.RunID != "run-1" || ev.Expires.IsZero() || got > schema.DefaultApprovalTimeout {
		t.Errorf("request of run %q expires %s", req.RunID, ev.Expires)
	}
}

func TestAgentDryRun(t *testing.T) {
	keys := newAgentKeys(t)
	cfg, rb := loadAgent(t, agentRead+"\n"+agentWrite+"\n"+agentManual, keys.signers())
	h := runLoaded(t, cfg, rb, WithAgent("claude"), WithDryRun(true))
	if h.err != nil || h.res.Status != StatusSucceeded {
		t.Fatalf("err %v, result %+v", h.err, h.res)
	}
	var requests []string
	for _, e := range h.rec.events {
		if r, ok := e.(ApprovalRequested); ok {
			if !r.DryRun || r.Needed != 1 || len(r.Approvers) != 3 {
				t.Errorf("approval_request %+v, want a dry-run's, 1 needed from any of the 3 people among the signers (agent:claude is none)", r)
			}
			requests = append(requests, r.Name+": "+r.Question)
		}
	}
	want := "write: agent:claude asks to run kv.set (step write); hand: Restart the pod"
	if got := strings.Join(requests, "; "); got != want {
		t.Errorf("requests %q, want %q", got, want)
	}
	steps := h.rec.steps()
	if steps["read"].Status != StatusSucceeded || steps["write"].Status != StatusPlanned || steps["hand"].Status != StatusPlanned {
		t.Errorf("steps %+v: the read runs, the write and the manual step are planned", steps)
	}
	if calls := strings.Join(h.kv.Calls(), ","); strings.Contains(calls, "apply set") {
		t.Errorf("calls %q: a dry-run changes nothing", calls)
	}
}

func TestAgentRefusedBeforeRunning(t *testing.T) {
	keys := newAgentKeys(t)
	broker := &memBroker{answer: func(*ApprovalRequest) []ApprovalResponse { return nil }}
	approvals := WithApprovals(broker, &SignersVerifier{})
	three := `step "write" {
	  confirm   = "Set k?"
	  approvals = 3
	  approvers = ["oncall"]
	  action "kv.set" {
	    key   = "k"
	    value = "v2"
	  }
	}`
	for _, tc := range []struct {
		name, steps, signers string
		opts                 []Option
		want                 string // "": the run starts
	}{
		{"no store", agentWrite, keys.signers(), nil, "--store"},
		{"no allowed signers", agentManual, "", []Option{approvals}, "no allowed_signers file"},
		{"fewer possible approvers than needed", three, keys.signers(), []Option{approvals}, "needs 3 approvals from oncall, but only 2 can approve"},
		{"--yes", agentRead, keys.signers(), []Option{approvals, WithYes(true)}, "--yes"},
		{"an operator's identity", agentRead, keys.signers(), []Option{approvals, WithIdentity(&Identity{Principal: "alice@example.com", Key: keys.alice})}, "unverified"},
		{"a resumed run", agentRead, keys.signers(), []Option{approvals, WithResume(&Resume{RunID: "run-0"})}, "cannot resume"},
		{"a bad agent name", agentRead, keys.signers(), []Option{approvals, WithAgent("claude desktop")}, "agent name"},
		{"a missing variable is not asked", "variable \"note\" {}\n" + agentRead, "", []Option{WithPrompter(&answers{values: map[string]string{"note": "asked"}})}, `variable "note" is required`},
		{"only read-only steps need no store", agentRead, "", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, rb := loadAgent(t, tc.steps, tc.signers)
			h := runLoaded(t, cfg, rb, append([]Option{WithAgent("claude")}, tc.opts...)...)
			if tc.want == "" {
				if h.err != nil || h.res.Status != StatusSucceeded {
					t.Fatalf("err %v, result %+v; want the run to succeed", h.err, h.res)
				}
				return
			}
			var input *InputError
			if !errors.As(h.err, &input) || !strings.Contains(h.err.Error(), tc.want) {
				t.Fatalf("err %v, want an input error saying %q", h.err, tc.want)
			}
			if len(h.rec.events) != 0 || broker.requests != 0 || len(h.kv.Calls()) != 0 {
				t.Errorf("events %q, requests %d, calls %q: nothing may run", h.rec.types(), broker.requests, h.kv.Calls())
			}
		})
	}
}

func TestValidAgentName(t *testing.T) {
	for name, want := range map[string]bool{
		"claude": true, "Claude-Desktop_1.2": true, strings.Repeat("a", 64): true,
		"": false, strings.Repeat("a", 65): false, "a b": false, "a:b": false, "é": false, "a/b": false,
	} {
		if got := ValidAgentName(name); got != want {
			t.Errorf("ValidAgentName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestValidRunID(t *testing.T) {
	for id, want := range map[string]bool{
		NewRunID(time.Now()):      true,
		"20261126T140000Z-0a1b2c": true,
		"20261126T140000Z-0A1B2C": false,
		"20261126T140000Z-0a1b2":  false,
		"20261126T140000Z0a1b2c":  false,
		"20261326T140000Z-0a1b2c": false,
		"../../etc/passwd":        false,
		"run-1":                   false,
		"":                        false,
	} {
		if got := ValidRunID(id); got != want {
			t.Errorf("ValidRunID(%q) = %v, want %v", id, got, want)
		}
	}
}
