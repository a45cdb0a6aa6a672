package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/fatih/color"
	"github.com/spf13/cobra"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/builtin"
	"github.com/runbookdev/runbook/schema"

	"github.com/runbookdev/runbook/engine/exitcode"
)

// globalOptions are the flags every command takes.
type globalOptions struct {
	Dir      string
	StateDir string
	NoColor  bool
	// LockURL says where run locks live: file:// or etcd://… (docs/commands.md, "Global flags").
	LockURL string
}

// app is what every command shares: streams, global options, plugins.
type app struct {
	io       *IOStreams
	opts     globalOptions
	registry *plugins.Registry
	// dirs says how the runbook and state directories were found.
	dirs runbookDirs
	// devOverrides are the user's development overrides of plugins.
	devOverrides map[string]schema.DevOverride
}

// Main runs the command line and returns the process exit code.
func Main(args []string, streams *IOStreams) int {
	a := &app{io: streams, registry: builtin.Registry()}
	root := a.rootCmd()
	root.SetArgs(normalizeArgs(args))
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	err := root.Execute()
	if err == nil {
		return ExitOK
	}
	if _, coded := errors.AsType[exitcode.Coder](err); !coded {
		// Cobra's own errors: unknown command, bad flag, wrong arguments.
		fmt.Fprintf(streams.ErrOut, "runbook: %s\nRun 'runbook --help' for usage.\n", visible(err.Error()))
		return ExitBadInput
	}
	if msg := err.Error(); msg != "" {
		fmt.Fprintf(streams.ErrOut, "runbook: %s\n", visible(msg))
	}
	return exitCode(err)
}

// normalizeArgs accepts `fmt -check` and `fmt -diff` (the spellings of
// terraform fmt) for `fmt --check` and `fmt --diff`, and `test -run` (that of go test) for `test --run`; only
// for those commands, and only before `--`.
func normalizeArgs(args []string) []string {
	out := append([]string(nil), args...)
	cmd := ""
	for i, a := range out {
		switch {
		case a == "--":
			return out
		case cmd == "" && (a == "fmt" || a == "test"):
			cmd = a
		case a == "-check" && cmd == "fmt":
			out[i] = "--check"
		case a == "-diff" && cmd == "fmt":
			out[i] = "--diff"
		case a == "-run" && cmd == "test":
			out[i] = "--run"
		case strings.HasPrefix(a, "-run=") && cmd == "test":
			out[i] = "-" + a
		}
	}
	return out
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "runbook",
		Short: "Runbooks as code: validate, rehearse and run operational procedures",
		Long: `runbook turns operational procedures into code: HCL files of steps, each with an
owner, preconditions and expected outcomes, validated in CI, rehearsed with a
dry-run, executed through plugins and recorded as a tamper-evident transcript.`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: false},
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if a.opts.NoColor {
				a.io.DisableColor()
			}
			color.NoColor = !a.io.ColorEnabled()
			if err := a.resolveDirs(); err != nil {
				return err
			}
			switch cmd.Name() {
			case "version", "help", "completion", "fmt", cobra.ShellCompRequestCmd, cobra.ShellCompNoDescRequestCmd:
				return nil
			}
			return a.loadDevOverrides()
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&a.opts.Dir, "dir", "", "runbook directory ($RUNBOOK_DIR; default: the nearest runbooks/ folder here or above)")
	pf.StringVar(&a.opts.StateDir, "state-dir", "", "folder for transcripts and locks ($RUNBOOK_STATE_DIR; default: .runbook beside the runbook directory)")
	pf.StringVar(&a.opts.LockURL, "lock-url", envOr("RUNBOOK_LOCK_URL", "file://"), "where run locks live: file:// (flock under --state-dir) or etcd://HOST:PORT[,HOST:PORT]/PREFIX, shared across machines ($RUNBOOK_LOCK_URL)")
	pf.BoolVar(&a.opts.NoColor, "no-color", false, "no colour in output (also NO_COLOR, and whenever output is not a terminal)")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return exitf(ExitBadInput, "%s\nRun '%s --help' for usage.", err, cmd.CommandPath())
	})

	root.AddCommand(
		a.validateCmd(),
		a.execCmd(),
		a.listCmd(),
		a.showCmd(),
		a.fmtCmd(),
		a.testCmd(),
		a.transcriptCmd(),
		a.pluginsCmd(),
		a.versionCmd(),
	)
	root.SetHelpCommand(a.helpCmd(root))
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			// `completion nosuchshell` is a usage error, not a help page.
			c.Args = usageArgs(cobra.NoArgs)
			c.RunE = func(cmd *cobra.Command, args []string) error { return cmd.Help() }
		}
	}
	return root
}

// helpCmd is `runbook help [COMMAND]`; an unknown topic is a usage error.
func (a *app) helpCmd(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:   "help [COMMAND]",
		Short: "Help about any command",
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			var names []cobra.Completion
			for _, c := range root.Commands() {
				if c.IsAvailableCommand() {
					names = append(names, cobra.CompletionWithDesc(c.Name(), c.Short))
				}
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			target, rest, err := root.Find(args)
			if err != nil || len(rest) > 0 {
				return exitf(ExitBadInput, "no help topic %q; run 'runbook help' for the list of commands", strings.Join(args, " "))
			}
			return target.Help()
		},
	}
}

// usageArgs wraps a cobra argument check so that a wrong count is bad input.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return exitf(ExitBadInput, "%s: %s\nUsage: %s", cmd.Name(), err, cmd.UseLine())
		}
		return nil
	}
}
