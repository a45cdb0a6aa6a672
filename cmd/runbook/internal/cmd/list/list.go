package list

import (
	"context"
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
	// Format is text or json.
	Format string
}

// NewCmdList makes `runbook list`; runF, when not nil, runs instead of the
// command (for tests of the flags).
func NewCmdList(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Factory: f, Now: time.Now}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Catalogue: name, owner, steps, last run, description",
		Args:  cmdutil.UsageArgs(cobra.NoArgs),
		RunE: cmdutil.RunE(func(cmd *cobra.Command, args []string) error {
			return cmdutil.Run(opts, runF, func(o *Options) error { return runList(cmd.Context(), o) })
		}),
	}
	cmdutil.AddFormatFlag(cmd, &opts.Format, "text", "json")
	return cmd
}

func runList(ctx context.Context, opts *Options) error {
	if err := cmdutil.CheckFormat(opts.Format, "text", "json"); err != nil {
		return err
	}
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
	// With a store, every machine's runs count (docs/store.md).
	exercised, err := opts.Exercises(ctx)
	if err != nil {
		return err
	}
	if opts.Format == "json" {
		err = cmdutil.WriteJSON(opts.IO.Out, catalogue(cfg.Summaries, exercised))
	} else {
		err = writeTable(opts, cfg.Summaries, exercised)
	}
	if err != nil {
		return err
	}
	if diags.HasErrors() {
		opts.PrintDiagnostics(cfg.Files, diags)
		return cmdutil.SilentExit(exitcode.BadInput)
	}
	return nil
}

// writeTable writes the catalogue for people.
func writeTable(opts *Options, summaries []schema.RunbookSummary, exercised map[string]*engine.Exercise) error {
	now := opts.Now()
	cs := opts.IO.ColorScheme()
	var t text.Table
	t.Row(cs.Bold("NAME"), cs.Bold("OWNER"), cs.Bold("STEPS"), cs.Bold("LAST RUN"), cs.Bold("LAST DRY-RUN"), cs.Bold("DESCRIPTION"))
	for _, rb := range summaries {
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
	return t.Write(opts.IO.Out, "")
}

// catalogueJSON is `list --format json` (docs/commands.md, "JSON output").
type catalogueJSON struct {
	Runbooks []runbookJSON `json:"runbooks"`
}

type runbookJSON struct {
	Name        string `json:"name"`
	Owner       string `json:"owner"`
	Description string `json:"description"`
	File        string `json:"file"`
	Steps       int    `json:"steps"`
	// Required names the variables without a default.
	Required      []string         `json:"required"`
	LastRun       *cmdutil.RunJSON `json:"last_run"`
	LastDryRun    *cmdutil.RunJSON `json:"last_dry_run"`
	LastSucceeded *time.Time       `json:"last_succeeded"`
}

func catalogue(summaries []schema.RunbookSummary, exercised map[string]*engine.Exercise) catalogueJSON {
	out := catalogueJSON{Runbooks: []runbookJSON{}}
	for _, rb := range summaries {
		j := runbookJSON{Name: rb.Name, Owner: rb.Owner, Description: rb.Description, File: rb.Filename,
			Steps: rb.Steps, Required: append([]string{}, rb.Required...)}
		if e := exercised[rb.Name]; e != nil {
			j.LastRun, j.LastDryRun = cmdutil.RunOf(e.LastRun), cmdutil.RunOf(e.LastDryRun)
			if !e.LastSucceeded.IsZero() {
				t := e.LastSucceeded.UTC()
				j.LastSucceeded = &t
			}
		}
		out.Runbooks = append(out.Runbooks, j)
	}
	return out
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
