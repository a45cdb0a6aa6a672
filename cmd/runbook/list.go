package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/runbookdev/runbook/engine"
	"github.com/runbookdev/runbook/schema"
)

func (a *app) listCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "Catalogue: name, owner, steps, last run, description",
		Args:  usageArgs(cobra.NoArgs),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return a.runList(time.Now())
		}),
	}
}

func (a *app) runList(now time.Time) error {
	if err := a.needDir(); err != nil {
		return err
	}
	// The catalogue needs no syntax trees: validate's streaming load keeps
	// a summary of each runbook and drops the rest.
	cfg, diags := schema.ValidateDir(a.opts.Dir, a.loadOptions(lockedSchemas))
	if cfg == nil {
		a.printDiagnostics(nil, diags)
		return silentExit(ExitBadInput)
	}
	exercised, err := engine.Exercises(a.opts.StateDir)
	if err != nil {
		return fmt.Errorf("read transcripts in %s: %w", a.opts.StateDir, err)
	}
	var t table
	t.row(bold("NAME"), bold("OWNER"), bold("STEPS"), bold("LAST RUN"), bold("LAST DRY-RUN"), bold("DESCRIPTION"))
	for _, rb := range cfg.Summaries {
		lastRun, lastDry := faint("never"), faint("never")
		if e := exercised[rb.Name]; e != nil {
			if e.LastRun != nil {
				lastRun = runCell(now, e.LastRun)
			}
			if e.LastDryRun != nil {
				lastDry = runCell(now, e.LastDryRun)
			}
		}
		t.row(visibleLine(rb.Name), visibleLine(rb.Owner), strconv.Itoa(rb.Steps), lastRun, lastDry, visibleLine(firstLine(rb.Description)))
	}
	if err := t.write(a.io.Out, ""); err != nil {
		return err
	}
	if diags.HasErrors() {
		a.printDiagnostics(cfg.Files, diags)
		return silentExit(ExitBadInput)
	}
	return nil
}

// runCell is a run in a table cell: when, how it ended, who ran it.
func runCell(now time.Time, s *engine.RunSummary) string {
	who, _, _ := strings.Cut(s.Operator, "@")
	cell := fmt.Sprintf("%s (%s", ago(now, s.Started), s.Status)
	if who != "" {
		cell += ", " + who
	}
	// The status and operator come from a transcript: shown, not obeyed.
	return visibleLine(cell + ")")
}

// ago renders how long ago t was, coarsely, as people say it.
func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	default:
		return fmt.Sprintf("%dd ago", int(d.Hours()/24))
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
