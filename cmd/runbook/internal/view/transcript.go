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
	return eventLines{cs: v.cs, printf: v.printf, replay: true, unverified: v.unverified}
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
		if !e.Has("step") && e.Type != transcript.TypeRunStarted && e.Type != transcript.TypeRunFinished && e.Type != transcript.TypeInterrupted {
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
	title := v.cs.Bold(rs.Runbook) + " " + v.cs.Faint("run "+v.id)
	if rs.Mode == engine.ModeDryRun {
		title += v.cs.Yellow(" (dry-run: nothing was changed)")
	}
	v.printf("%s\n\n", title)
	v.field("  ", "mode", rs.Mode)
	v.field("  ", "operator", rs.Operator)
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
	title := v.cs.Bold(fmt.Sprintf("%d. %s", n, s.Name))
	var ref transcript.StepRef
	if r, ok, err := s.Events[0].Record(); ok && err == nil {
		if sr, ok := r.(interface{ Ref() transcript.StepRef }); ok {
			ref = sr.Ref()
		}
	}
	if ref.Index > 0 {
		title = v.cs.Bold(fmt.Sprintf("%d. %s", ref.Index, s.Name))
	}
	if ref.Owner != "" {
		title += " " + v.cs.Faint("· "+ref.Owner)
	}
	v.printf("\n  %s %s\n", title, v.cs.Faint(s.Events[0].Time.UTC().Format("15:04:05Z07:00")))
	const in = "       "
	v.finished = false
	for _, e := range s.Events {
		rec, ok, err := e.Record()
		if !ok || err != nil {
			v.printf("%s%s\n", in, v.generic(e))
			continue
		}
		_ = v.Handle(rec)
	}
	if !v.finished {
		v.printf("%s%s\n", in, v.cs.Yellow("? "+transcript.StepStatusUnknown+": no step_finished record (the run stopped during this step)"))
	}
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
	case transcript.ActionFinished:
		v.lines().action(r, false)
	case transcript.StepFinished:
		v.finished = true
		v.lines().stepFinished(r)
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
