package view

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/runbookdev/runbook/cmd/runbook/internal/iostreams"
	"github.com/runbookdev/runbook/cmd/runbook/internal/text"
	"github.com/runbookdev/runbook/engine"
	"github.com/runbookdev/runbook/engine/redact"
	"github.com/runbookdev/runbook/engine/transcript"
)

// transcriptView renders a transcript for people.
type transcriptView struct {
	w   io.Writer
	cs  *iostreams.ColorScheme
	err error
	// needed is the approvals the last approval request wanted.
	needed int
	// agent is set in an agent's run.
	agent bool
	// unverified is set when the chain does not verify: nothing recorded
	// is shown as a success, since any record may have been changed.
	unverified bool
	// id is the run's; at is the time of the record being shown.
	id string
	at time.Time
	// finished is set once the step being shown has its step_finished.
	finished bool
}

var _, _ engine.Hook = (*transcriptView)(nil), (*runView)(nil)

// mark is statusMark, except that a transcript that fails verification
// shows no success as one.
func (v *transcriptView) mark(status string) string { return v.lines().mark(status) }

// lines renders the events transcript show shares with the live view.
func (v *transcriptView) lines() eventLines {
	return eventLines{cs: v.cs, printf: v.printf, replay: true, unverified: v.unverified, agent: v.agent}
}

func (v *transcriptView) printf(format string, args ...any) {
	if v.err == nil {
		_, v.err = fmt.Fprintf(v.w, format, args...)
	}
}

func (v *transcriptView) field(indent, name, value string) {
	v.printf("%s%s %s\n", indent, v.cs.Faint(fmt.Sprintf("%-9s", name)), value)
}

func RenderTranscript(w io.Writer, cs *iostreams.ColorScheme, tr *transcript.Transcript, report *transcript.Report) error {
	id := RunIDOf(tr.Path)
	v := &transcriptView{w: w, cs: cs, id: id, unverified: report.Problem != nil}
	if v.unverified {
		v.printf("%s\n%s\n\n", cs.Red("✗ This transcript fails verification: "+report.Problem.Error()+"."),
			cs.Red("  Any record below may have been changed after it was written; none of it is evidence."))
	}
	if rs, err := tr.RunStarted(); err == nil {
		v.at = tr.Events[0].Time
		_ = v.Handle(rs)
	} else {
		v.printf("%s %s\n", cs.Bold("run "+id), cs.Yellow("(no run_started record)"))
	}

	steps := tr.Steps()
	if len(steps) > 0 {
		v.printf("\n%s\n", cs.Bold("Steps"))
	}
	for i, s := range steps {
		v.renderStep(i+1, s)
	}
	for _, e := range tr.Events {
		if e.Has("step") || e.Type == transcript.TypeRunStarted || e.Type == transcript.TypeRunFinished || e.Type == transcript.TypeInterrupted {
			continue
		}
		if !v.notification(e) {
			v.printf("\n  %s\n", v.generic(e))
		}
	}
	v.printf("\n")
	if end, ok := tr.End(); !ok {
		v.printf("%s\n", cs.Yellow("… unfinished: no run_finished record (the run crashed, is still running, or the file was cut short)"))
	} else if rec, _, err := end.Record(); err != nil {
		v.printf("%s\n", v.generic(end))
	} else {
		_ = v.Handle(rec)
	}
	if tr.Torn != nil {
		v.printf("%s\n", cs.Yellow(fmt.Sprintf("  the last line is torn (%s; a crash mid-write?)", text.Plural(len(tr.Torn), "byte"))))
	}
	v.field("  ", "run", id)
	if head := tr.Head(); head != "" {
		v.field("  ", "head", "sha256:"+head)
	}
	v.field("  ", "chain", ChainText(cs, report))
	return v.err
}

func (v *transcriptView) renderHeader(rs transcript.RunStarted) {
	v.agent = strings.HasPrefix(rs.Operator, engine.AgentPrefix)
	title := v.cs.Bold(rs.Runbook) + " " + v.cs.Faint("run "+v.id)
	if rs.Mode == engine.ModeDryRun {
		title += v.cs.Yellow(" (dry-run: nothing was changed)")
	}
	v.printf("%s\n\n", title)
	v.field("  ", "mode", rs.Mode)
	v.field("  ", "operator", rs.Operator)
	if id := rs.Identity; id != nil {
		v.field("  ", "identity", text.Visible(id.Principal)+v.cs.Faint(" (signed with "+text.Visible(id.Fingerprint)+")"))
	} else if rs.Mode == engine.ModeRun {
		v.field("  ", "identity", v.cs.Faint("unverified"))
	}
	if rs.TraceID != "" {
		v.field("  ", "trace", text.VisibleLine(rs.TraceID))
	}
	v.field("  ", "started", text.FormatTime(v.at))
	v.field("  ", "version", rs.Version)
	src := rs.Source.Path
	if rs.Source.SHA256 != "" {
		src += v.cs.Faint(" (sha256 " + text.Short(rs.Source.SHA256) + ")")
	}
	v.field("  ", "source", src)
	if len(rs.Plugins) > 0 {
		names := slices.Sorted(maps.Keys(rs.Plugins))
		for i, n := range names {
			p := rs.Plugins[n]
			line := n + " " + p.Version
			if p.SHA256 != "" {
				line += v.cs.Faint(" (sha256 " + text.Short(p.SHA256) + ")")
			}
			label := ""
			if i == 0 {
				label = "plugins"
			}
			v.field("  ", label, line)
		}
	}
	if rs.Lock != "" {
		v.field("  ", "lock", rs.Lock)
	}
	if rs.Resumes != "" {
		v.field("  ", "resumes", rs.Resumes)
	}
	if rs.Plan != nil {
		v.field("  ", "applies plan", "sha256:"+text.Short(rs.Plan.SHA256)+v.cs.Faint(" of dry-run "+rs.Plan.DryRun))
	}
	for i, n := range slices.Sorted(maps.Keys(rs.Vars)) {
		label := ""
		if i == 0 {
			label = "vars"
		}
		v.field("  ", label, n+" = "+literal(rs.Vars[n]))
	}
}

func (v *transcriptView) renderStep(n int, s *transcript.StepRecord) {
	v.stepHeading(n, s.Name, s.Events[0])
	v.finished = false
	for _, e := range s.Events {
		v.stepEvent(e)
	}
	if !v.finished {
		v.printf("%s%s\n", stepIndent, v.cs.Yellow("? "+transcript.StepStatusUnknown+": no step_finished record (the run stopped during this step)"))
	}
}

// stepIndent is the indent of a step's lines.
const stepIndent = "       "

// stepEvent renders one event of a step.
func (v *transcriptView) stepEvent(e transcript.Event) {
	rec, ok, err := e.Record()
	if !ok || err != nil {
		v.printf("%s%s\n", stepIndent, v.generic(e))
		return
	}
	_ = v.Handle(rec)
}

// stepHeading renders the title of step n, name, whose first event is
// first.
func (v *transcriptView) stepHeading(n int, name string, first transcript.Event) {
	title := v.cs.Bold(fmt.Sprintf("%d. %s", n, name))
	var ref transcript.StepRef
	if r, ok, err := first.Record(); ok && err == nil {
		if sr, ok := r.(interface{ Ref() transcript.StepRef }); ok {
			ref = sr.Ref()
		}
	}
	if ref.Index > 0 {
		title = v.cs.Bold(fmt.Sprintf("%d. %s", ref.Index, name))
	}
	if ref.Owner != "" {
		title += " " + v.cs.Faint("· "+ref.Owner)
	}
	v.printf("\n  %s %s\n", title, v.cs.Faint(first.Time.UTC().Format("15:04:05Z07:00")))
}

// Follower renders a run event by event, as they arrive (`transcript
// follow`), in the layout of `transcript show`: the header, each step with
// its events, then how the run ended.
type Follower struct {
	v     *transcriptView
	step  string
	steps int
	ended bool
}

// NewFollower renders the events of run runID to w.
func NewFollower(w io.Writer, cs *iostreams.ColorScheme, runID string) *Follower {
	return &Follower{v: &transcriptView{w: w, cs: cs, id: runID}}
}

// Ended reports whether the run's final event was rendered.
func (f *Follower) Ended() bool { return f.ended }

// Event renders the run's next event; the error is the writer's.
func (f *Follower) Event(e transcript.Event) error {
	visibleRecorded(&e)
	v := f.v
	v.at = e.Time
	switch {
	case e.Type == transcript.TypeRunStarted:
		if rec, ok, err := e.Record(); ok && err == nil {
			_ = v.Handle(rec)
		} else {
			v.printf("%s\n", v.generic(e))
		}
	case e.Type == transcript.TypeRunFinished || e.Type == transcript.TypeInterrupted:
		v.printf("\n")
		if rec, ok, err := e.Record(); ok && err == nil {
			_ = v.Handle(rec)
		} else {
			v.printf("%s\n", v.generic(e))
		}
		v.field("  ", "run", f.v.id)
		v.field("  ", "head", "sha256:"+e.Hash)
		f.ended = true
	case e.Has("step"):
		if name := e.Step(); name != f.step || f.steps == 0 {
			if f.steps == 0 {
				v.printf("\n%s\n", v.cs.Bold("Steps"))
			}
			f.steps++
			f.step = name
			v.finished = false
			v.stepHeading(f.steps, name, e)
		}
		v.stepEvent(e)
	default:
		if !v.notification(e) {
			v.printf("\n  %s\n", v.generic(e))
		}
	}
	return v.err
}

// notification shows a notification record; false when e is not one that
// reads back.
func (v *transcriptView) notification(e transcript.Event) bool {
	if e.Type != transcript.TypeNotification {
		return false
	}
	rec, ok, err := e.Record()
	if !ok || err != nil {
		return false
	}
	_ = v.Handle(rec)
	return true
}

// Handle implements engine.Hook, as the live view does: transcript show
// replays the records of a transcript through it.
func (v *transcriptView) Handle(e engine.Event) error {
	switch r := e.(type) {
	case transcript.RunStarted:
		v.renderHeader(r)
	case transcript.RunFinished:
		v.runFinished(r)
	case transcript.Interrupted:
		v.interrupted(r)
	case transcript.StepStarted:
		if r.Manual != "" {
			v.printf("%s%s %s\n", v.lines().indent(), v.cs.Faint("manual:"), r.Manual)
		}
	case transcript.PreconditionChecked:
		v.lines().check("requires", r.Condition, r.Result, r.Message, 0)
	case transcript.ExpectationChecked:
		v.lines().check("expect", r.Condition, r.Result, r.Message, r.Check)
	case transcript.ConfirmationAnswered:
		v.lines().confirmation(r)
	case transcript.Planned:
		v.lines().plan(r)
	case transcript.ApprovalRequested:
		v.needed = r.Needed
		v.lines().approvalRequest(r, v.id)
	case transcript.ApprovalAnswered:
		v.lines().approval(r, v.needed)
	case transcript.ActionFinished:
		v.lines().action(r, false)
	case transcript.StepFinished:
		v.finished = true
		v.lines().stepFinished(r)
	case transcript.Notification:
		v.lines().notification(r)
	}
	return v.err
}

// generic renders an event this view has no layout for: its type and
// fields, compactly.
func (v *transcriptView) generic(e transcript.Event) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(e.Fields)) {
		if k == "step" || k == "index" || k == "owner" {
			continue
		}
		parts = append(parts, k+"="+text.Compact(decodeJSON(e.Fields[k]), 60))
	}
	return v.cs.Faint("• "+e.Type) + " " + strings.Join(parts, " ")
}

func (v *transcriptView) interrupted(r transcript.Interrupted) {
	line := v.cs.Yellow("✗ interrupted")
	if r.Step != "" {
		line += " during step " + v.cs.Bold(r.Step)
	}
	if r.Signal != "" {
		line += " (" + r.Signal + ")"
	}
	v.printf("%s after %s\n", line, text.FormatDuration(time.Duration(r.Duration)))
}

func (v *transcriptView) runFinished(r transcript.RunFinished) {
	if r.Plan != nil {
		PrintPlanSummary(v.cs, v.printf, r.Plan)
		v.printf("\n")
	}
	v.printf("%s (exit %d) in %s\n", v.mark(r.Status), r.ExitCode, text.FormatDuration(time.Duration(r.Duration)))
	if r.Reason != "" && r.Status != engine.StatusSucceeded {
		v.printf("  %s\n", r.Reason)
	}
}

func ChainText(cs *iostreams.ColorScheme, r *transcript.Report) string {
	switch {
	case r.Problem != nil:
		return cs.Red("✗ fails verification: " + text.Visible(r.Problem.Error()))
	case r.Torn != nil:
		return cs.Yellow(fmt.Sprintf("%s intact, then a torn last line", text.Plural(r.Events, "event")))
	}
	return cs.Green("✓ intact") + ", " + text.Plural(r.Events, "event")
}

// literal renders a recorded value as HCL would write it; the sensitive
// marker stays bare so it reads as what it is.
func literal(raw json.RawMessage) string {
	val := decodeJSON(raw)
	if s, ok := val.(string); ok {
		if s == redact.Marker {
			return s
		}
		return strconv.Quote(s)
	}
	return text.Compact(val, 100)
}

// decodeJSON decodes a value keeping numbers as written.
func decodeJSON(raw json.RawMessage) any {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return string(raw)
	}
	return v
}

// RunIDOf is the run id of a transcript file: its name without .jsonl.
func RunIDOf(path string) string { return strings.TrimSuffix(filepath.Base(path), ".jsonl") }
