package view

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/runbookdev/runbook/cmd/runbook/internal/iostreams"
	"github.com/runbookdev/runbook/cmd/runbook/internal/text"
	"github.com/runbookdev/runbook/engine"
)

// eventLines renders the typed events of a run (engine/transcript's
// records) for people, line by line: the live view of a run (runView) and
// `transcript show` (transcriptView) both show an event through it, so that
// a record reads the same during the run and afterwards. What surrounds the
// events differs (live: "[2/5]" step titles and a running summary; replay:
// numbered steps with their times and the chain's state), and so do a few
// lines, on purpose, each where it is made:
//
//   - replay indents one column more, under its numbered step titles;
//   - replay shows no success of a transcript that fails verification as
//     one (unverified);
//   - replay shows which check of an expectation a result is (live showed
//     the attempts as they came), a plan's predicted output and any output
//     in full; live leaves out empty strings and what already streamed;
//   - replay closes every step with its status and duration; live, which
//     showed the step as it went, closes only one that did not simply
//     succeed.
type eventLines struct {
	cs         *iostreams.ColorScheme
	printf     func(format string, args ...any)
	replay     bool
	unverified bool
	// agent is set in an agent's run, whose approval requests show what
	// the agent asks: no confirmation did.
	agent bool
}

func (v eventLines) indent() string {
	if v.replay {
		return "       "
	}
	return "      "
}

// mark is statusMark, except that a transcript that fails verification
// shows no success as one.
func (v eventLines) mark(status string) string {
	if v.unverified && (status == engine.StatusSucceeded || status == "passed") {
		return v.cs.Yellow("? " + status + " (unverified)")
	}
	return StatusMark(v.cs, status)
}

// check shows a precondition (verb "requires") or an expectation ("expect"):
// its result, condition and, when it did not pass, its message.
func (v eventLines) check(verb, condition, result, message string, check int) {
	line := fmt.Sprintf("%s%s %s %s", v.indent(), v.mark(result), verb, condition)
	if v.replay && check > 1 {
		line += v.cs.Faint(fmt.Sprintf(" (check %d)", check))
	}
	if message != "" && result != "passed" {
		line += ": " + message
	}
	v.printf("%s\n", line)
}

func (v eventLines) confirmation(e engine.ConfirmationAnswered) {
	switch e.Answer {
	case "not asked":
		v.printf("%s%s %s\n", v.indent(), v.cs.Cyan("? would ask:"), e.Question)
	case "refused":
		v.printf("%s%s %s\n", v.indent(), v.cs.Yellow("? not asked (no terminal, no --yes):"), e.Question)
	default:
		line := fmt.Sprintf("%s%s %s → %s", v.indent(), v.cs.Cyan("?"), e.Question, v.cs.Bold(e.Answer))
		if e.By != "" {
			line += " " + v.cs.Faint("("+e.By+")")
		}
		v.printf("%s\n", line)
	}
}

func (v eventLines) plan(e engine.Planned) {
	if e.Error != "" {
		v.printf("%s%s %s: %s\n", v.indent(), v.cs.Red("✗ plan"), e.Action, e.Error)
		return
	}
	v.printf("%s%s %s\n", v.indent(), v.cs.Cyan("◇ plan"), e.Action)
	for _, c := range e.Changes {
		v.printf("%s  %s\n", v.indent(), c)
	}
	if v.replay {
		v.output(e.Output, "predicted output", false)
	}
}

// action shows one attempt of an action and its output; streamed says its
// stdout and stderr were already shown line by line.
func (v eventLines) action(e engine.ActionFinished, streamed bool) {
	mark, detail := v.cs.Green("✓"), ""
	if v.unverified {
		mark = v.cs.Yellow("?")
	}
	if e.Error != "" {
		mark, detail = v.cs.Red("✗"), ": "+e.Error
	}
	line := fmt.Sprintf("%s%s %s %s", v.indent(), mark, e.Action, v.cs.Faint(text.FormatDuration(time.Duration(e.Duration))))
	if e.Attempt > 1 {
		line += v.cs.Faint(fmt.Sprintf(" attempt %d", e.Attempt))
	}
	if e.Predicted {
		line += " " + v.cs.Cyan("predicted") + v.cs.Faint(" (as the planned changes leave it)")
	}
	v.printf("%s%s\n", line, detail)
	if e.Error == "" {
		v.output(e.Output, "", streamed)
	}
}

// stepFinished closes a step.
func (v eventLines) stepFinished(e engine.StepFinished) {
	if !v.replay && e.Status == engine.StatusSucceeded && e.Reason == "" {
		return
	}
	line := v.indent() + v.mark(e.Status)
	if v.replay {
		line += " " + v.cs.Faint(text.FormatDuration(time.Duration(e.Duration)))
	}
	if e.Reason != "" {
		line += ": " + e.Reason
	}
	v.printf("%s\n", line)
}

// output shows an output compactly, one line per attribute, under label
// when there is one.
func (v eventLines) output(out any, label string, streamed bool) {
	indent := v.indent() + "  "
	m, isMap := out.(map[string]any)
	switch {
	case out == nil || isMap && len(m) == 0:
		return
	case !isMap:
		if v.replay {
			v.printf("%s%s %s\n", indent, v.cs.Faint(cmp.Or(label, "output")+":"), text.Compact(out, 100))
		}
		return
	case label != "":
		v.printf("%s%s\n", indent, v.cs.Faint(label+":"))
		indent += "  "
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		s, isString := m[k].(string)
		if !v.replay && isString && (s == "" || streamed && (k == "stdout" || k == "stderr")) {
			continue
		}
		val := text.Compact(m[k], 100)
		if v.replay && val == "" {
			val = v.cs.Faint(`""`)
		}
		v.printf("%s%s %s\n", indent, v.cs.Faint(k+":"), val)
	}
}

// notification shows one delivery of a notify block: "✉ notified NAME
// (started)", or "✗ could not notify NAME (started): why". The one a step
// waits with is indented under the step.
func (v eventLines) notification(e engine.Notification) {
	indent := "  "
	if e.Event == "waiting_approval" {
		indent = v.indent()
	}
	what := e.Notify + " (" + e.Event + ")"
	if e.Delivered {
		v.printf("%s%s\n", indent, v.cs.Faint("✉ notified "+what))
		return
	}
	v.printf("%s%s %s\n", indent, v.cs.Yellow("✗ could not notify "+what+":"), e.Error)
}
