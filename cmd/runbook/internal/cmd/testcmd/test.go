package testcmd

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/runbookdev/runbook/cmd/runbook/internal/cmdutil"
	"github.com/runbookdev/runbook/cmd/runbook/internal/iostreams"
	"github.com/runbookdev/runbook/cmd/runbook/internal/resolver"
	"github.com/runbookdev/runbook/cmd/runbook/internal/text"
	"github.com/runbookdev/runbook/engine/exitcode"
	"github.com/runbookdev/runbook/engine/scenario"
	"github.com/runbookdev/runbook/schema"
)

// Options are the inputs of `runbook test`.
type Options struct {
	*cmdutil.Factory
	Paths  []string
	Run    string
	Format string
}

// NewCmdTest makes `runbook test`; runF, when not nil, runs instead of the command
// (for tests of the flags).
func NewCmdTest(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "test [PATH...]",
		Short: "Run the test blocks of *.test.hcl files against mocked plugins",
		Long: `Run every test "NAME" { … } block of the *.test.hcl files in --dir (or the PATHs
given: folders, or test files): the runbook it names runs with its variables,
every action answered by its mocks (nothing real runs), confirmations answered
from its answers, on a virtual clock (a ten-minute within takes no time); then
the run's status, each step's status and the number of calls are compared with
what the test expects.

Exit status: 0 when every test passes, 1 when any fails, 2 when a test file or
runbook is invalid.`,
		Args: cmdutil.UsageArgs(cobra.ArbitraryArgs),
		RunE: cmdutil.RunE(func(cmd *cobra.Command, args []string) error {
			paths, err := opts.PathsOrDir(args)
			if err != nil {
				return err
			}
			opts.Paths = paths
			return cmdutil.Run(opts, runF, func(o *Options) error { return runTests(cmd.Context(), o) })
		}),
	}
	cmd.Flags().StringVar(&opts.Run, "run", "", "run only the tests whose name matches this regular expression")
	cmd.Flags().StringVar(&opts.Format, "format", "text", "output format: text or junit")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"text", "junit"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func runTests(ctx context.Context, opts *Options) error {
	if opts.Format != "text" && opts.Format != "junit" {
		return cmdutil.Exitf(exitcode.BadInput, "unknown --format %q: use text or junit", opts.Format)
	}
	var filter *regexp.Regexp
	if opts.Run != "" {
		re, err := regexp.Compile(opts.Run)
		if err != nil {
			return cmdutil.Exitf(exitcode.BadInput, "--run: %s", err)
		}
		filter = re
	}
	if ctx == nil {
		ctx = context.Background()
	}

	var results []*scenario.TestResult
	for _, p := range opts.Paths {
		rs, err := runPath(ctx, opts, p, filter)
		if err != nil {
			return err
		}
		results = append(results, rs...)
	}

	failed := 0
	for _, r := range results {
		if !r.Passed {
			failed++
		}
	}
	if opts.Format == "junit" {
		if err := writeJUnit(opts.IO.Out, results); err != nil {
			return err
		}
	} else {
		writeTestText(opts.IO.Out, opts.IO.ColorScheme(), results)
	}
	if failed > 0 {
		return cmdutil.SilentExit(exitcode.Failed)
	}
	return nil
}

func writeTestText(w io.Writer, cs *iostreams.ColorScheme, results []*scenario.TestResult) {
	if len(results) == 0 {
		fmt.Fprintln(w, cs.Faint("no tests found"))
		return
	}
	failed := 0
	for _, r := range results {
		mark := cs.Green("PASS")
		if !r.Passed {
			mark = cs.Red("FAIL")
			failed++
		}
		fmt.Fprintf(w, "%s  %s %s %s %s\n", mark, r.Test.Runbook, cs.Faint("·"), r.Test.Name, cs.Faint("("+text.FormatDuration(r.Elapsed)+")"))
		for _, f := range r.Failures {
			fmt.Fprintf(w, "      %s\n", f)
		}
		if !r.Passed {
			fmt.Fprintf(w, "      %s\n", cs.Faint(fmt.Sprintf("test at %s:%d", r.Test.Filename, r.Test.DeclRange.Start.Line)))
		}
	}
	if failed == 0 {
		fmt.Fprintf(w, "%s %s passed\n", cs.Green("✓"), text.Plural(len(results), "test"))
	} else {
		fmt.Fprintf(w, "%s %d of %s failed\n", cs.Red("✗"), failed, text.Plural(len(results), "test"))
	}
}

type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Body    string `xml:",chardata"`
}

// writeJUnit writes JUnit XML, one suite per runbook, for CI systems.
func writeJUnit(w io.Writer, results []*scenario.TestResult) error {
	var suites []junitSuite
	index := map[string]int{}
	for _, r := range results {
		i, ok := index[r.Test.Runbook]
		if !ok {
			i = len(suites)
			index[r.Test.Runbook] = i
			suites = append(suites, junitSuite{Name: r.Test.Runbook})
		}
		s := &suites[i]
		c := junitCase{Name: r.Test.Name, Classname: r.Test.Runbook, File: r.Test.Filename, Time: seconds(r.Elapsed)}
		if !r.Passed {
			c.Failure = &junitFailure{Message: r.Failures[0], Body: strings.Join(r.Failures, "\n")}
			s.Failures++
		}
		s.Tests++
		s.Cases = append(s.Cases, c)
	}
	for i := range suites {
		var total time.Duration
		for _, r := range results {
			if r.Test.Runbook == suites[i].Name {
				total += r.Elapsed
			}
		}
		suites[i].Time = seconds(total)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(junitSuites{Suites: suites}); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// runPath runs the tests of one PATH: a folder's test files, or one test
// file in the context of its folder.
func runPath(ctx context.Context, opts *Options, p string, filter *regexp.Regexp) ([]*scenario.TestResult, error) {
	var results []*scenario.TestResult
	fi, err := os.Stat(p)
	if err != nil {
		return nil, cmdutil.Exitf(exitcode.BadInput, "%s", err)
	}
	dir, only := p, ""
	if !fi.IsDir() {
		if !schema.IsTestFile(p) {
			return nil, cmdutil.Exitf(exitcode.BadInput, "%s is not a test file (*.test.hcl)", p)
		}
		dir, only = filepath.Dir(p), filepath.Clean(p)
	}
	cfg, diags := schema.LoadDir(dir, opts.Resolver.LoadOptions(resolver.Locked))
	if diags.HasErrors() {
		var files map[string]*hcl.File
		if cfg != nil {
			files = cfg.Files
		}
		opts.PrintDiagnostics(files, diags)
		return nil, cmdutil.SilentExit(exitcode.BadInput)
	}
	for _, tc := range cfg.Tests {
		if only != "" && filepath.Clean(tc.Filename) != only {
			continue
		}
		if filter != nil && !filter.MatchString(tc.Name) {
			continue
		}
		results = append(results, scenario.RunTest(ctx, cfg, tc))
	}
	return results, nil
}
