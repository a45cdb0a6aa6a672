package approve

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/runbookdev/runbook/cmd/runbook/internal/cmdutil"
	"github.com/runbookdev/runbook/cmd/runbook/internal/runbooktext"
	"github.com/runbookdev/runbook/cmd/runbook/internal/text"
	"github.com/runbookdev/runbook/engine"
	"github.com/runbookdev/runbook/engine/exitcode"
)

// showRequest writes the request as a person reads it before answering.
// Everything in it comes from the store and is shown terminal-safe.
func showRequest(opts *Options, req *engine.ApprovalRequest, others []string) {
	cs := opts.IO.ColorScheme()
	w := opts.IO.Out
	line := func(label, format string, args ...any) {
		fmt.Fprintf(w, "  %-10s %s\n", cs.Faint(label), fmt.Sprintf(format, args...))
	}
	fmt.Fprintf(w, "%s %s\n", cs.Yellow("Waiting for approval:"), cs.Bold("step "+text.VisibleLine(req.Step)))
	line("runbook", "%s", text.VisibleLine(req.Runbook))
	line("run", "%s", text.VisibleLine(req.RunID))
	line("operator", "%s", text.VisibleLine(req.Operator))
	line("question", "%s", cs.Bold(text.VisibleLine(req.Question)))
	line("variables", "%s", text.VisibleLine(text.Compact(varsOf(req), 400)))
	if len(req.Changes) == 0 {
		line("plan", "%s", cs.Faint("(no plan lines)"))
	} else {
		line("plan", "%s", text.Plural(len(req.Changes), "line"))
		for _, c := range req.Changes {
			fmt.Fprintf(w, "      %s\n", text.VisibleLine(c))
		}
	}
	line("approvers", "%s", runbooktext.Approvers(req.From, req.Approvers, "any principal of the run's allowed signers but the operator"))
	if engine.IsAgent(req.Operator) {
		// Nobody has confirmed the step: every approval is a person's.
		line("needs", "%d %s: the operator is an AI agent, which never approves", req.Needed, text.Word(req.Needed, "approval"))
	} else {
		line("needs", "%d more %s", req.Needed, text.Word(req.Needed, "approval"))
	}
	now := time.Now()
	line("expires", "%s (%s)", text.FormatTime(req.Expires), expiresIn(now, req.Expires))
	line("digest", "%s", text.VisibleLine(req.Digest))
	if len(others) > 0 {
		fmt.Fprintf(w, "%s\n", cs.Faint(fmt.Sprintf("The run also waits on %s %s; run this command again to answer them.",
			text.Word(len(others), "step"), cmdutil.JoinMax(text.VisibleLines(others), 10))))
	}
}

// varsOf is the request's variables, decoded for text.Compact (as
// written when they are not JSON: the digest check refuses those).
func varsOf(req *engine.ApprovalRequest) any {
	var v any
	if err := json.Unmarshal(req.Vars, &v); err != nil {
		return string(req.Vars)
	}
	return v
}

// checkDigest refuses a request whose digest is not that of what it
// shows: the row was changed in the store after the run made it (or is
// too large to read whole), and signing it would approve something other
// than what the approver read.
func checkDigest(req *engine.ApprovalRequest) error {
	if got := engine.RequestDigest(req); got != req.Digest {
		return cmdutil.Exitf(exitcode.Failed, "the request in the store does not match its digest (%s, computed %s): it was changed after the run made it; nothing was signed",
			text.VisibleLine(req.Digest), got)
	}
	return nil
}

// expiresIn says how long the request has left.
func expiresIn(now, t time.Time) string {
	if !t.After(now) {
		return "expired"
	}
	return "in " + text.ShortDuration(t.Sub(now).Round(time.Second))
}

// confirmApproval asks on the terminal whether to approve: "y" or "yes"
// approves; "n", "no", an empty answer or the end of input does not, and
// ends the command with exit 3; anything else asks again. Without a
// terminal it is exit 3, saying to re-run with --yes.
func confirmApproval(opts *Options, req *engine.ApprovalRequest) error {
	if !opts.IO.CanPrompt() {
		return cmdutil.Exitf(exitcode.Refused, "no terminal to ask on; re-run with --yes")
	}
	cs := opts.IO.ErrColorScheme()
	in := bufio.NewReader(opts.IO.In)
	declined := cmdutil.Exitf(exitcode.Refused, "not approved: nothing was stored\nTo refuse the step, run 'runbook deny %s --reason TEXT'.", text.VisibleLine(req.RunID))
	for {
		fmt.Fprintf(opts.IO.ErrOut, "%s %s %s ", cs.Cyan("?"),
			cs.Bold(fmt.Sprintf("Approve step %s of run %s?", text.VisibleLine(req.Step), text.VisibleLine(req.RunID))), cs.Faint("[y/N]"))
		answer, err := in.ReadString('\n')
		eof := errors.Is(err, io.EOF)
		if err != nil && !eof {
			return fmt.Errorf("reading the answer: %w", err)
		}
		if eof {
			// Nobody is left to answer: that is not a yes.
			fmt.Fprintln(opts.IO.ErrOut)
		}
		answer = strings.TrimSpace(answer)
		switch strings.ToLower(answer) {
		case "y", "yes":
			return nil
		case "", "n", "no":
			return declined
		}
		if eof {
			return declined
		}
		fmt.Fprintf(opts.IO.ErrOut, "%s\n", cs.Yellow(fmt.Sprintf("Please answer yes or no (y or n), not %q.", text.VisibleLine(answer))))
	}
}
