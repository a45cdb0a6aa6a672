package pluginscmd

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/runbookdev/runbook/cmd/runbook/internal/cmdutil"
	"github.com/runbookdev/runbook/cmd/runbook/internal/resolver"
	"github.com/runbookdev/runbook/engine/exitcode"
	"github.com/runbookdev/runbook/plugins/pluginlock"
	"github.com/runbookdev/runbook/schema"
)

// LockOptions are the inputs of `runbook plugins lock`.
type LockOptions struct {
	*cmdutil.Factory
}

// NewCmdLock makes `runbook plugins lock`; runF, when not nil, runs instead
// of the command (for tests of the flags).
func NewCmdLock(f *cmdutil.Factory, runF func(*LockOptions) error) *cobra.Command {
	opts := &LockOptions{Factory: f}
	return &cobra.Command{
		Use:   "lock",
		Short: "Run each external plugin once and record its version, sha256 and schema in runbook.lock.hcl",
		Long: `Start each external plugin that --dir declares (after verifying the sha256
its plugin block gives), ask it for its version and schema, and write them,
with the binary's sha256, to runbook.lock.hcl in --dir (atomically). Nothing
is written unless every external plugin answers.

This runs the plugins' code: run it on binaries you trust, and review and
commit the lock file with the runbooks. Every command except exec (validate,
list, show, test, plugins) takes external plugins' schemas from the lock file
and never starts a plugin binary, so checking an untrusted change (a pull
request) runs none of its code. exec refuses a plugin whose sha256 differs
from its lock entry.`,
		Args: cmdutil.UsageArgs(cobra.NoArgs),
		RunE: cmdutil.RunE(func(cmd *cobra.Command, args []string) error {
			return cmdutil.Run(opts, runF, runLock)
		}),
	}
}

func runLock(opts *LockOptions) error {
	if fi, err := os.Stat(opts.Global.Dir); err != nil || !fi.IsDir() {
		if err == nil {
			err = errors.New("not a directory")
		}
		return cmdutil.Exitf(exitcode.BadInput, "cannot read runbook directory %s: %s", opts.Global.Dir, err)
	}
	// Only the plugin blocks matter here: problems elsewhere in the
	// directory are validate's to report.
	cfg, diags := schema.LoadDir(opts.Global.Dir, schema.Options{})
	if cfg == nil {
		opts.PrintDiagnostics(nil, diags)
		return cmdutil.SilentExit(exitcode.BadInput)
	}
	var names []string
	for name, decl := range cfg.Plugins {
		if decl.External() {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	path := pluginlock.Path(opts.Global.Dir)
	if len(names) == 0 {
		if _, err := os.Stat(path); err != nil {
			fmt.Fprintf(opts.IO.Out, "No external plugins are declared in %s; nothing to lock.\n", opts.Global.Dir)
			return nil
		}
	}
	src := opts.Resolver.Schemas(resolver.Launch)
	var entries []*pluginlock.Entry
	var failed []string
	for _, name := range names {
		decl := cfg.Plugins[name]
		sch, version, err := src.Launch(name, decl)
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s:%d: %s", decl.DeclRange.Filename, decl.DeclRange.Start.Line, err))
			continue
		}
		entries = append(entries, &pluginlock.Entry{Name: name, Version: version, SHA256: decl.SHA256, Schema: sch})
	}
	if len(failed) > 0 {
		return cmdutil.Exitf(exitcode.BadInput, "%s\n%s left unchanged: %d external plugin(s) could not be locked", strings.Join(failed, "\n"), path, len(failed))
	}
	if err := pluginlock.Write(opts.Global.Dir, entries); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "Locked %d external plugin(s) in %s:\n", len(entries), path)
	for _, e := range entries {
		version := e.Version
		if version == "" {
			version = "(no version)"
		}
		fmt.Fprintf(opts.IO.Out, "  %s %s  sha256 %s\n", e.Name, version, e.SHA256)
	}
	fmt.Fprintln(opts.IO.Out, "Review the lock file like code and commit it with the runbooks.")
	return nil
}
