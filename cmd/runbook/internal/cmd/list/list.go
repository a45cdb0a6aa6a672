package list

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/runbookdev/runbook/cmd/runbook/internal/cmdutil"
	"github.com/runbookdev/runbook/cmd/runbook/internal/resolver"
	"github.com/runbookdev/runbook/cmd/runbook/internal/text"
	"github.com/runbookdev/runbook/engine"
	"github.com/runbookdev/runbook/engine/exitcode"
	"github.com/runbookdev/runbook/schema"
)

// Options are the inputs of `runbook list`.
type Options struct {
	*cmdutil.Factory
	// Now is when the catalogue is shown, for "2h ago".
	Now func() time.Time
}

// NewCmdList makes `runbook list`; runF, when not nil, runs instead of the
// command (for tests of the flags).
func NewCmdList(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Factory: f, Now: time.Now}
	return &cobra.Command{
		Use:   "list",
		Short: "Catalogue: name, owner, steps, last run, description",
		Args:  cmdutil.UsageArgs(cobra.NoArgs),
		RunE: cmdutil.RunE(func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runList(opts)
		}),
	}
}

func runList(opts *Options) error {
	now := opts.Now()
	cs := opts.IO.ColorScheme()
	if err := opts.NeedDir(); err != nil {
		return err
	}
	// The catalogue needs no syntax trees: validate's streaming load keeps
	// a summary of each runbook and drops the rest.
	cfg, diags := schema.ValidateDir(opts.Global.Dir, opts.Resolver.LoadOptions(resolver.Locked))
	if cfg == nil {
		opts.PrintDiagnostics(nil, diags)
		return cmdutil.SilentExit(exitcode.BadInput)
	}
	exercised, err := engine.Exercises(opts.Global.StateDir)
	if err != nil {
		return fmt.Errorf("read transcripts in %s: %w", opts.Global.StateDir, err)
	}
	var t text.Table
	t.Row(cs.Bold("NAME"), cs.Bold("OWNER"), cs.Bold("STEPS"), cs.Bold("LAST RUN"), cs.Bold("LAST DRY-RUN"), cs.Bold("DESCRIPTION"))
	for _, rb := range cfg.Summaries {
		lastRun, lastDry := cs.Faint("never"), cs.Faint("never")
		if e := exercised[rb.Name]; e != nil {
			if e.LastRun != nil {
				lastRun = runCell(now, e.LastRun)
			}
			if e.LastDryRun != nil {
				lastDry = runCell(now, e.LastDryRun)
			}
		}
		t.Row(text.VisibleLine(rb.Name), text.VisibleLine(rb.Owner), strconv.Itoa(rb.Steps), lastRun, lastDry, text.VisibleLine(firstLine(rb.Description)))
	}
	if err := t.Write(opts.IO.Out, ""); err != nil {
		return err
	}
	if diags.HasErrors() {
		opts.PrintDiagnostics(cfg.Files, diags)
		return cmdutil.SilentExit(exitcode.BadInput)
	}
	return nil
}

// runCell is a run in a table cell: when, how it ended, who ran it.
func runCell(now time.Time, s *engine.RunSummary) string {
	who, _, _ := strings.Cut(s.Operator, "@")
	cell := fmt.Sprintf("%s (%s", text.Ago(now, s.Started), s.Status)
	if who != "" {
		cell += ", " + who
	}
	// The status and operator come from a transcript: shown, not obeyed.
	return text.VisibleLine(cell + ")")
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
