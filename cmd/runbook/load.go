package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/runbookdev/runbook/schema"
)

// runE adapts a command's run function: errors that carry no exit code
// are failures (exit 1), not usage errors.
func runE(fn func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		err := fn(cmd, args)
		var coded interface{ ExitCode() int }
		if err != nil && !errors.As(err, &coded) {
			return &exitError{code: ExitFailed, msg: err.Error()}
		}
		return err
	}
}

// loadOptions are the options of one load: built-in schemas from the
// registry, external plugins' from the lock file or, for exec, from the
// plugins launched (checksum verified), once per load.
func (a *app) loadOptions(code pluginCode) schema.Options {
	return schema.Options{Schemas: newPluginSchemas(a.registry, code)}
}

// loadDir loads the runbook directory (--dir).
func (a *app) loadDir(code pluginCode) (*schema.Config, hcl.Diagnostics) {
	return schema.LoadDir(a.opts.Dir, a.loadOptions(code))
}

// validatePaths checks what `validate PATH...` names: each directory is a set of
// its own; the files named directly form one more set.
func (a *app) validatePaths(paths []string) (map[string]*hcl.File, int, map[string]hcl.Range, hcl.Diagnostics) {
	files := map[string]*hcl.File{}
	declared := map[string]hcl.Range{}
	var diags hcl.Diagnostics
	runbooks := 0
	var loose []string
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
	add := func(cfg *schema.Config, d hcl.Diagnostics) {
		diags = append(diags, d...)
		if cfg == nil {
			return
		}
		for name, f := range cfg.Files {
			files[name] = f
		}
		runbooks += cfg.Validated
		for name, rng := range cfg.Declared {
			if _, ok := declared[name]; !ok {
				declared[name] = rng
			}
		}
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot read path", Detail: err.Error()})
			continue
		}
		if fi.IsDir() {
			add(schema.ValidateDir(p, a.loadOptions(lockedSchemas)))
			continue
		}
		if abs, err := filepath.Abs(p); err == nil && inDirs[abs] {
			continue
		}
		loose = append(loose, filepath.Clean(p))
	}
	if len(loose) > 0 {
		add(schema.ValidatePaths(loose, a.loadOptions(lockedSchemas)))
	}
	schema.SortDiagnostics(diags)
	return files, runbooks, declared, diags
}

// printDiagnostics writes diagnostics as people read them, with snippets.
func (a *app) printDiagnostics(files map[string]*hcl.File, diags hcl.Diagnostics) {
	if len(diags) == 0 {
		return
	}
	w := hcl.NewDiagnosticTextWriter(a.io.ErrOut, files, uint(a.io.Width()), a.io.ErrColorEnabled())
	_ = w.WriteDiagnostics(diags)
}

// loadValid loads the runbook directory and fails with the diagnostics
// printed when anything in it is invalid.
func (a *app) loadValid(code pluginCode) (*schema.Config, error) {
	cfg, diags := a.loadDir(code)
	if diags.HasErrors() {
		var files map[string]*hcl.File
		if cfg != nil {
			files = cfg.Files
		}
		a.printDiagnostics(files, diags)
		return cfg, silentExit(ExitBadInput)
	}
	a.printDiagnostics(cfg.Files, diags)
	return cfg, nil
}

// findRunbook returns the runbook named name or a bad-input error that
// lists what there is.
func findRunbook(cfg *schema.Config, dir, name string) (*schema.Runbook, error) {
	if rb := cfg.Runbook(name); rb != nil {
		return rb, nil
	}
	names := runbookNames(cfg)
	return nil, exitf(ExitBadInput, "no runbook named %q in %s%s", name, dir, suggestion(name, names))
}

func runbookNames(cfg *schema.Config) []string {
	names := make([]string, 0, len(cfg.Runbooks))
	for _, rb := range cfg.Runbooks {
		names = append(names, rb.Name)
	}
	sort.Strings(names)
	return names
}

func suggestion(name string, names []string) string {
	if len(names) == 0 {
		return ""
	}
	best, bestDist := "", 4
	for _, n := range names {
		if d := levenshtein.Distance(name, n, nil); d < bestDist {
			best, bestDist = n, d
		}
	}
	if best != "" {
		return fmt.Sprintf("; did you mean %q?", best)
	}
	return fmt.Sprintf("; runbooks: %s", joinMax(names, 10))
}

func joinMax(names []string, n int) string {
	s := ""
	for i, name := range names {
		if i == n {
			return s + fmt.Sprintf(", … (%d more)", len(names)-n)
		}
		if i > 0 {
			s += ", "
		}
		s += name
	}
	return s
}

// completeRunbooks completes runbook names from --dir, for `show <TAB>`
// (and `exec <TAB>`).
func (a *app) completeRunbooks(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	cfg, _ := schema.LoadDir(a.opts.Dir, schema.Options{})
	if cfg == nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []cobra.Completion
	for _, rb := range cfg.Runbooks {
		out = append(out, cobra.CompletionWithDesc(rb.Name, rb.Description))
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
