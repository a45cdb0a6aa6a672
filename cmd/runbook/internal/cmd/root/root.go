package root

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/runbookdev/runbook/cmd/runbook/internal/cmd/approve"
	"github.com/runbookdev/runbook/cmd/runbook/internal/cmd/docs"
	"github.com/runbookdev/runbook/cmd/runbook/internal/cmd/exec"
	"github.com/runbookdev/runbook/cmd/runbook/internal/cmd/fmtcmd"
	"github.com/runbookdev/runbook/cmd/runbook/internal/cmd/list"
	"github.com/runbookdev/runbook/cmd/runbook/internal/cmd/mcpcmd"
	"github.com/runbookdev/runbook/cmd/runbook/internal/cmd/pluginscmd"
	"github.com/runbookdev/runbook/cmd/runbook/internal/cmd/show"
	"github.com/runbookdev/runbook/cmd/runbook/internal/cmd/testcmd"
	"github.com/runbookdev/runbook/cmd/runbook/internal/cmd/transcriptcmd"
	"github.com/runbookdev/runbook/cmd/runbook/internal/cmd/validate"
	"github.com/runbookdev/runbook/cmd/runbook/internal/cmd/version"

	"github.com/spf13/cobra"

	"github.com/runbookdev/runbook/cmd/runbook/internal/cmdutil"
	"github.com/runbookdev/runbook/cmd/runbook/internal/text"
	"github.com/runbookdev/runbook/engine/exitcode"
)

// Main runs the command line and returns the process exit code.
func Main(args []string, f *cmdutil.Factory) int {
	streams := f.IO
	root := NewCmdRoot(f)
	root.SetArgs(normalizeArgs(args))
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	err := root.Execute()
	f.CloseStore()
	if err == nil {
		return exitcode.OK
	}
	if _, coded := errors.AsType[exitcode.Coder](err); !coded {
		// Cobra's own errors: unknown command, bad flag, wrong arguments.
		fmt.Fprintf(streams.ErrOut, "runbook: %s\nRun 'runbook --help' for usage.\n", text.Visible(err.Error()))
		return exitcode.BadInput
	}
	if msg := err.Error(); msg != "" {
		fmt.Fprintf(streams.ErrOut, "runbook: %s\n", text.Visible(msg))
	}
	return exitcode.Of(err)
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

// NewCmdRoot makes the root command with every command under it.
func NewCmdRoot(f *cmdutil.Factory) *cobra.Command {
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
			if f.Global.NoColor {
				f.IO.DisableColor()
			}
			if err := f.ResolveDirs(); err != nil {
				return err
			}
			switch cmd.Name() {
			case "version", "help", "completion", "fmt", cobra.ShellCompRequestCmd, cobra.ShellCompNoDescRequestCmd:
				return nil
			}
			if err := cmdutil.CheckStoreURL(f.Global.StoreURL); err != nil {
				return err
			}
			return f.LoadDevOverrides()
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&f.Global.Dir, "dir", "", "runbook directory ($RUNBOOK_DIR; default: the nearest runbooks/ folder here or above)")
	pf.StringVar(&f.Global.StateDir, "state-dir", "", "folder for transcripts and locks ($RUNBOOK_STATE_DIR; default: .runbook beside the runbook directory)")
	pf.StringVar(&f.Global.LockURL, "lock-url", envOr("RUNBOOK_LOCK_URL", "file://"), "where run locks live: file:// (flock under --state-dir) or etcd://HOST:PORT[,HOST:PORT]/PREFIX, shared across machines ($RUNBOOK_LOCK_URL)")
	pf.StringVar(&f.Global.StoreURL, "store", envOr("RUNBOOK_STORE", cmdutil.DefaultStoreURL), "where transcripts are also kept, for the team: file:// (only --state-dir) or postgres://USER@HOST:PORT/DATABASE ($RUNBOOK_STORE)")
	pf.BoolVar(&f.Global.NoColor, "no-color", false, "no colour in output (also NO_COLOR, and whenever output is not a terminal)")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return cmdutil.Exitf(exitcode.BadInput, "%s\nRun '%s --help' for usage.", err, cmd.CommandPath())
	})

	root.AddCommand(
		validate.NewCmdValidate(f, nil),
		exec.NewCmdExec(f, nil),
		list.NewCmdList(f, nil),
		show.NewCmdShow(f, nil),
		docs.NewCmdDocs(f, nil),
		fmtcmd.NewCmdFmt(f, nil),
		testcmd.NewCmdTest(f, nil),
		transcriptcmd.NewCmdTranscript(f),
		approve.NewCmdApprove(f, nil),
		approve.NewCmdDeny(f, nil),
		pluginscmd.NewCmdPlugins(f, nil),
		mcpcmd.NewCmdMCP(f, nil),
		version.NewCmdVersion(f),
	)
	root.SetHelpCommand(newCmdHelp(root))
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			// `completion nosuchshell` is a usage error, not a help page.
			c.Args = cmdutil.UsageArgs(cobra.NoArgs)
			c.RunE = func(cmd *cobra.Command, args []string) error { return cmd.Help() }
		}
	}
	return root
}

// helpCmd is `runbook help [COMMAND]`; an unknown topic is a usage error.
func newCmdHelp(root *cobra.Command) *cobra.Command {
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
				return cmdutil.Exitf(exitcode.BadInput, "no help topic %q; run 'runbook help' for the list of commands", strings.Join(args, " "))
			}
			return target.Help()
		},
	}
}
