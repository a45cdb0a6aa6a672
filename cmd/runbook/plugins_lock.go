package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/runbookdev/runbook/plugins/pluginlock"
	"github.com/runbookdev/runbook/schema"
)

func (a *app) pluginsLockCmd() *cobra.Command {
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
		Args: usageArgs(cobra.NoArgs),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return a.runPluginsLock()
		}),
	}
}

func (a *app) runPluginsLock() error {
	if fi, err := os.Stat(a.opts.Dir); err != nil || !fi.IsDir() {
		if err == nil {
			err = errors.New("not a directory")
		}
		return exitf(ExitBadInput, "cannot read runbook directory %s: %s", a.opts.Dir, err)
	}
	// Only the plugin blocks matter here: problems elsewhere in the
	// directory are validate's to report.
	cfg, diags := schema.LoadDir(a.opts.Dir, schema.Options{})
	if cfg == nil {
		a.printDiagnostics(nil, diags)
		return silentExit(ExitBadInput)
	}
	var names []string
	for name, decl := range cfg.Plugins {
		if decl.External() {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	path := pluginlock.Path(a.opts.Dir)
	if len(names) == 0 {
		if _, err := os.Stat(path); err != nil {
			fmt.Fprintf(a.io.Out, "No external plugins are declared in %s; nothing to lock.\n", a.opts.Dir)
			return nil
		}
	}
	src := newPluginSchemas(a.registry, launchPlugins)
	var entries []*pluginlock.Entry
	var failed []string
	for _, name := range names {
		decl := cfg.Plugins[name]
		sch, version, err := src.launch(name, decl)
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s:%d: %s", decl.DeclRange.Filename, decl.DeclRange.Start.Line, err))
			continue
		}
		entries = append(entries, &pluginlock.Entry{Name: name, Version: version, SHA256: decl.SHA256, Schema: sch})
	}
	if len(failed) > 0 {
		return exitf(ExitBadInput, "%s\n%s left unchanged: %d external plugin(s) could not be locked", strings.Join(failed, "\n"), path, len(failed))
	}
	if err := pluginlock.Write(a.opts.Dir, entries); err != nil {
		return err
	}
	fmt.Fprintf(a.io.Out, "Locked %d external plugin(s) in %s:\n", len(entries), path)
	for _, e := range entries {
		version := e.Version
		if version == "" {
			version = "(no version)"
		}
		fmt.Fprintf(a.io.Out, "  %s %s  sha256 %s\n", e.Name, version, e.SHA256)
	}
	fmt.Fprintln(a.io.Out, "Review the lock file like code and commit it with the runbooks.")
	return nil
}
