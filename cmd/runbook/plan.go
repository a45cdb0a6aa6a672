package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/runbookdev/runbook/engine"
	"github.com/runbookdev/runbook/engine/redact"
	"github.com/runbookdev/runbook/engine/transcript"
	"github.com/runbookdev/runbook/plugins/atomicfile"
	"github.com/runbookdev/runbook/plugins/safefile"
)

// checkPlanFlags refuses combinations of exec's flags that make no sense
// with a saved plan.
func (o *execOptions) checkPlanFlags(cmd *cobra.Command, args []string) error {
	switch {
	case o.Plan == "" && len(args) == 0:
		return exitf(ExitBadInput, "exec: name the runbook to run (runbook exec NAME), or give a saved plan with --plan FILE")
	case o.Plan != "" && len(args) > 0:
		return exitf(ExitBadInput, "exec --plan: the plan names its runbook; give no NAME")
	case o.Plan != "" && (len(o.Vars) > 0 || len(o.VarFiles) > 0):
		return exitf(ExitBadInput, "exec --plan: the plan holds its variables; give no --var or --var-file (sensitive ones are asked again, or read from RUNBOOK_VAR_NAME)")
	case o.Plan != "" && (o.DryRun || o.Out != "" || o.Resume != ""):
		return exitf(ExitBadInput, "exec --plan applies a plan: it cannot be combined with --dry-run, --out or --resume")
	case o.Out != "" && !o.DryRun:
		return exitf(ExitBadInput, "exec --out saves the plan of a dry-run: add --dry-run")
	case o.Plan == "" && cmd.Flags().Changed("max-plan-age"):
		return exitf(ExitBadInput, "exec --max-plan-age applies to --plan only")
	}
	return nil
}

// readPlan reads a saved plan file.
func readPlan(path string) (*engine.ApplyPlan, error) {
	b, err := safefile.ReadFile(path, engine.MaxPlanSize)
	if err != nil {
		return nil, exitf(ExitBadInput, "--plan: %s", err)
	}
	p, err := engine.ParsePlan(b)
	if err != nil {
		return nil, exitf(ExitBadInput, "--plan %s: %s", path, err)
	}
	sum := sha256.Sum256(b)
	return &engine.ApplyPlan{Plan: p, SHA256: hex.EncodeToString(sum[:])}, nil
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
		return exitf(ExitRefused, "--plan: the dry-run %s: %s", p.DryRun, err)
	}
	report, err := transcript.Verify(path)
	switch {
	case err != nil:
		return exitf(ExitRefused, "--plan: the transcript of dry-run %s: %s", p.DryRun, err)
	case report.Problem != nil:
		return exitf(ExitRefused, "--plan: the transcript of dry-run %s does not verify (%s); the plan cannot be trusted", p.DryRun, report.Problem)
	case report.Head != p.TranscriptHead:
		return exitf(ExitRefused, "--plan: the plan names transcript head %s for dry-run %s, and its transcript ends at %s: the plan was not made by that dry-run, or was edited", short(p.TranscriptHead), p.DryRun, short(report.Head))
	}
	return nil
}

// savePlan writes a dry-run's plan (exec --dry-run --out), readable by its
// owner only. A rehearsal that did not succeed saves none.
func (a *app) savePlan(path string, res *engine.Result, head string) error {
	if res.Plan == nil || res.ExitCode != 0 {
		fmt.Fprintf(a.io.ErrOut, "No plan saved to %s: the rehearsal did not succeed.\n", path)
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
	fmt.Fprintf(a.io.Out, "\nPlan saved to %s. Review it with `runbook show --plan %s`, apply it with `runbook exec --plan %s`.\n", path, path, path)
	return nil
}

// showPlan prints a saved plan for review: what it will change, against
// what, and with which inputs. It holds no secret to show.
func (a *app) showPlan(path string) error {
	ap, err := readPlan(path)
	if err != nil {
		return err
	}
	p := ap.Plan
	s := &showWriter{w: a.io.Out}
	s.printf("%s %s\n\n", bold("Plan for "+visibleLine(p.Runbook)), faint("sha256:"+short(ap.SHA256)))
	row := func(k, v string) { s.printf("  %-11s %s\n", faint(k), v) }
	age := time.Since(p.Created).Round(time.Second)
	row("made", fmt.Sprintf("%s (%s ago) by %s", p.Created.UTC().Format(time.RFC3339), age, visibleLine(p.Operator)))
	row("dry-run", visibleLine(p.DryRun))
	if p.TranscriptHead != "" {
		row("head", "sha256:"+visibleLine(p.TranscriptHead))
	}
	row("runbook", fmt.Sprintf("%s %s", visibleLine(p.Source.Path), faint("sha256:"+short(p.Source.SHA256))))
	for _, name := range slices.Sorted(maps.Keys(p.Plugins)) {
		pi := p.Plugins[name]
		row("plugin", fmt.Sprintf("%s %s %s", visibleLine(name), visibleLine(pi.Version), faint("sha256:"+short(pi.SHA256))))
	}
	names := slices.Sorted(maps.Keys(p.Vars))
	names = append(names, slices.Sorted(maps.Keys(p.SensitiveVars))...)
	for _, name := range names {
		val := redact.Marker + " (give it again when applying)"
		if raw, ok := p.Vars[name]; ok {
			val = string(raw)
		}
		row("var", visibleLine(name)+" = "+visibleLine(val))
	}
	s.printf("\n")
	printPlanSummary(s.printf, planSummary(p))
	for _, st := range p.Steps {
		if st.Basis == nil {
			s.printf("  %s %s\n", yellow("!"), fmt.Sprintf("step %s is not checked against its object when applied: its plugin gave no basis", visibleLine(st.Step)))
		}
	}
	s.printf("\nApply it with `runbook exec --plan %s` (refused once it is older than --max-plan-age, 1h by default).\n", path)
	return s.err
}

// planSummary is a saved plan's changes as a dry-run's summary shows them.
func planSummary(p *engine.SavedPlan) *engine.PlanSummary {
	sum := &engine.PlanSummary{PendingChecks: p.PendingChecks}
	for _, st := range p.Steps {
		for _, c := range st.Changes {
			sum.Changes = append(sum.Changes, engine.PlannedChange{Step: visibleLine(st.Step), Action: visibleLine(st.Action), Change: visibleLine(c)})
		}
	}
	return sum
}
