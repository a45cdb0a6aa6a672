package exec

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/runbookdev/runbook/cmd/runbook/internal/cmdutil"
	"github.com/runbookdev/runbook/cmd/runbook/internal/text"
	"github.com/runbookdev/runbook/engine"
	"github.com/runbookdev/runbook/engine/exitcode"
	"github.com/runbookdev/runbook/engine/transcript"
	"github.com/runbookdev/runbook/plugins/atomicfile"
)

// checkPlanFlags refuses combinations of exec's flags that make no sense
// with a saved plan.
func (o *Options) checkPlanFlags(cmd *cobra.Command, args []string) error {
	switch {
	case o.Plan == "" && len(args) == 0:
		return cmdutil.Exitf(exitcode.BadInput, "exec: name the runbook to run (runbook exec NAME), or give a saved plan with --plan FILE")
	case o.Plan != "" && len(args) > 0:
		return cmdutil.Exitf(exitcode.BadInput, "exec --plan: the plan names its runbook; give no NAME")
	case o.Plan != "" && (len(o.Vars) > 0 || len(o.VarFiles) > 0):
		return cmdutil.Exitf(exitcode.BadInput, "exec --plan: the plan holds its variables; give no --var or --var-file (sensitive ones are asked again, or read from RUNBOOK_VAR_NAME)")
	case o.Plan != "" && (o.DryRun || o.Out != "" || o.Resume != ""):
		return cmdutil.Exitf(exitcode.BadInput, "exec --plan applies a plan: it cannot be combined with --dry-run, --out or --resume")
	case o.Out != "" && !o.DryRun:
		return cmdutil.Exitf(exitcode.BadInput, "exec --out saves the plan of a dry-run: add --dry-run")
	case o.Plan == "" && cmd.Flags().Changed("max-plan-age"):
		return cmdutil.Exitf(exitcode.BadInput, "exec --max-plan-age applies to --plan only")
	}
	return nil
}

// checkDryRun compares a plan with the transcript of the dry-run that made
// it, when that transcript is under the state dir (a plan applied on
// another machine has none there): it must verify, and its last event must
// be the one the plan names.
func checkDryRun(stateDir string, p *engine.SavedPlan) error {
	path, err := transcript.Find(transcript.Dir(stateDir), p.DryRun)
	if errors.Is(err, transcript.ErrNotFound) || (err == nil && p.TranscriptHead == "") {
		return nil
	}
	if err != nil {
		return cmdutil.Exitf(exitcode.Refused, "--plan: the dry-run %s: %s", p.DryRun, err)
	}
	report, err := transcript.Verify(path)
	switch {
	case err != nil:
		return cmdutil.Exitf(exitcode.Refused, "--plan: the transcript of dry-run %s: %s", p.DryRun, err)
	case report.Problem != nil:
		return cmdutil.Exitf(exitcode.Refused, "--plan: the transcript of dry-run %s does not verify (%s); the plan cannot be trusted", p.DryRun, report.Problem)
	case report.Head != p.TranscriptHead:
		return cmdutil.Exitf(exitcode.Refused, "--plan: the plan names transcript head %s for dry-run %s, and its transcript ends at %s: the plan was not made by that dry-run, or was edited", text.Short(p.TranscriptHead), p.DryRun, text.Short(report.Head))
	}
	return nil
}

// savePlan writes a dry-run's plan (exec --dry-run --out), readable by its
// owner only; nothing without --out. A rehearsal that did not succeed
// saves none.
func savePlan(opts *Options, res *engine.Result, head string) error {
	path := opts.Out
	if path == "" {
		return nil
	}
	if res.Plan == nil || res.ExitCode != 0 {
		fmt.Fprintf(opts.IO.ErrOut, "No plan saved to %s: the rehearsal did not succeed.\n", path)
		return nil
	}
	res.Plan.TranscriptHead = head
	b, err := json.MarshalIndent(res.Plan, "", "  ")
	if err != nil {
		return fmt.Errorf("saving the plan: %w", err)
	}
	// An older file keeps its mode when replaced: make it private first.
	if fi, err := os.Lstat(path); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm() != 0o600 {
		if err := os.Chmod(path, 0o600); err != nil {
			return fmt.Errorf("saving the plan: %w", err)
		}
	}
	if err := atomicfile.Write(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("saving the plan: %w", err)
	}
	fmt.Fprintf(opts.IO.Out, "\nPlan saved to %s. Review it with `runbook show --plan %s`, apply it with `runbook exec --plan %s`.\n", path, path, path)
	return nil
}
