package transcriptcmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/runbookdev/runbook/cmd/runbook/internal/cmdutil"
	"github.com/runbookdev/runbook/cmd/runbook/internal/text"
	"github.com/runbookdev/runbook/cmd/runbook/internal/view"
	"github.com/runbookdev/runbook/engine/exitcode"
	"github.com/runbookdev/runbook/engine/store"
	"github.com/runbookdev/runbook/engine/transcript"
	"github.com/runbookdev/runbook/schema"
)

// NewCmdTranscript makes `runbook transcript` and its subcommands.
func NewCmdTranscript(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "transcript",
		Short: "List, show and verify the transcripts of runs",
		Long: `Every exec (dry-runs included) records a transcript: one JSON Lines file per run
under <state-dir>/transcripts, each event chained to the one before by SHA-256.
Commands that take an ID accept the run id or a unique prefix of it. With a
transcript store (--store, docs/store.md) they read every machine's runs.`,
		Args: cmdutil.UsageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmdutil.Exitf(exitcode.BadInput, "transcript: missing subcommand: list, show ID, verify ID, push [ID...], follow ID or export ID\nRun 'runbook transcript --help' for usage.")
		},
	}
	cmd.AddCommand(NewCmdList(f, nil), NewCmdShow(f, nil), NewCmdVerify(f, nil), NewCmdPush(f, nil), NewCmdFollow(f, nil), NewCmdExport(f, nil))
	return cmd
}

// findTranscript resolves a run id or unique prefix; an unknown or
// ambiguous one is bad input.
func findTranscript(f *cmdutil.Factory, id string) (string, error) {
	path, err := transcript.Find(transcript.Dir(f.Global.StateDir), id)
	if errors.Is(err, transcript.ErrNotFound) {
		return "", cmdutil.Exitf(exitcode.BadInput, "%s\nRun 'runbook transcript list' for the recorded runs.", err)
	}
	if errors.Is(err, transcript.ErrAmbiguous) {
		return "", cmdutil.Exitf(exitcode.BadInput, "%s\nGive more of the run id.", err)
	}
	return path, err
}

// completeRunIDs completes a run id from the recorded transcripts.
func completeRunIDs(f *cmdutil.Factory) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return runIDs(f, args, toComplete)
	}
}

func runIDs(f *cmdutil.Factory, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	runs, _ := transcript.List(transcript.Dir(f.Global.StateDir))
	var out []cobra.Completion
	for _, r := range runs {
		if strings.HasPrefix(r.RunID, toComplete) {
			out = append(out, cobra.CompletionWithDesc(r.RunID, r.Runbook+" "+r.Status))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// ListOptions are the inputs of `runbook transcript list`.
type ListOptions struct {
	*cmdutil.Factory
	// Format is text or json.
	Format string
	// Runbook, Operator, Status and Since filter the runs.
	Runbook, Operator, Status, Since string
}

// NewCmdList makes `runbook transcript list`; runF, when not nil, runs
// instead of the command (for tests of the flags).
func NewCmdList(f *cmdutil.Factory, runF func(*ListOptions) error) *cobra.Command {
	opts := &ListOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Recorded runs, newest first",
		Args:  cmdutil.UsageArgs(cobra.NoArgs),
		RunE: cmdutil.RunE(func(cmd *cobra.Command, args []string) error {
			return cmdutil.Run(opts, runF, func(o *ListOptions) error { return runList(cmd.Context(), o) })
		}),
	}
	cmdutil.AddFormatFlag(cmd, &opts.Format, "text", "json")
	fl := cmd.Flags()
	fl.StringVar(&opts.Runbook, "runbook", "", "only the runs of this runbook")
	fl.StringVar(&opts.Operator, "operator", "", "only the runs of this operator, as recorded (user@host)")
	fl.StringVar(&opts.Status, "status", "", "only the runs that ended so: succeeded, failed, interrupted, running, …")
	fl.StringVar(&opts.Since, "since", "", "only the runs started since: a duration back from now (24h, 7d) or a date (2026-12-01)")
	return cmd
}

func runList(ctx context.Context, opts *ListOptions) error {
	if err := cmdutil.CheckFormat(opts.Format, "text", "json"); err != nil {
		return err
	}
	since, err := parseSince(time.Now(), opts.Since)
	if err != nil {
		return err
	}
	cs := opts.IO.ColorScheme()
	runs, stored, err := listRuns(ctx, opts.Factory, runFilter{Runbook: opts.Runbook, Operator: opts.Operator, Status: opts.Status, Since: since})
	if err != nil {
		return err
	}
	if opts.Format == "json" {
		out := runsJSON{Runs: []runJSON{}}
		for i := range runs {
			out.Runs = append(out.Runs, runJSON{RunJSON: cmdutil.RunOf(&runs[i].Summary), LocalOnly: runs[i].LocalOnly})
		}
		return cmdutil.WriteJSON(opts.IO.Out, out)
	}
	if len(runs) == 0 {
		where := transcript.Dir(opts.Global.StateDir)
		if stored {
			where += " nor in the transcript store"
		}
		fmt.Fprintf(opts.IO.ErrOut, "No runs recorded in %s.\n", where)
		return nil
	}
	var t text.Table
	head := []string{cs.Bold("RUN ID"), cs.Bold("RUNBOOK"), cs.Bold("MODE"), cs.Bold("OPERATOR"), cs.Bold("STARTED"), cs.Bold("STATUS"), cs.Bold("DURATION")}
	if stored {
		head = append(head, cs.Bold("STORE"))
	}
	t.Row(head...)
	for _, r := range runs {
		row := []string{text.Visible(r.RunID), text.VisibleLine(r.Runbook), text.OrDash(text.VisibleLine(r.Mode)), text.OrDash(text.VisibleLine(r.Operator)), text.FormatTime(r.Started), view.StatusWord(cs, text.VisibleLine(r.Status)), text.FormatDuration(r.Duration)}
		if stored {
			where := "stored"
			if r.LocalOnly {
				where = cs.Yellow("local only")
			}
			row = append(row, where)
		}
		t.Row(row...)
	}
	return t.Write(opts.IO.Out, "")
}

// runsJSON is `transcript list --format json` (docs/commands.md, "JSON
// output"), newest first.
type runsJSON struct {
	Runs []runJSON `json:"runs"`
}

// runJSON is a run of `transcript list --format json`; local_only marks,
// with a store, a local run the store does not have yet.
type runJSON struct {
	*cmdutil.RunJSON
	LocalOnly bool `json:"local_only,omitempty"`
}

// ShowOptions are the inputs of `runbook transcript show`.
type ShowOptions struct {
	*cmdutil.Factory
	ID string
	// Format is text or json.
	Format string
}

// NewCmdShow makes `runbook transcript show`; runF, when not nil, runs
// instead of the command (for tests of the flags).
func NewCmdShow(f *cmdutil.Factory, runF func(*ShowOptions) error) *cobra.Command {
	opts := &ShowOptions{Factory: f}
	cmd := &cobra.Command{
		Use:               "show ID",
		Short:             "Show a run's transcript as a person reads it",
		Args:              cmdutil.UsageArgs(cobra.ExactArgs(1)),
		ValidArgsFunction: completeRunIDs(f),
		RunE: cmdutil.RunE(func(cmd *cobra.Command, args []string) error {
			opts.ID = args[0]
			return cmdutil.Run(opts, runF, func(o *ShowOptions) error { return runShow(cmd.Context(), o) })
		}),
	}
	cmdutil.AddFormatFlag(cmd, &opts.Format, "text", "json")
	return cmd
}

func runShow(ctx context.Context, opts *ShowOptions) error {
	if err := cmdutil.CheckFormat(opts.Format, "text", "json"); err != nil {
		return err
	}
	loc, err := locate(ctx, opts.Factory, opts.ID)
	if err != nil {
		return err
	}
	path, shownPath := loc.Path, loc.Path
	if path == "" {
		// Not here: the run's stored lines, read as a local file is.
		var cleanup func()
		if path, cleanup, err = readStored(ctx, loc.Store, loc.RunID); err != nil {
			return err
		}
		defer cleanup()
		shownPath = loc.Store.Service() + "/" + transcript.FileName(loc.RunID)
	}
	tr, err := transcript.Read(path)
	if err != nil {
		return cmdutil.Exitf(exitcode.Failed, "%s\nRun 'runbook transcript verify %s' to check it.", err, view.RunIDOf(path))
	}
	report, err := transcript.Verify(path)
	if err != nil {
		return err
	}
	tr.Path = shownPath
	if opts.Format == "json" {
		if err := cmdutil.WriteJSON(opts.IO.Out, transcriptJSONOf(tr, report)); err != nil {
			return err
		}
	} else {
		view.VisibleTranscript(tr)
		if err := view.RenderTranscript(opts.IO.Out, opts.IO.ColorScheme(), tr, report); err != nil {
			return err
		}
	}
	if report.Problem != nil {
		return cmdutil.SilentExit(exitcode.Failed)
	}
	return nil
}

// VerifyOptions are the inputs of `runbook transcript verify`.
type VerifyOptions struct {
	*cmdutil.Factory
	ID     string
	Repair bool
	// Head is the head hash printed at the end of the run, kept elsewhere.
	Head            string
	AllowIncomplete bool
}

// NewCmdVerify makes `runbook transcript verify`; runF, when not nil, runs
// instead of the command (for tests of the flags).
func NewCmdVerify(f *cmdutil.Factory, runF func(*VerifyOptions) error) *cobra.Command {
	opts := &VerifyOptions{Factory: f}
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
		Args:              cmdutil.UsageArgs(cobra.ExactArgs(1)),
		ValidArgsFunction: completeRunIDs(f),
		RunE: cmdutil.RunE(func(cmd *cobra.Command, args []string) error {
			opts.ID = args[0]
			return cmdutil.Run(opts, runF, func(o *VerifyOptions) error { return runVerify(cmd.Context(), o) })
		}),
	}
	cmd.Flags().BoolVar(&opts.Repair, "repair", false, "truncate a torn last line left by a crash")
	cmd.Flags().StringVar(&opts.Head, "head", "", "the head hash printed at the end of the run (sha256:HEX): the transcript must end with it")
	cmd.Flags().BoolVar(&opts.AllowIncomplete, "allow-incomplete", false, "exit 0 for a transcript without run_finished or interrupted")
	return cmd
}

func runVerify(ctx context.Context, opts *VerifyOptions) error {
	head := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(opts.Head), "sha256:"))
	if opts.Head != "" && !schema.IsSHA256(head) {
		return cmdutil.Exitf(exitcode.BadInput, "--head %q: want the head printed at the end of the run, sha256: and 64 hex digits", opts.Head)
	}
	loc, err := locate(ctx, opts.Factory, opts.ID)
	if err != nil {
		return err
	}
	if loc.Store == nil {
		return verifyFile(opts, loc.Path, head)
	}
	if loc.Path == "" {
		// Only in the store: its rows, then its chain as a file's.
		if opts.Repair {
			return cmdutil.Exitf(exitcode.BadInput, "--repair: run %s has no local transcript to repair; the stored one is never changed", loc.RunID)
		}
		if err := verifyStored(ctx, opts, loc, nil); err != nil {
			return err
		}
		path, cleanup, err := readStored(ctx, loc.Store, loc.RunID)
		if err != nil {
			return err
		}
		defer cleanup()
		return verifyFile(opts, path, head)
	}
	fileErr := verifyFile(opts, loc.Path, head)
	tr, err := transcript.Read(loc.Path)
	if err != nil {
		return errors.Join(fileErr, err)
	}
	if err := verifyStored(ctx, opts, loc, tr); err != nil {
		if fileErr != nil {
			fmt.Fprintf(opts.IO.ErrOut, "runbook: %s\n", text.Visible(fileErr.Error()))
		}
		return err
	}
	return fileErr
}

// verifyStored checks the stored chain of the run and, given its local
// transcript, compares the two (docs/store.md, "Verifying"): a stored row
// that does not verify, an event that differs or one only in the store is
// exit 1; events only in the local transcript are not shipped yet.
func verifyStored(ctx context.Context, opts *VerifyOptions, loc *located, local *transcript.Transcript) error {
	c, err := loc.Store.Verify(ctx, loc.RunID, local)
	if errors.Is(err, store.ErrNotFound) {
		if local == nil {
			return storedNotFound(loc.Store, loc.RunID)
		}
		fmt.Fprintf(opts.IO.Out, "store: run %s is not in the transcript store; runbook transcript push %s ships it\n", loc.RunID, loc.RunID)
		return nil
	}
	if err != nil {
		return err
	}
	if c.Problem != nil {
		return cmdutil.Exitf(exitcode.Failed, "the stored run %s in %s fails verification: stored row %s\nThe store's copy was changed after it was stored.", loc.RunID, loc.Store.Service(), c.Problem)
	}
	var bad []string
	for _, d := range c.Differences {
		if d.Kind == store.DiffLocalOnly {
			fmt.Fprintf(opts.IO.Out, "store: %s (not shipped yet: runbook transcript push %s ships them)\n", d, loc.RunID)
			continue
		}
		bad = append(bad, d.String())
	}
	if len(bad) > 0 {
		return cmdutil.Exitf(exitcode.Failed, "the stored run %s in %s differs from the local transcript: %s", loc.RunID, loc.Store.Service(), strings.Join(bad, "; "))
	}
	if local != nil && len(c.Differences) == 0 {
		fmt.Fprintf(opts.IO.Out, "store: intact, %s, equal to the local transcript, head sha256:%s\n", text.Plural(int(c.Stored), "event"), c.Head)
	} else {
		fmt.Fprintf(opts.IO.Out, "store: intact, %s, head sha256:%s\n", text.Plural(int(c.Stored), "event"), c.Head)
	}
	return nil
}

// verifyFile verifies the transcript at path, as `transcript verify` does
// without a store.
func verifyFile(opts *VerifyOptions, path, head string) error {
	id := view.RunIDOf(path)
	r, err := verifyOrRepair(opts, path, id)
	if err != nil {
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
		return cmdutil.Exitf(exitcode.Failed, "%s", msg)
	case r.Torn != nil:
		fmt.Fprintf(opts.IO.Out, "%s before it verify, head sha256:%s\n", text.Plural(r.Events, "event"), r.Head)
		if transcript.Running(path) {
			return cmdutil.Exitf(exitcode.Failed, "transcript %s: line %d is being written: the run is still in progress", id, r.Torn.Line)
		}
		return cmdutil.Exitf(exitcode.Failed, "transcript %s: line %d: torn last line (a crash mid-write?); run with --repair to truncate it", id, r.Torn.Line)
	}
	fmt.Fprintf(opts.IO.Out, "intact: %s, head sha256:%s\n", text.Plural(r.Events, "event"), r.Head)
	if err := verifySignatures(opts, path, id); err != nil {
		return err
	}
	if head != "" {
		switch n := r.LineOf(head); {
		case n == 0:
			return cmdutil.Exitf(exitcode.Failed, "transcript %s does not hold the head sha256:%s: it was cut short or rewritten, or it is another run's", id, head)
		case n < r.Events:
			return cmdutil.Exitf(exitcode.Failed, "transcript %s goes on after the head sha256:%s (line %d): %s were added after it", id, head, n, text.Plural(r.Events-n, "record"))
		}
		fmt.Fprintln(opts.IO.Out, "ends with the head given: nothing was cut or rewritten")
	}
	if r.Finished {
		return nil
	}
	why := "no run_finished or interrupted record: the run did not end (it crashed), or lines were cut from its end"
	if transcript.Running(path) {
		why = "no run_finished yet: the run is still in progress"
	}
	if opts.AllowIncomplete {
		fmt.Fprintf(opts.IO.Out, "incomplete: %s\n", why)
		return nil
	}
	return cmdutil.Exitf(exitcode.Failed, "transcript %s is incomplete: %s (--allow-incomplete accepts it)", id, why)
}

// verifyOrRepair verifies the transcript at path and, with --repair,
// truncates a torn last line when everything before it verifies.
func verifyOrRepair(opts *VerifyOptions, path, id string) (*transcript.Report, error) {
	if !opts.Repair {
		return transcript.Verify(path)
	}
	before, err := transcript.Verify(path)
	if err != nil {
		return nil, err
	}
	r, err := transcript.Repair(path)
	switch {
	case errors.Is(err, transcript.ErrRunning):
		return nil, cmdutil.Exitf(exitcode.Refused, "transcript %s is still being written by its run; not repairing it", id)
	case errors.Is(err, transcript.ErrTampered):
		// Reported by the caller; the file is left as it is, as evidence.
		return r, nil
	case err != nil:
		return nil, err
	}
	if before.Torn != nil {
		fmt.Fprintf(opts.IO.Out, "repaired: removed the torn last line %d (%s)\n", before.Torn.Line, text.Plural(before.Torn.Bytes, "byte"))
	}
	return r, nil
}

// transcriptJSON is `transcript show --format json` (docs/commands.md,
// "JSON output"): the state of the chain and every event as recorded
// (docs/transcript.md). A transcript that fails verification is written
// too, with chain.intact false, and the command exits 1.
type transcriptJSON struct {
	RunID  string            `json:"run_id"`
	Path   string            `json:"path"`
	Chain  chainJSON         `json:"chain"`
	Events []json.RawMessage `json:"events"`
}

type chainJSON struct {
	Intact bool `json:"intact"`
	// Problem says why the chain does not verify; "" when it does.
	Problem string `json:"problem"`
	// Events counts the events that verify; Head is the hash of the last.
	Events int    `json:"events"`
	Head   string `json:"head"`
	// Torn is set when the last line is incomplete (a crash mid-write);
	// Finished when the run's last event ends it.
	Torn     bool `json:"torn"`
	Finished bool `json:"finished"`
}

func transcriptJSONOf(tr *transcript.Transcript, r *transcript.Report) transcriptJSON {
	out := transcriptJSON{RunID: view.RunIDOf(tr.Path), Path: tr.Path, Events: []json.RawMessage{},
		Chain: chainJSON{Intact: r.Problem == nil, Events: r.Events, Head: r.Head, Torn: r.Torn != nil, Finished: r.Finished}}
	if r.Problem != nil {
		out.Chain.Problem = r.Problem.Error()
	}
	for _, e := range tr.Events {
		if json.Valid(e.Raw) {
			out.Events = append(out.Events, json.RawMessage(e.Raw))
		}
	}
	return out
}

// verifySignatures checks the signatures the transcript holds (the
// operator's over its start, each approval's): each must verify over what
// its record says, by the key it names (docs/approvals.md).
func verifySignatures(opts *VerifyOptions, path, id string) error {
	tr, err := transcript.Read(path)
	if err != nil {
		return err
	}
	sigs := tr.Signatures()
	if len(sigs) == 0 {
		return nil
	}
	var bad []string
	for _, s := range sigs {
		if s.Err != nil {
			bad = append(bad, s.Err.Error())
			continue
		}
		fmt.Fprintf(opts.IO.Out, "signed: %s by %s (%s)\n", s.What, text.Visible(s.Principal), s.Key)
	}
	if len(bad) > 0 {
		return cmdutil.Exitf(exitcode.Failed, "transcript %s: %s", id, text.Visible(strings.Join(bad, "\n")))
	}
	return nil
}
