package engine

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/engine/identity"
	"github.com/runbookdev/runbook/schema"
)

// Agent runs (docs/execution.md, "Agent runs"): a run an AI agent requested
// changes nothing and does nothing a person must do until people approved
// it. Every step that would change state, asks a confirmation or is manual
// waits for signed approvals, as a step with `approvals` does; the agent's
// own answer never counts.

// AgentPrefix starts the operator of an agent's run: "agent:claude".
const AgentPrefix = "agent:"

// IsAgent reports whether principal names an agent ("agent:…"): in any
// run, an agent's answer never counts as an approval, and an agent is
// never offered as an approver.
func IsAgent(principal string) bool { return strings.HasPrefix(principal, AgentPrefix) }

// people is principals without the agents.
func people(principals []string) []string {
	return slices.DeleteFunc(principals, IsAgent)
}

var agentName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// ValidAgentName reports whether name can name an agent's client: 1 to 64
// letters, digits, dots, underscores and hyphens.
func ValidAgentName(name string) bool { return agentName.MatchString(name) }

// WithAgent makes the run an agent's request on behalf of client (an MCP
// client's name): its operator is "agent:"+client, an unverified one, and
// every step that changes state, asks a confirmation or is manual waits
// for people's approvals. Nothing is asked at a terminal.
func WithAgent(client string) Option { return func(c *config) { c.agent = client } }

// checkAgent refuses, before anything runs, an agent's run with options
// that would let it act on its own: a verified identity, --yes, or a
// resumed run whose half-done step it would be asked about.
func checkAgent(c *config) error {
	switch {
	case c.agent == "":
		return nil
	case !ValidAgentName(c.agent):
		return inputErrorf("agent name %q: use 1 to 64 letters, digits, '.', '_' or '-'", c.agent)
	case c.identity != nil:
		return inputErrorf("an agent's run is unverified: it cannot also be signed with an operator's identity")
	case c.yes:
		return inputErrorf("an agent's run waits for people's approvals: it cannot approve its own confirmations with --yes")
	case c.resume != nil:
		return inputErrorf("an agent's run cannot resume another run: request a new run")
	}
	return nil
}

// agentStep takes the rest of a step in an agent's run, after its preview:
// a gated step waits for people's approvals (a dry-run records who would
// have to approve), then its action runs or, for a manual step, the
// approvers' confirmation is its output.
func (st *stepRun) agentStep(ctx context.Context, args cty.Value) StepResult {
	s := st.s
	if s.Action != nil && args == cty.NilVal {
		var err error
		if args, err = st.args(); err != nil {
			return st.fail(StatusFailed, "%s", err)
		}
	}
	question, err := st.agentQuestion(args)
	if err != nil {
		return st.fail(StatusFailed, "%s", err)
	}
	var approvers []string
	if question != "" {
		needed, timeout := 1, schema.DefaultApprovalTimeout
		if a := s.Approval; a != nil {
			needed = max(needed, a.Count)
			if a.Timeout > 0 {
				timeout = a.Timeout
			}
		}
		var res StepResult
		var ok bool
		if approvers, res, ok = st.awaitApprovals(ctx, st.approvalRequest(question, needed, timeout)); !ok {
			return res
		}
	}
	if s.Action == nil {
		return st.agentManual(approvers)
	}
	return st.action(ctx, args)
}

// agentQuestion is what people are asked to approve before the step runs
// in an agent's run: its confirm question, else its manual text, else a
// sentence naming its mutating action; "" for a read-only step without a
// confirm question, which runs as in any run.
func (st *stepRun) agentQuestion(args cty.Value) (string, error) {
	s := st.s
	switch {
	case s.Confirm != nil:
		q, err := st.text(s.Confirm, nil)
		if err != nil {
			return "", fmt.Errorf("confirm: %w", err)
		}
		return q, nil
	case s.Action == nil:
		q, err := st.text(s.Manual, nil)
		if err != nil {
			return "", fmt.Errorf("manual: %w", err)
		}
		return q, nil
	case s.Action.Schema != nil && s.Action.Schema.IsReadOnly(args):
		return "", nil
	}
	return fmt.Sprintf("%s asks to run %s (step %s)", st.c.operator, s.Action.FullName(), s.Name), nil
}

// agentManual ends a manual step of an agent's run once people approved
// it: they confirmed it was done. A dry-run plans it, as any dry-run does.
func (st *stepRun) agentManual(approvers []string) StepResult {
	if st.c.dryRun {
		st.planned, st.unpredicted = true, true
		return st.expect(cty.UnknownVal(schema.ManualOutputType), StatusPlanned)
	}
	out := cty.ObjectVal(map[string]cty.Value{
		"confirmed_by": cty.StringVal(strings.Join(approvers, ", ")),
		"confirmed_at": cty.StringVal(st.c.clock.Now().UTC().Format(time.RFC3339)),
	})
	// People did something: its record is made durable with the step's
	// end, as a mutating action's is.
	st.changed = true
	return st.expect(out, StatusSucceeded)
}

// gatedStatically reports whether step s of an agent's run may wait for
// approvals, as far as can be told before the run: it asks a confirmation,
// is manual, or has an action that can change state (one read-only only
// for some arguments included).
func gatedStatically(s *schema.Step) bool {
	return s.Confirm != nil || s.Action == nil || s.Action.Schema == nil || !s.Action.Schema.ReadOnly
}

// checkAgentApprovals refuses, before anything runs, an agent's run whose
// gated steps could never be approved: without a store to ask in, without
// allowed signers, or with fewer possible approvers than a step needs.
func checkAgentApprovals(cfg *schema.Config, rb *schema.Runbook, c *config) error {
	for _, s := range rb.Steps {
		if !gatedStatically(s) {
			continue
		}
		a := s.Approval
		if a == nil {
			a = &schema.Approval{}
		}
		needed := max(1, a.Count)
		switch {
		case cfg.Signers == nil:
			return inputErrorf("an agent's run waits for people's approvals, and step %q needs them, but the runbook directory has no %s file to say who may approve", s.Name, schema.SignersFileName)
		case c.broker == nil || c.verifier == nil:
			return inputErrorf("an agent's run waits for people's approvals in the transcript store, and step %q needs them: run with --store (or RUNBOOK_STORE)", s.Name)
		}
		var possible []string
		for _, p := range cfg.Approvers(a) {
			if p != c.operator && !IsAgent(p) && cfg.Signers.Has(p, identity.Namespace) {
				possible = append(possible, p)
			}
		}
		if len(possible) < needed {
			return inputErrorf("step %q of an agent's run needs %d %s from %s, but only %d can approve", s.Name, needed, approvalWord(needed), orAnySigner(a.From), len(possible))
		}
	}
	return nil
}
