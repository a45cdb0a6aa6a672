package main

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/runbookdev/runbook/engine"
)

// runView is the terminal view of a run: an engine hook that prints each
// step with its owner, what it checked, planned and did, and a summary.
type runView struct {
	mu    sync.Mutex
	w     io.Writer
	total int
	// transcript is the transcript's path, shown at the start and the end.
	transcript string
	// head returns the transcript's head hash at the end.
	head    func() string
	started time.Time
	counts  map[string]int
	mode    string
	runID   string
	// appliesPlan: the run applies a saved plan.
	appliesPlan bool
	runbook     string
	// failed lists the steps that failed, in order; continued marks those
	// the run went on after (on_failure = "continue").
	failed []failedStep
	// streamed is set while an action's progress lines are being shown.
	streamed bool
	// askedHere is set when questions are asked on the terminal stdout is
	// shown on: the question and the typed answer are already on screen.
	askedHere bool
	// tty is set when stdout is a terminal: a step that waits for an
	// expectation (within) shows its attempts on one line that rewrites
	// itself. live is set while that line is on screen.
	tty, live bool
	// held is the last action result, shown once it is known whether an
	// expectation waits for another attempt (then only a short line).
	held *engine.ActionFinished
}

func newRunView(w io.Writer) *runView {
	return &runView{w: w, counts: map[string]int{}}
}

func (v *runView) printf(format string, args ...any) {
	if v.live {
		// End the rewriting attempt line before anything else is shown.
		fmt.Fprint(v.w, "\r\x1b[2K")
		v.live = false
	}
	fmt.Fprintf(v.w, format, args...)
}

// flushHeld shows the held action result in full.
func (v *runView) flushHeld() {
	if v.held == nil {
		return
	}
	e := *v.held
	v.held = nil
	v.printAction(e)
}

// attempt shows one waiting check of an expectation with within: on a
// terminal one line that the next attempt rewrites, on a pipe one short
// line per attempt.
func (v *runView) attempt(e engine.ExpectationChecked) {
	var out any
	if v.held != nil {
		out = v.held.Output
	}
	v.held = nil
	line := fmt.Sprintf("attempt %d", e.Check)
	if e.Checks > 0 {
		line += fmt.Sprintf("/%d", e.Checks)
	}
	if vals := referencedOutputs(e.Condition, out); vals != "" {
		line += ", " + vals
	}
	line += ", want " + e.Condition
	if e.NextIn > 0 {
		line += ", next in " + formatDuration(e.NextIn)
	}
	if v.tty {
		if v.live {
			fmt.Fprint(v.w, "\r\x1b[2K")
		}
		fmt.Fprintf(v.w, "      %s %s", yellow("…"), line)
		v.live = true
		return
	}
	v.printf("      %s %s\n", yellow("…"), line)
}

// outputRef finds the output attributes a condition reads.
var outputRef = regexp.MustCompile(`\boutput\.([A-Za-z_][A-Za-z0-9_-]*)`)

// referencedOutputs renders the output attributes that condition reads,
// "value = 0.08", from an action's output.
func referencedOutputs(condition string, out any) string {
	m, ok := out.(map[string]any)
	if !ok {
		return ""
	}
	var parts []string
	seen := map[string]bool{}
	for _, ref := range outputRef.FindAllStringSubmatch(condition, -1) {
		name := ref[1]
		if val, ok := m[name]; ok && !seen[name] {
			seen[name] = true
			parts = append(parts, name+" = "+compact(val, 40))
		}
	}
	return strings.Join(parts, ", ")
}

// statusMark is a step status as a coloured word.
func statusMark(status string) string {
	switch status {
	case engine.StatusSucceeded, "passed":
		return green("✓ " + status)
	case engine.StatusFailed, engine.StatusBlocked:
		return red("✗ " + status)
	case engine.StatusDeclined, engine.StatusInterrupted, "refused":
		return yellow("✗ " + status)
	case engine.StatusSkipped:
		return faint("– " + status)
	case engine.StatusPlanned:
		return cyan("◇ " + status)
	case engine.StatusPending, "waiting":
		return yellow("… " + status)
	default:
		return status
	}
}

// failedStep is a step that failed, and why.
type failedStep struct {
	name, reason string
	continued    bool
}

// statusWord is a run or step status coloured as statusMark colours it,
// without the mark (for table cells).
func statusWord(status string) string {
	switch status {
	case engine.StatusSucceeded, "passed":
		return green(status)
	case engine.StatusFailed, engine.StatusBlocked:
		return red(status)
	case engine.StatusDeclined, engine.StatusInterrupted, "refused":
		return yellow(status)
	default:
		return status
	}
}

// Handle implements engine.Hook.
func (v *runView) Handle(e engine.Event) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	switch e.(type) {
	case engine.ActionFinished, engine.ExpectationChecked:
	default:
		// A held action result is shown before anything that follows it.
		v.flushHeld()
	}
	switch e := visibleEvent(e).(type) {
	case engine.RunStarted:
		v.runStarted(e)
	case engine.StepStarted:
		if n := len(v.failed); n > 0 {
			v.failed[n-1].continued = true
		}
		v.printf("\n%s %s %s\n", faint(fmt.Sprintf("[%d/%d]", e.Index, v.total)), bold(e.Name), faint("· "+e.Owner))
		if e.Description != "" {
			v.printf("      %s\n", faint(e.Description))
		}
	case engine.PreconditionChecked:
		v.lines().check("requires", e.Condition, e.Result, e.Message, 0)
	case engine.ConfirmationAnswered:
		if v.askedHere && e.Answer != "not asked" && e.Answer != "refused" && e.By != "--yes" {
			// The question and the typed answer are already on screen.
			return nil
		}
		v.lines().confirmation(e)
	case engine.Planned:
		v.lines().plan(e)
	case engine.Progress:
		v.streamed = true
		v.printf("      %s %s\n", faint("│"), e.Line)
	case engine.ActionFinished:
		v.flushHeld()
		if e.Error == "" {
			// Shown with the expectations' results: in full, or as one
			// short attempt line while an expectation waits.
			v.held = &e
			return nil
		}
		v.printAction(e)
	case engine.ExpectationChecked:
		if e.Result == "waiting" {
			v.attempt(e)
			return nil
		}
		v.flushHeld()
		v.lines().check("expect", e.Condition, e.Result, e.Message, e.Check)
	case engine.StepFinished:
		v.counts[e.Status]++
		if e.Status == engine.StatusFailed {
			v.failed = append(v.failed, failedStep{name: e.Name, reason: e.Reason})
		}
		v.lines().stepFinished(e)
	case engine.RunFinished:
		v.runFinished(e)
	case engine.Interrupted:
		v.interrupted(e)
	}
	return nil
}

// runStarted shows the run's title, its transcript and what it resumes or
// applies.
func (v *runView) runStarted(e engine.RunStarted) {
	v.total, v.started, v.mode, v.runID, v.runbook = len(e.Steps), e.Started, e.Mode, e.RunID, e.Runbook
	v.appliesPlan = e.Plan != nil
	mode := ""
	if e.Mode == engine.ModeDryRun {
		mode = yellow(" (dry-run: nothing will be changed)")
	}
	v.printf("%s %s%s\n", bold("▶ "+e.Runbook), faint("run "+e.RunID), mode)
	if v.transcript != "" {
		v.printf("  %s %s\n", faint("transcript"), v.transcript)
	}
	if e.Resumes != "" {
		v.printf("  %s %s\n", faint("resumes"), e.Resumes)
	}
	if e.Plan != nil {
		v.printf("  %s %s %s\n", faint("applies plan"), "sha256:"+short(e.Plan.SHA256), faint("of dry-run "+e.Plan.DryRun))
	}
}

// printAction shows an action's result and, when it succeeded, its output.
func (v *runView) printAction(e engine.ActionFinished) {
	v.lines().action(e, v.streamed)
	v.streamed = false
}

// lines renders the events the live view shares with transcript show.
func (v *runView) lines() eventLines { return eventLines{printf: v.printf} }

func (v *runView) runFinished(e engine.RunFinished) {
	if e.Plan != nil {
		v.printf("\n")
		printPlanSummary(v.printf, e.Plan)
	}
	v.printf("\n%s in %s · %s\n", statusMark(e.Status), formatDuration(time.Duration(e.Duration)), v.summary())
	if e.Reason != "" && e.Status != engine.StatusSucceeded {
		v.printf("  %s\n", e.Reason)
	}
	v.printContinued()
	v.footer()
	if e.Status != engine.StatusSucceeded {
		v.printResume()
	}
}

func (v *runView) interrupted(e engine.Interrupted) {
	v.printf("\n%s", yellow("✗ interrupted"))
	if e.Step != "" {
		v.printf(" during step %s", bold(e.Step))
	}
	v.printf(" after %s · %s\n", formatDuration(time.Duration(e.Duration)), v.summary())
	v.printContinued()
	v.footer()
	v.printResume()
}

// printPlanSummary prints what a dry-run would do: "Plan: 3 changes, 2
// checks pending", then each change with its step.
func printPlanSummary(printf func(string, ...any), p *engine.PlanSummary) {
	head := "no changes"
	if n := len(p.Changes); n > 0 {
		head = plural(n, "change")
	}
	if p.PendingChecks > 0 {
		head += fmt.Sprintf(", %s pending", plural(p.PendingChecks, "check"))
	}
	printf("%s %s\n", bold("Plan:"), head)
	for _, c := range p.Changes {
		printf("  %s %s  %s\n", cyan("~"), c.Change, faint("("+c.Step+" · "+c.Action+")"))
	}
}

// printContinued names every step that failed and the run went on after
// (on_failure = "continue"), whatever ended the run.
func (v *runView) printContinued() {
	for _, f := range v.failed {
		if !f.continued {
			continue
		}
		line := "  " + red("✗ "+f.name) + " failed, the run went on"
		if f.reason != "" {
			line += ": " + f.reason
		}
		v.printf("%s\n", line)
	}
}

// printResume gives the command that continues a run that did not
// succeed; a rehearsal has nothing to resume.
func (v *runView) printResume() {
	if v.mode == engine.ModeDryRun || v.runbook == "" {
		return
	}
	if v.appliesPlan {
		// What was reviewed no longer holds: a resume would act on what
		// nobody reviewed.
		v.printf("  %s %s\n", faint("to continue, make a new plan:"), bold("runbook exec "+v.runbook+" --dry-run --out FILE"))
		return
	}
	v.printf("  %s %s\n", faint("to continue:"), bold("runbook exec "+v.runbook+" --resume "+v.runID))
}

func (v *runView) footer() {
	v.printf("  %s %s\n", faint("run"), v.runID)
	if v.transcript != "" {
		v.printf("  %s %s\n", faint("transcript"), v.transcript)
	}
	if v.head != nil {
		if h := v.head(); h != "" {
			v.printf("  %s %s\n", faint("head"), "sha256:"+h)
		}
	}
}

func (v *runView) summary() string {
	var parts []string
	order := []string{engine.StatusSucceeded, engine.StatusPlanned, engine.StatusPending, engine.StatusSkipped,
		engine.StatusFailed, engine.StatusBlocked, engine.StatusDeclined, engine.StatusInterrupted}
	n := 0
	for _, s := range order {
		if c := v.counts[s]; c > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c, s))
			n += c
		}
	}
	if left := v.total - n; left > 0 {
		parts = append(parts, fmt.Sprintf("%d not run", left))
	}
	return fmt.Sprintf("%s: %s", plural(v.total, "step"), strings.Join(parts, ", "))
}

// compact renders a value on one line, at most max runes.
func compact(val any, max int) string {
	var s string
	switch x := val.(type) {
	case string:
		s = x
	case nil:
		s = "null"
	default:
		b, err := json.Marshal(x)
		if err != nil {
			s = fmt.Sprint(x)
		} else {
			s = string(b)
		}
	}
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > max {
		s = string(r[:max-1]) + "…"
	}
	return s
}

func formatDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return "<1ms"
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	default:
		return d.Round(time.Second).String()
	}
}
