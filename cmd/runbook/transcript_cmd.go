package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/runbookdev/runbook/engine"
	"github.com/runbookdev/runbook/engine/redact"
	"github.com/runbookdev/runbook/engine/transcript"
	"github.com/runbookdev/runbook/schema"
)

func (a *app) transcriptCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "transcript",
		Short: "List, show and verify the transcripts of runs",
		Long: `Every exec (dry-runs included) records a transcript: one JSON Lines file per run
under <state-dir>/transcripts, each event chained to the one before by SHA-256.
Commands that take an ID accept the run id or a unique prefix of it.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return exitf(ExitBadInput, "transcript: missing subcommand: list, show ID or verify ID\nRun 'runbook transcript --help' for usage.")
		},
	}
	cmd.AddCommand(a.transcriptListCmd(), a.transcriptShowCmd(), a.transcriptVerifyCmd())
	return cmd
}

func (a *app) transcriptDir() string { return transcript.Dir(a.opts.StateDir) }

// findTranscript resolves a run id or unique prefix; an unknown or
// ambiguous one is bad input.
func (a *app) findTranscript(id string) (string, error) {
	path, err := transcript.Find(a.transcriptDir(), id)
	if errors.Is(err, transcript.ErrNotFound) {
		return "", exitf(ExitBadInput, "%s\nRun 'runbook transcript list' for the recorded runs.", err)
	}
	if errors.Is(err, transcript.ErrAmbiguous) {
		return "", exitf(ExitBadInput, "%s\nGive more of the run id.", err)
	}
	return path, err
}

// completeRunIDs completes a run id from the recorded transcripts.
func (a *app) completeRunIDs(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	runs, _ := transcript.List(a.transcriptDir())
	var out []cobra.Completion
	for _, r := range runs {
		if strings.HasPrefix(r.RunID, toComplete) {
			out = append(out, cobra.CompletionWithDesc(r.RunID, r.Runbook+" "+r.Status))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

func runIDOf(path string) string { return strings.TrimSuffix(filepath.Base(path), ".jsonl") }

func (a *app) transcriptListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "Recorded runs, newest first",
		Args:  usageArgs(cobra.NoArgs),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return a.runTranscriptList()
		}),
	}
}

func (a *app) runTranscriptList() error {
	runs, err := transcript.List(a.transcriptDir())
	if err != nil {
		return err
	}
	if len(runs) == 0 {
		fmt.Fprintf(a.io.ErrOut, "No runs recorded in %s.\n", a.transcriptDir())
		return nil
	}
	var t table
	t.row(bold("RUN ID"), bold("RUNBOOK"), bold("MODE"), bold("OPERATOR"), bold("STARTED"), bold("STATUS"), bold("DURATION"))
	for _, r := range runs {
		t.row(visible(r.RunID), visibleLine(r.Runbook), orDash(visibleLine(r.Mode)), orDash(visibleLine(r.Operator)), formatTime(r.Started), statusWord(visibleLine(r.Status)), formatDuration(r.Duration))
	}
	return t.write(a.io.Out, "")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// formatTime shows a transcript time in UTC, as it is recorded.
func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z07:00") }

func (a *app) transcriptShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "show ID",
		Short:             "Show a run's transcript as a person reads it",
		Args:              usageArgs(cobra.ExactArgs(1)),
		ValidArgsFunction: a.completeRunIDs,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			path, err := a.findTranscript(args[0])
			if err != nil {
				return err
			}
			tr, err := transcript.Read(path)
			if err != nil {
				return exitf(ExitFailed, "%s\nRun 'runbook transcript verify %s' to check it.", err, runIDOf(path))
			}
			report, err := transcript.Verify(path)
			if err != nil {
				return err
			}
			visibleTranscript(tr)
			if err := renderTranscript(a.io.Out, tr, report); err != nil {
				return err
			}
			if report.Problem != nil {
				return silentExit(ExitFailed)
			}
			return nil
		}),
	}
}

type verifyOptions struct {
	ID     string
	Repair bool
	// Head is the head hash printed at the end of the run, kept elsewhere.
	Head            string
	AllowIncomplete bool
}

func (a *app) transcriptVerifyCmd() *cobra.Command {
	opts := &verifyOptions{}
	cmd := &cobra.Command{
		Use:   "verify ID",
		Short: "Check a transcript's hash chain",
		Long: `Check that every record of a run's transcript is intact: seq counts up from 1,
each record names the hash of the one before, and each hash matches its record.
Exit 0 when intact; 1 naming the first bad record when not. A last line left
incomplete by a crash is reported as such; --repair truncates it, when every
record before it verifies.

A transcript that does not end with run_finished or interrupted is incomplete
(a crash, a run in progress, or lines cut from its end): exit 1 unless
--allow-incomplete. The chain alone does not prove that nothing was cut or
rewritten, since whoever can write the file can re-chain it: --head checks the
transcript against the head hash printed at the end of the run, kept elsewhere
(a ticket, a chat message, CI logs).`,
		Args:              usageArgs(cobra.ExactArgs(1)),
		ValidArgsFunction: a.completeRunIDs,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			opts.ID = args[0]
			return a.runTranscriptVerify(opts)
		}),
	}
	cmd.Flags().BoolVar(&opts.Repair, "repair", false, "truncate a torn last line left by a crash")
	cmd.Flags().StringVar(&opts.Head, "head", "", "the head hash printed at the end of the run (sha256:HEX): the transcript must end with it")
	cmd.Flags().BoolVar(&opts.AllowIncomplete, "allow-incomplete", false, "exit 0 for a transcript without run_finished or interrupted")
	return cmd
}

func (a *app) runTranscriptVerify(opts *verifyOptions) error {
	head := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(opts.Head), "sha256:"))
	if opts.Head != "" && !schema.IsSHA256(head) {
		return exitf(ExitBadInput, "--head %q: want the head printed at the end of the run, sha256: and 64 hex digits", opts.Head)
	}
	path, err := a.findTranscript(opts.ID)
	if err != nil {
		return err
	}
	id := runIDOf(path)
	var r *transcript.Report
	if opts.Repair {
		before, err := transcript.Verify(path)
		if err != nil {
			return err
		}
		r, err = transcript.Repair(path)
		switch {
		case errors.Is(err, transcript.ErrRunning):
			return exitf(ExitRefused, "transcript %s is still being written by its run; not repairing it", id)
		case errors.Is(err, transcript.ErrTampered):
			// Reported below; the file is left as it is, as evidence.
		case err != nil:
			return err
		}
		if err == nil && before.Torn != nil {
			fmt.Fprintf(a.io.Out, "repaired: removed the torn last line %d (%s)\n", before.Torn.Line, plural(before.Torn.Bytes, "byte"))
		}
	} else if r, err = transcript.Verify(path); err != nil {
		return err
	}
	switch {
	case r.Problem != nil:
		msg := fmt.Sprintf("transcript %s fails verification: %s", id, r.Problem)
		if r.Torn != nil {
			msg += fmt.Sprintf("\nand its last line (line %d) is torn", r.Torn.Line)
		}
		if opts.Repair {
			msg += "\nNot repaired: the file is left as it is."
		}
		return exitf(ExitFailed, "%s", msg)
	case r.Torn != nil:
		fmt.Fprintf(a.io.Out, "%s before it verify, head sha256:%s\n", plural(r.Events, "event"), r.Head)
		if transcript.Running(path) {
			return exitf(ExitFailed, "transcript %s: line %d is being written: the run is still in progress", id, r.Torn.Line)
		}
		return exitf(ExitFailed, "transcript %s: line %d: torn last line (a crash mid-write?); run with --repair to truncate it", id, r.Torn.Line)
	}
	fmt.Fprintf(a.io.Out, "intact: %s, head sha256:%s\n", plural(r.Events, "event"), r.Head)
	if head != "" {
		switch n := r.LineOf(head); {
		case n == 0:
			return exitf(ExitFailed, "transcript %s does not hold the head sha256:%s: it was cut short or rewritten, or it is another run's", id, head)
		case n < r.Events:
			return exitf(ExitFailed, "transcript %s goes on after the head sha256:%s (line %d): %s were added after it", id, head, n, plural(r.Events-n, "record"))
		}
		fmt.Fprintln(a.io.Out, "ends with the head given: nothing was cut or rewritten")
	}
	if r.Finished {
		return nil
	}
	why := "no run_finished or interrupted record: the run did not end (it crashed), or lines were cut from its end"
	if transcript.Running(path) {
		why = "no run_finished yet: the run is still in progress"
	}
	if opts.AllowIncomplete {
		fmt.Fprintf(a.io.Out, "incomplete: %s\n", why)
		return nil
	}
	return exitf(ExitFailed, "transcript %s is incomplete: %s (--allow-incomplete accepts it)", id, why)
}

// transcriptView renders a transcript for people.
type transcriptView struct {
	w   io.Writer
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
	return eventLines{printf: v.printf, replay: true, unverified: v.unverified}
}

func (v *transcriptView) printf(format string, args ...any) {
	if v.err == nil {
		_, v.err = fmt.Fprintf(v.w, format, args...)
	}
}

func (v *transcriptView) field(indent, name, value string) {
	v.printf("%s%s %s\n", indent, faint(fmt.Sprintf("%-9s", name)), value)
}

func renderTranscript(w io.Writer, tr *transcript.Transcript, report *transcript.Report) error {
	id := runIDOf(tr.Path)
	v := &transcriptView{w: w, id: id, unverified: report.Problem != nil}
	if v.unverified {
		v.printf("%s\n%s\n\n", red("✗ This transcript fails verification: "+report.Problem.Error()+"."),
			red("  Any record below may have been changed after it was written; none of it is evidence."))
	}
	if rs, err := tr.RunStarted(); err == nil {
		v.at = tr.Events[0].Time
		_ = v.Handle(rs)
	} else {
		v.printf("%s %s\n", bold("run "+id), yellow("(no run_started record)"))
	}

	steps := tr.Steps()
	if len(steps) > 0 {
		v.printf("\n%s\n", bold("Steps"))
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
		v.printf("%s\n", yellow("… unfinished: no run_finished record (the run crashed, is still running, or the file was cut short)"))
	} else if rec, _, err := end.Record(); err != nil {
		v.printf("%s\n", v.generic(end))
	} else {
		_ = v.Handle(rec)
	}
	if tr.Torn != nil {
		v.printf("%s\n", yellow(fmt.Sprintf("  the last line is torn (%s; a crash mid-write?)", plural(len(tr.Torn), "byte"))))
	}
	v.field("  ", "run", id)
	if head := tr.Head(); head != "" {
		v.field("  ", "head", "sha256:"+head)
	}
	v.field("  ", "chain", chainText(report))
	return v.err
}

func (v *transcriptView) renderHeader(rs transcript.RunStarted) {
	title := bold(rs.Runbook) + " " + faint("run "+v.id)
	if rs.Mode == engine.ModeDryRun {
		title += yellow(" (dry-run: nothing was changed)")
	}
	v.printf("%s\n\n", title)
	v.field("  ", "mode", rs.Mode)
	v.field("  ", "operator", rs.Operator)
	v.field("  ", "started", formatTime(v.at))
	v.field("  ", "version", rs.Version)
	src := rs.Source.Path
	if rs.Source.SHA256 != "" {
		src += faint(" (sha256 " + short(rs.Source.SHA256) + ")")
	}
	v.field("  ", "source", src)
	if len(rs.Plugins) > 0 {
		names := slices.Sorted(maps.Keys(rs.Plugins))
		for i, n := range names {
			p := rs.Plugins[n]
			text := n + " " + p.Version
			if p.SHA256 != "" {
				text += faint(" (sha256 " + short(p.SHA256) + ")")
			}
			label := ""
			if i == 0 {
				label = "plugins"
			}
			v.field("  ", label, text)
		}
	}
	if rs.Lock != "" {
		v.field("  ", "lock", rs.Lock)
	}
	if rs.Resumes != "" {
		v.field("  ", "resumes", rs.Resumes)
	}
	if rs.Plan != nil {
		v.field("  ", "applies plan", "sha256:"+short(rs.Plan.SHA256)+faint(" of dry-run "+rs.Plan.DryRun))
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
	title := bold(fmt.Sprintf("%d. %s", n, s.Name))
	var ref transcript.StepRef
	if r, ok, err := s.Events[0].Record(); ok && err == nil {
		if sr, ok := r.(interface{ Ref() transcript.StepRef }); ok {
			ref = sr.Ref()
		}
	}
	if ref.Index > 0 {
		title = bold(fmt.Sprintf("%d. %s", ref.Index, s.Name))
	}
	if ref.Owner != "" {
		title += " " + faint("· "+ref.Owner)
	}
	v.printf("\n  %s %s\n", title, faint(s.Events[0].Time.UTC().Format("15:04:05Z07:00")))
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
		v.printf("%s%s\n", in, yellow("? "+transcript.StepStatusUnknown+": no step_finished record (the run stopped during this step)"))
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
			v.printf("%s%s %s\n", v.lines().indent(), faint("manual:"), r.Manual)
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
		parts = append(parts, k+"="+compact(decodeJSON(e.Fields[k]), 60))
	}
	return faint("• "+e.Type) + " " + strings.Join(parts, " ")
}

func (v *transcriptView) interrupted(r transcript.Interrupted) {
	line := yellow("✗ interrupted")
	if r.Step != "" {
		line += " during step " + bold(r.Step)
	}
	if r.Signal != "" {
		line += " (" + r.Signal + ")"
	}
	v.printf("%s after %s\n", line, formatDuration(time.Duration(r.Duration)))
}

func (v *transcriptView) runFinished(r transcript.RunFinished) {
	if r.Plan != nil {
		printPlanSummary(v.printf, r.Plan)
		v.printf("\n")
	}
	v.printf("%s (exit %d) in %s\n", v.mark(r.Status), r.ExitCode, formatDuration(time.Duration(r.Duration)))
	if r.Reason != "" && r.Status != engine.StatusSucceeded {
		v.printf("  %s\n", r.Reason)
	}
}

func chainText(r *transcript.Report) string {
	switch {
	case r.Problem != nil:
		return red("✗ fails verification: " + visible(r.Problem.Error()))
	case r.Torn != nil:
		return yellow(fmt.Sprintf("%s intact, then a torn last line", plural(r.Events, "event")))
	}
	return green("✓ intact") + ", " + plural(r.Events, "event")
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
	return compact(val, 100)
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

func short(hash string) string {
	if len(hash) > 12 {
		return hash[:12] + "…"
	}
	return hash
}
