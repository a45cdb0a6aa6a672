package view

import (
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/runbookdev/runbook/cmd/runbook/internal/iostreams"
	"github.com/runbookdev/runbook/cmd/runbook/internal/text"
	"github.com/runbookdev/runbook/engine"
)

// runView is the terminal view of a run: an engine hook that prints each
// step with its owner, what it checked, planned and did, and a summary.
type runView struct {
	mu    sync.Mutex
	w     io.Writer
	cs    *iostreams.ColorScheme
	total int
	// needed is the approvals the last approval request wanted.
	needed int
	// agent is set in an agent's run.
	agent bool
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

// RunOptions say where a run's view is shown.
type RunOptions struct {
	// Transcript is the transcript's path, shown at the start and the end;
	// Head returns its head hash at the end.
	Transcript string
	Head       func() string
	// AskedHere: questions are asked on the terminal stdout is shown on.
	AskedHere bool
	// TTY: stdout is a terminal.
	TTY bool
}

// NewRun returns the terminal view of a run, an engine hook that writes to
// w with the colours of cs.
func NewRun(w io.Writer, cs *iostreams.ColorScheme, o RunOptions) engine.Hook {
	v := newRunView(w, cs)
	v.transcript, v.head, v.askedHere, v.tty = o.Transcript, o.Head, o.AskedHere, o.TTY
	return v
}

func newRunView(w io.Writer, cs *iostreams.ColorScheme) *runView {
	return &runView{w: w, cs: cs, counts: map[string]int{}}
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
		line += ", next in " + text.FormatDuration(e.NextIn)
	}
	if v.tty {
		if v.live {
			fmt.Fprint(v.w, "\r\x1b[2K")
		}
		fmt.Fprintf(v.w, "      %s %s", v.cs.Yellow("…"), line)
		v.live = true
		return
	}
	v.printf("      %s %s\n", v.cs.Yellow("…"), line)
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
			parts = append(parts, name+" = "+text.Compact(val, 40))
		}
	}
	return strings.Join(parts, ", ")
}

// StatusMark is a step status as a coloured word.
func StatusMark(cs *iostreams.ColorScheme, status string) string {
	switch status {
	case engine.StatusSucceeded, "passed":
		return cs.Green("✓ " + status)
	case engine.StatusFailed, engine.StatusBlocked:
		return cs.Red("✗ " + status)
	case engine.StatusDeclined, engine.StatusInterrupted, "refused":
		return cs.Yellow("✗ " + status)
	case engine.StatusSkipped:
		return cs.Faint("– " + status)
	case engine.StatusPlanned:
		return cs.Cyan("◇ " + status)
	case engine.StatusPending, "waiting":
		return cs.Yellow("… " + status)
	default:
		return status
	}
}

// failedStep is a step that failed, and why.
type failedStep struct {
	name, reason string
	continued    bool
}

// StatusWord is a run or step status coloured as statusMark colours it,
// without the mark (for table cells).
func StatusWord(cs *iostreams.ColorScheme, status string) string {
	switch status {
	case engine.StatusSucceeded, "passed":
		return cs.Green(status)
	case engine.StatusFailed, engine.StatusBlocked:
		return cs.Red(status)
	case engine.StatusDeclined, engine.StatusInterrupted, "refused":
		return cs.Yellow(status)
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
		v.stepStarted(e)
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
	case engine.ApprovalRequested:
		v.needed = e.Needed
		v.lines().approvalRequest(e, v.runID)
	case engine.ApprovalAnswered:
		v.lines().approval(e, v.needed)
	case engine.Progress:
		v.streamed = true
		v.printf("      %s %s\n", v.cs.Faint("│"), e.Line)
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
		v.stepFinished(e)
	case engine.RunFinished:
		v.runFinished(e)
	case engine.Interrupted:
		v.interrupted(e)
	case engine.Notification:
		v.lines().notification(e)
	}
	return nil
}

// stepStarted shows a step's title; a step that starts after one failed
// means the run went on after it.
func (v *runView) stepStarted(e engine.StepStarted) {
	if n := len(v.failed); n > 0 {
		v.failed[n-1].continued = true
	}
	v.printf("\n%s %s %s\n", v.cs.Faint(fmt.Sprintf("[%d/%d]", e.Index, v.total)), v.cs.Bold(e.Name), v.cs.Faint("· "+e.Owner))
	if e.Description != "" {
		v.printf("      %s\n", v.cs.Faint(e.Description))
	}
}

// stepFinished counts a step's status and closes it.
func (v *runView) stepFinished(e engine.StepFinished) {
	v.counts[e.Status]++
	if e.Status == engine.StatusFailed {
		v.failed = append(v.failed, failedStep{name: e.Name, reason: e.Reason})
	}
	v.lines().stepFinished(e)
}

// runStarted shows the run's title, its transcript and what it resumes or
// applies.
func (v *runView) runStarted(e engine.RunStarted) {
	v.total, v.started, v.mode, v.runID, v.runbook = len(e.Steps), e.Started, e.Mode, e.RunID, e.Runbook
	v.agent = strings.HasPrefix(e.Operator, engine.AgentPrefix)
	v.appliesPlan = e.Plan != nil
	mode := ""
	if e.Mode == engine.ModeDryRun {
		mode = v.cs.Yellow(" (dry-run: nothing will be changed)")
	}
	v.printf("%s %s%s\n", v.cs.Bold("▶ "+e.Runbook), v.cs.Faint("run "+e.RunID), mode)
	if v.transcript != "" {
		v.printf("  %s %s\n", v.cs.Faint("transcript"), v.transcript)
	}
	if e.Resumes != "" {
		v.printf("  %s %s\n", v.cs.Faint("resumes"), e.Resumes)
	}
	if e.Plan != nil {
		v.printf("  %s %s %s\n", v.cs.Faint("applies plan"), "sha256:"+text.Short(e.Plan.SHA256), v.cs.Faint("of dry-run "+e.Plan.DryRun))
	}
	v.lines().identity(e.Identity)
	if e.TraceID != "" {
		v.printf("  %s %s\n", v.cs.Faint("trace"), text.VisibleLine(e.TraceID))
	}
}

// printAction shows an action's result and, when it succeeded, its output.
func (v *runView) printAction(e engine.ActionFinished) {
	v.lines().action(e, v.streamed)
	v.streamed = false
}

// lines renders the events the live view shares with transcript show.
func (v *runView) lines() eventLines { return eventLines{cs: v.cs, printf: v.printf, agent: v.agent} }

func (v *runView) runFinished(e engine.RunFinished) {
	if e.Plan != nil {
		v.printf("\n")
		PrintPlanSummary(v.cs, v.printf, e.Plan)
	}
	v.printf("\n%s in %s · %s\n", StatusMark(v.cs, e.Status), text.FormatDuration(time.Duration(e.Duration)), v.summary())
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
	v.printf("\n%s", v.cs.Yellow("✗ interrupted"))
	if e.Step != "" {
		v.printf(" during step %s", v.cs.Bold(e.Step))
	}
	v.printf(" after %s · %s\n", text.FormatDuration(time.Duration(e.Duration)), v.summary())
	v.printContinued()
	v.footer()
	v.printResume()
}

// PrintPlanSummary prints what a dry-run would do: "Plan: 3 changes, 2
// checks pending", then each change with its step.
func PrintPlanSummary(cs *iostreams.ColorScheme, printf func(string, ...any), p *engine.PlanSummary) {
	head := "no changes"
	if n := len(p.Changes); n > 0 {
		head = text.Plural(n, "change")
	}
	if p.PendingChecks > 0 {
		head += fmt.Sprintf(", %s pending", text.Plural(p.PendingChecks, "check"))
	}
	printf("%s %s\n", cs.Bold("Plan:"), head)
	for _, c := range p.Changes {
		printf("  %s %s  %s\n", cs.Cyan("~"), c.Change, cs.Faint("("+c.Step+" · "+c.Action+")"))
	}
}

// printContinued names every step that failed and the run went on after
// (on_failure = "continue"), whatever ended the run.
func (v *runView) printContinued() {
	for _, f := range v.failed {
		if !f.continued {
			continue
		}
		line := "  " + v.cs.Red("✗ "+f.name) + " failed, the run went on"
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
		v.printf("  %s %s\n", v.cs.Faint("to continue, make a new plan:"), v.cs.Bold("runbook exec "+v.runbook+" --dry-run --out FILE"))
		return
	}
	v.printf("  %s %s\n", v.cs.Faint("to continue:"), v.cs.Bold("runbook exec "+v.runbook+" --resume "+v.runID))
}

func (v *runView) footer() {
	v.printf("  %s %s\n", v.cs.Faint("run"), v.runID)
	if v.transcript != "" {
		v.printf("  %s %s\n", v.cs.Faint("transcript"), v.transcript)
	}
	if v.head != nil {
		if h := v.head(); h != "" {
			v.printf("  %s %s\n", v.cs.Faint("head"), "sha256:"+h)
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
	return fmt.Sprintf("%s: %s", text.Plural(v.total, "step"), strings.Join(parts, ", "))
}
