package validate

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/runbookdev/runbook/cmd/runbook/internal/cmdutil"
	"github.com/runbookdev/runbook/cmd/runbook/internal/resolver"
	"github.com/runbookdev/runbook/cmd/runbook/internal/text"
	"github.com/runbookdev/runbook/engine/exitcode"
	"github.com/runbookdev/runbook/schema"
)

// Options are the inputs of `runbook validate`.
type Options struct {
	*cmdutil.Factory
	Format string
	Paths  []string
	// MaxUnrehearsed reports runbooks with no successful run or dry-run
	// within it (0: not checked); Strict makes that an error.
	MaxUnrehearsed time.Duration
	Strict         bool
}

// NewCmdValidate makes `runbook validate`; runF, when not nil, runs
// instead of the command (for tests of the flags).
func NewCmdValidate(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "validate [PATH...]",
		Short: "Check syntax, schema, references and plugin arguments",
		Long: `Check runbooks without running anything: HCL syntax, unknown blocks and
attributes, owners, duplicate names, references to variables and steps, durations,
and every action's arguments against its plugin's schema. Every problem is
reported, not just the first. PATH may be files or directories (default --dir).

Exit status: 0 when valid (warnings allowed), 2 when anything is invalid.`,
		Args: cmdutil.UsageArgs(cobra.ArbitraryArgs),
		RunE: cmdutil.RunE(func(cmd *cobra.Command, args []string) error {
			paths, err := opts.PathsOrDir(args)
			if err != nil {
				return err
			}
			opts.Paths = paths
			return cmdutil.Run(opts, runF, runValidate)
		}),
	}
	cmd.Flags().StringVar(&opts.Format, "format", "text", "output format: text, json or github")
	cmd.Flags().Var((*daysDuration)(&opts.MaxUnrehearsed), "max-unrehearsed", "report runbooks with no successful run or dry-run within this long (e.g. 90d, 36h), from the transcripts in --state-dir and the transcript store (--store)")
	cmd.Flags().BoolVar(&opts.Strict, "strict", false, "with --max-unrehearsed, an unrehearsed runbook is an error, not a warning")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"text", "json", "github"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func runValidate(opts *Options) error {
	cs := opts.IO.ColorScheme()
	switch opts.Format {
	case "text", "json", "github":
	default:
		return cmdutil.Exitf(exitcode.BadInput, "unknown --format %q: use text, json or github", opts.Format)
	}
	v := validatePaths(opts.Factory, opts.Paths)
	files, runbooks, declared, required, diags := v.files, v.runbooks, v.declared, v.required, v.diags
	if opts.MaxUnrehearsed > 0 {
		d, err := unrehearsed(opts.Factory, declared, required, opts.MaxUnrehearsed, opts.Strict, time.Now())
		if err != nil {
			return err
		}
		diags = append(diags, d...)
		schema.SortDiagnostics(diags)
	}
	switch opts.Format {
	case "json":
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(schema.Report(diags, cmdutil.WithSources(files, diags))); err != nil {
			return err
		}
	case "github":
		writeGitHub(opts.IO.Out, diags)
	default:
		opts.PrintDiagnostics(files, diags)
		errs, warns := countDiags(diags)
		where := strings.Join(opts.Paths, ", ")
		if errs == 0 {
			fmt.Fprintf(opts.IO.Out, "%s %s in %s %s valid%s.\n", cs.Green("✓"), text.Plural(runbooks, "runbook"), where, text.IsAre(runbooks), warningsNote(warns))
		} else {
			fmt.Fprintf(opts.IO.ErrOut, "%s %s, %s in %s.\n", cs.Red("✗"), text.Plural(errs, "error"), text.Plural(warns, "warning"), where)
		}
	}
	if diags.HasErrors() {
		return cmdutil.SilentExit(exitcode.BadInput)
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
	return " (" + text.Plural(n, "warning") + ")"
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
func unrehearsed(f *cmdutil.Factory, declared map[string]hcl.Range, required map[string][]string, max time.Duration, strict bool, now time.Time) (hcl.Diagnostics, error) {
	// With a store, every machine's runs count (docs/store.md).
	exercised, err := f.Exercises(context.Background())
	if err != nil {
		return nil, err
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
			when = "the last was " + text.Ago(now, last)
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

// validation is what validating a set of paths found.
type validation struct {
	files    map[string]*hcl.File
	runbooks int                  // how many were validated
	declared map[string]hcl.Range // each runbook's block
	required map[string][]string  // each runbook's required variables
	diags    hcl.Diagnostics
}

// add counts a loaded set in.
func (v *validation) add(cfg *schema.Config, d hcl.Diagnostics) {
	v.diags = append(v.diags, d...)
	if cfg == nil {
		return
	}
	for name, f := range cfg.Files {
		v.files[name] = f
	}
	v.runbooks += cfg.Validated
	for name, rng := range cfg.Declared {
		if _, ok := v.declared[name]; !ok {
			v.declared[name] = rng
		}
	}
	for _, s := range cfg.Summaries {
		if _, ok := v.required[s.Name]; !ok && cfg.Declared[s.Name] != (hcl.Range{}) {
			v.required[s.Name] = s.Required
		}
	}
}

// validatePaths checks what `validate PATH...` names: each directory is a
// set of its own; the files named directly are checked with their folders.
func validatePaths(f *cmdutil.Factory, paths []string) *validation {
	v := &validation{files: map[string]*hcl.File{}, declared: map[string]hcl.Range{}, required: map[string][]string{}}
	// A file named directly that is also in a named directory is checked
	// once, with its directory.
	inDirs := map[string]bool{}
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			names, _ := schema.ListFiles(p)
			for _, n := range names {
				if abs, err := filepath.Abs(n); err == nil {
					inDirs[abs] = true
				}
			}
		}
	}
	var loose []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			v.diags = append(v.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot read path", Detail: err.Error()})
			continue
		}
		if fi.IsDir() {
			v.add(schema.ValidateDir(p, f.Resolver.LoadOptions(resolver.Locked)))
			continue
		}
		if abs, err := filepath.Abs(p); err == nil && inDirs[abs] {
			continue
		}
		loose = append(loose, filepath.Clean(p))
	}
	byDir := map[string][]string{}
	var dirs []string
	for _, name := range loose {
		dir := filepath.Dir(name)
		if _, ok := byDir[dir]; !ok {
			dirs = append(dirs, dir)
		}
		byDir[dir] = append(byDir[dir], name)
	}
	for _, dir := range dirs {
		v.add(validateNamed(f, dir, byDir[dir]))
	}
	schema.SortDiagnostics(v.diags)
	return v
}

// validateNamed checks files named directly in the context of their
// folder dir: the plugin blocks and runbooks of the files beside them count
// (a plugin configured in plugins.hcl, a test's runbook), but only the
// named files' problems and runbooks are reported.
func validateNamed(f *cmdutil.Factory, dir string, names []string) (*schema.Config, hcl.Diagnostics) {
	named := map[string]bool{}
	set := slices.Clone(names)
	for _, n := range set {
		named[n] = true
	}
	siblings, _ := schema.ListFiles(dir)
	for _, n := range siblings {
		if !named[n] {
			set = append(set, n)
		}
	}
	cfg, d := schema.ValidatePaths(set, f.Resolver.LoadOptions(resolver.Locked))
	d = slices.DeleteFunc(d, func(diag *hcl.Diagnostic) bool {
		return diag.Subject != nil && !named[diag.Subject.Filename]
	})
	if cfg != nil {
		cfg.Validated = 0
		for name, rng := range cfg.Declared {
			if named[rng.Filename] {
				cfg.Validated++
			} else {
				delete(cfg.Declared, name)
			}
		}
	}
	return cfg, d
}
