package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
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
	// streamed is set while an action's progress lines are being shown.
	streamed bool
}

func newRunView(w io.Writer) *runView {
	return &runView{w: w, counts: map[string]int{}}
}

func (v *runView) printf(format string, args ...any) {
	fmt.Fprintf(v.w, format, args...)
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
	switch e := visibleEvent(e).(type) {
	case engine.RunStarted:
		v.total, v.started, v.mode, v.runID = len(e.Steps), e.Started, e.Mode, e.RunID
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
	case engine.StepStarted:
		v.printf("\n%s %s %s\n", faint(fmt.Sprintf("[%d/%d]", e.Index, v.total)), bold(e.Name), faint("· "+e.Owner))
		if e.Description != "" {
			v.printf("      %s\n", faint(e.Description))
		}
	case engine.PreconditionChecked:
		line := fmt.Sprintf("      %s requires %s", statusMark(e.Result), e.Condition)
		if e.Message != "" {
			line += ": " + e.Message
		}
		v.printf("%s\n", line)
	case engine.ConfirmationAnswered:
		switch e.Answer {
		case "not asked":
			v.printf("      %s %s\n", cyan("? would ask:"), e.Question)
		case "refused":
			v.printf("      %s %s\n", yellow("? not asked (no terminal, no --yes):"), e.Question)
		default:
			v.printf("      %s %s → %s %s\n", cyan("?"), e.Question, bold(e.Answer), faint("("+e.By+")"))
		}
	case engine.Planned:
		v.printf("      %s %s\n", cyan("◇ plan"), e.Action)
		for _, c := range e.Changes {
			v.printf("        %s\n", c)
		}
	case engine.Progress:
		v.streamed = true
		v.printf("      %s %s\n", faint("│"), e.Line)
	case engine.ActionFinished:
		status := green("✓")
		detail := ""
		if e.Error != "" {
			status = red("✗")
			detail = ": " + e.Error
		}
		attempt := ""
		if e.Attempt > 1 {
			attempt = faint(fmt.Sprintf(" attempt %d", e.Attempt))
		}
		predicted := ""
		if e.Predicted {
			predicted = " " + cyan("predicted") + faint(" (as the planned changes leave it)")
		}
		v.printf("      %s %s %s%s%s%s\n", status, e.Action, faint(formatDuration(e.Duration)), attempt, predicted, detail)
		if e.Error == "" {
			v.printOutput(e.Output)
		}
		v.streamed = false
	case engine.ExpectationChecked:
		line := fmt.Sprintf("      %s expect %s", statusMark(e.Result), e.Condition)
		if e.Message != "" {
			line += ": " + e.Message
		}
		v.printf("%s\n", line)
	case engine.StepFinished:
		v.counts[e.Status]++
		if e.Status == engine.StatusSucceeded && e.Reason == "" {
			return nil
		}
		line := "      " + statusMark(e.Status)
		if e.Reason != "" {
			line += ": " + e.Reason
		}
		v.printf("%s\n", line)
	case engine.RunFinished:
		if e.Plan != nil {
			v.printf("\n")
			printPlanSummary(v.printf, e.Plan)
		}
		v.printf("\n%s in %s · %s\n", statusMark(e.Status), formatDuration(e.Duration), v.summary())
		if e.Reason != "" && e.Status != engine.StatusSucceeded {
			v.printf("  %s\n", e.Reason)
		}
		v.footer()
	case engine.Interrupted:
		v.printf("\n%s", yellow("✗ interrupted"))
		if e.Step != "" {
			v.printf(" during step %s", bold(e.Step))
		}
		v.printf(" after %s · %s\n", formatDuration(e.Duration), v.summary())
		v.footer()
	}
	return nil
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

// printOutput shows an action's output compactly, one line per attribute.
func (v *runView) printOutput(out any) {
	m, ok := out.(map[string]any)
	if !ok || len(m) == 0 {
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if s, ok := m[k].(string); ok && (s == "" || v.streamed && (k == "stdout" || k == "stderr")) {
			// Empty, or already shown line by line as it streamed.
			continue
		}
		v.printf("        %s %s\n", faint(k+":"), compact(m[k], 100))
	}
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
