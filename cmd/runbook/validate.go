package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/runbookdev/runbook/engine"
	"github.com/runbookdev/runbook/schema"
)

type validateOptions struct {
	Format string
	Paths  []string
	// MaxUnrehearsed reports runbooks with no successful run or dry-run
	// within it (0: not checked); Strict makes that an error.
	MaxUnrehearsed time.Duration
	Strict         bool
}

func (a *app) validateCmd() *cobra.Command {
	opts := &validateOptions{}
	cmd := &cobra.Command{
		Use:   "validate [PATH...]",
		Short: "Check syntax, schema, references and plugin arguments",
		Long: `Check runbooks without running anything: HCL syntax, unknown blocks and
attributes, owners, duplicate names, references to variables and steps, durations,
and every action's arguments against its plugin's schema. Every problem is
reported, not just the first. PATH may be files or directories (default --dir).

Exit status: 0 when valid (warnings allowed), 2 when anything is invalid.`,
		Args: usageArgs(cobra.ArbitraryArgs),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			opts.Paths = args
			if len(opts.Paths) == 0 {
				if err := a.needDir(); err != nil {
					return err
				}
				opts.Paths = []string{a.opts.Dir}
			}
			return a.runValidate(opts)
		}),
	}
	cmd.Flags().StringVar(&opts.Format, "format", "text", "output format: text, json or github")
	cmd.Flags().Var((*daysDuration)(&opts.MaxUnrehearsed), "max-unrehearsed", "report runbooks with no successful run or dry-run within this long (e.g. 90d, 36h), from the transcripts in --state-dir")
	cmd.Flags().BoolVar(&opts.Strict, "strict", false, "with --max-unrehearsed, an unrehearsed runbook is an error, not a warning")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"text", "json", "github"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func (a *app) runValidate(opts *validateOptions) error {
	switch opts.Format {
	case "text", "json", "github":
	default:
		return exitf(ExitBadInput, "unknown --format %q: use text, json or github", opts.Format)
	}
	v := a.validatePaths(opts.Paths)
	files, runbooks, declared, required, diags := v.files, v.runbooks, v.declared, v.required, v.diags
	if opts.MaxUnrehearsed > 0 {
		d, err := a.unrehearsed(declared, required, opts.MaxUnrehearsed, opts.Strict, time.Now())
		if err != nil {
			return err
		}
		diags = append(diags, d...)
		schema.SortDiagnostics(diags)
	}
	switch opts.Format {
	case "json":
		enc := json.NewEncoder(a.io.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(schema.Report(diags, withSources(files, diags))); err != nil {
			return err
		}
	case "github":
		writeGitHub(a.io.Out, diags)
	default:
		a.printDiagnostics(files, diags)
		errs, warns := countDiags(diags)
		where := strings.Join(opts.Paths, ", ")
		if errs == 0 {
			fmt.Fprintf(a.io.Out, "%s %s in %s %s valid%s.\n", green("✓"), plural(runbooks, "runbook"), where, isAre(runbooks), warningsNote(warns))
		} else {
			fmt.Fprintf(a.io.ErrOut, "%s %s, %s in %s.\n", red("✗"), plural(errs, "error"), plural(warns, "warning"), where)
		}
	}
	if diags.HasErrors() {
		return silentExit(ExitBadInput)
	}
	return nil
}

func countDiags(diags hcl.Diagnostics) (errs, warns int) {
	for _, d := range diags {
		if d.Severity == hcl.DiagWarning {
			warns++
		} else {
			errs++
		}
	}
	return errs, warns
}

func warningsNote(n int) string {
	if n == 0 {
		return ""
	}
	return " (" + plural(n, "warning") + ")"
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// writeGitHub prints one GitHub Actions workflow command per problem, so
// that CI annotates the lines of the pull request.
func writeGitHub(w io.Writer, diags hcl.Diagnostics) {
	for _, d := range diags {
		kind := "error"
		if d.Severity == hcl.DiagWarning {
			kind = "warning"
		}
		msg := d.Summary
		if d.Detail != "" {
			msg += ": " + d.Detail
		}
		if d.Subject == nil {
			fmt.Fprintf(w, "::%s::%s\n", kind, ghEscapeData(msg))
			continue
		}
		fmt.Fprintf(w, "::%s file=%s,line=%d,col=%d::%s\n", kind,
			ghEscapeProperty(d.Subject.Filename), d.Subject.Start.Line, d.Subject.Start.Column, ghEscapeData(msg))
	}
}

// GitHub's workflow-command escaping: data escapes %, CR and LF; property
// values also escape ':' and ','.
func ghEscapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func ghEscapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// unrehearsed reports each runbook with no successful run or dry-run within
// max, so CI keeps the procedures exercised.
func (a *app) unrehearsed(declared map[string]hcl.Range, required map[string][]string, max time.Duration, strict bool, now time.Time) (hcl.Diagnostics, error) {
	exercised, err := engine.Exercises(a.opts.StateDir)
	if err != nil {
		return nil, fmt.Errorf("read transcripts in %s: %w", a.opts.StateDir, err)
	}
	severity := hcl.DiagWarning
	if strict {
		severity = hcl.DiagError
	}
	var diags hcl.Diagnostics
	for _, name := range slices.Sorted(maps.Keys(declared)) {
		last := time.Time{}
		if e := exercised[name]; e != nil {
			last = e.LastSucceeded
		}
		if !last.IsZero() && now.Sub(last) <= max {
			continue
		}
		when := "it never has"
		if !last.IsZero() {
			when = "the last was " + ago(now, last)
		}
		rng := declared[name]
		diags = append(diags, &hcl.Diagnostic{
			Severity: severity,
			Summary:  "Runbook not rehearsed",
			Detail:   fmt.Sprintf("Runbook %q has not run or been rehearsed successfully in the last %s (%s). Rehearse it: %s", name, formatDays(max), when, rehearseCommand(name, required[name])),
			Subject:  &rng,
		})
	}
	return diags, nil
}

// daysDuration is a duration flag that also takes days: 90d.
type daysDuration time.Duration

func (d *daysDuration) String() string { return formatDays(time.Duration(*d)) }

func (d *daysDuration) Set(s string) error {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days <= 0 {
			return fmt.Errorf("%q: give a number of days (90d) or a duration (36h)", s)
		}
		*d = daysDuration(time.Duration(days) * 24 * time.Hour)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v <= 0 {
		return fmt.Errorf("%q: give a number of days (90d) or a duration (36h)", s)
	}
	*d = daysDuration(v)
	return nil
}

func (d *daysDuration) Type() string { return "duration" }

func formatDays(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

// rehearseCommand is the dry-run command line of a runbook, with a --var
// placeholder for each variable it requires (else the command would stop
// asking for them).
func rehearseCommand(name string, required []string) string {
	cmd := "runbook exec " + name
	for _, v := range required {
		cmd += " --var " + v + "=…"
	}
	return cmd + " --dry-run"
}
