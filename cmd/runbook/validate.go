package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/runbookdev/runbook/schema"
)

type validateOptions struct {
	Format string
	Paths  []string
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
				opts.Paths = []string{a.opts.Dir}
			}
			return a.runValidate(opts)
		}),
	}
	cmd.Flags().StringVar(&opts.Format, "format", "text", "output format: text, json or github")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"text", "json", "github"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func (a *app) runValidate(opts *validateOptions) error {
	switch opts.Format {
	case "text", "json", "github":
	default:
		return exitf(ExitBadInput, "unknown --format %q: use text, json or github", opts.Format)
	}
	files, runbooks, diags := a.validatePaths(opts.Paths)
	switch opts.Format {
	case "json":
		enc := json.NewEncoder(a.io.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(schema.Report(diags, files)); err != nil {
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
