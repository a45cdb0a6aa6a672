package scenario

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/runbookdev/runbook/engine"
	"github.com/runbookdev/runbook/schema"
)

// testOperator is the principal of a scenario's operator.
const testOperator = "test@runbook"

// answerBroker answers a scenario's approval requests from its approvals
// and denials, in that order: each principal it names answers once, as a
// person running `runbook approve` would; the engine then counts them as it
// counts signed answers.
type answerBroker struct {
	tc *schema.TestCase
}

func (b answerBroker) RequestApproval(context.Context, *engine.ApprovalRequest) error { return nil }

func (b answerBroker) ApprovalResponses(_ context.Context, _, step string, after int64) ([]engine.ApprovalResponse, error) {
	var all []engine.ApprovalResponse
	for _, p := range b.tc.Approvals[step] {
		all = append(all, engine.ApprovalResponse{Decision: engine.DecisionApprove, Principal: p})
	}
	if p, ok := b.tc.Denials[step]; ok {
		all = append(all, engine.ApprovalResponse{Decision: engine.DecisionDeny, Principal: p, Reason: "denied in test " + b.tc.Name})
	}
	var out []engine.ApprovalResponse
	for i := range all {
		all[i].ID = int64(i + 1)
		if all[i].ID > after {
			out = append(out, all[i])
		}
	}
	return out, nil
}

func (b answerBroker) CloseApproval(context.Context, string, string, string) error { return nil }

// principalVerifier takes a scenario's principals at their word, but
// checks them as signatures are checked: each must be one the step's
// approvers name and one allowed_signers lists.
type principalVerifier struct {
	cfg *schema.Config
}

func (v principalVerifier) Verify(req *engine.ApprovalRequest, resp *engine.ApprovalResponse) (string, string, error) {
	p := resp.Principal
	switch {
	case p == testOperator:
		return "", "", fmt.Errorf("%s is the operator: the operator cannot approve their own run", p)
	case !v.cfg.Signers.Has(p, schema.SignersNamespace):
		return "", "", fmt.Errorf("%s is not in %s", p, schema.SignersFileName)
	case len(req.Approvers) > 0 && !slices.Contains(req.Approvers, p):
		return "", "", fmt.Errorf("%s is not among the approvers (%s)", p, strings.Join(req.From, ", "))
	}
	return p, "", nil
}

// approvalOptions let a scenario's steps be approved by principal.
func approvalOptions(cfg *schema.Config, tc *schema.TestCase) []engine.Option {
	return []engine.Option{
		engine.WithIdentity(&engine.Identity{Principal: testOperator}),
		engine.WithApprovals(answerBroker{tc: tc}, principalVerifier{cfg: cfg}),
	}
}
