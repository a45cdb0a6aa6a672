package view

import (
	"fmt"
	"strings"

	"github.com/runbookdev/runbook/cmd/runbook/internal/text"
	"github.com/runbookdev/runbook/engine"
)

// approvalRequest shows who must approve a step: live, with the command
// that approves it; in a dry-run, who would have to.
func (v eventLines) approvalRequest(e engine.ApprovalRequested, runID string) {
	who := strings.Join(e.From, ", ")
	if who == "" {
		who = "the allowed signers"
	}
	if len(e.Approvers) > 0 {
		who += " " + v.cs.Faint("("+strings.Join(e.Approvers, ", ")+")")
	}
	n := fmt.Sprintf("%d more %s", e.Needed, text.Word(e.Needed, "approval"))
	if v.agent {
		// Nobody confirmed: the request says what the agent asks, and
		// every approval is wanted.
		if e.Question != "" {
			v.printf("%s%s %s\n", v.indent(), v.cs.Cyan("? asked of people:"), text.Visible(e.Question))
		}
		n = fmt.Sprintf("%d %s", e.Needed, text.Word(e.Needed, "approval"))
	}
	if e.DryRun {
		v.printf("%s%s %s from %s\n", v.indent(), v.cs.Cyan("⧗ would wait for"), n, who)
		return
	}
	v.printf("%s%s %s from %s, until %s\n", v.indent(), v.cs.Yellow("⧗ waiting for"), n, who, e.Expires.Local().Format("15:04:05 MST"))
	v.printf("%s  %s %s\n", v.indent(), v.cs.Faint("approve on any machine with the store:"), v.cs.Bold("runbook approve "+runID))
	v.printf("%s  %s %s\n", v.indent(), v.cs.Faint("request"), e.Digest)
}

// approval shows one answer: counted, or refused and why.
func (v eventLines) approval(e engine.ApprovalAnswered, needed int) {
	key := ""
	if e.Key != "" {
		key = " " + v.cs.Faint("("+e.Key+")")
	}
	switch {
	case !e.Accepted:
		v.printf("%s%s %s\n", v.indent(), v.cs.Red("✗ "+e.Decision+" refused:"), e.Refused)
	case e.Decision == engine.DecisionDeny:
		reason := e.Reason
		if reason == "" {
			reason = "no reason given"
		}
		v.printf("%s%s %s%s: %s\n", v.indent(), v.cs.Red("✗ denied by"), e.Principal, key, reason)
	default:
		count := ""
		if needed > 0 {
			count = " " + v.cs.Faint(fmt.Sprintf("%d/%d", e.Approvals, needed))
		}
		v.printf("%s%s %s%s%s\n", v.indent(), v.cs.Green("✓ approved by"), e.Principal, key, count)
	}
}

// identity shows the operator's verified identity under the run's title.
func (v eventLines) identity(id *engine.OperatorIdentity) {
	if id == nil {
		return
	}
	v.printf("  %s %s %s\n", v.cs.Faint("signed by"), text.Visible(id.Principal), v.cs.Faint("("+text.Visible(id.Fingerprint)+")"))
}
