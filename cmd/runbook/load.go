package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/runbookdev/runbook/plugins/safefile"
	"github.com/runbookdev/runbook/schema"

	"github.com/runbookdev/runbook/engine/exitcode"
)

// runE adapts a command's run function: errors that carry no exit code
// are failures (exit 1), not usage errors.
func runE(fn func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		err := fn(cmd, args)
		if _, coded := errors.AsType[exitcode.Coder](err); err != nil && !coded {
			return &exitError{code: ExitFailed, msg: err.Error()}
		}
		return err
	}
}

// loadOptions are the options of one load: built-in schemas from the
// registry, external plugins' from the lock file or, for exec, from the
// plugins launched (checksum verified), once per load.
func (a *app) loadOptions(code pluginCode) schema.Options {
	return schema.Options{Schemas: newPluginSchemas(a.registry, code), DevOverrides: a.devOverrides}
}

// loadDir loads the runbooks of the runbook directory (--dir): its *.hcl
// files but the tests (*.test.hcl), which only `runbook test` reads, so
// that a broken test never stands between an operator and a runbook, and a
// run does not pay for parsing them.
func (a *app) loadDir(code pluginCode) (*schema.Config, hcl.Diagnostics) {
	names, err := schema.ListFiles(a.opts.Dir)
	if err != nil {
		return schema.LoadDir(a.opts.Dir, a.loadOptions(code)) // says why
	}
	runbooks := names[:0]
	for _, n := range names {
		if !schema.IsTestFile(n) {
			runbooks = append(runbooks, n)
		}
	}
	if len(runbooks) == 0 {
		return schema.LoadDir(a.opts.Dir, a.loadOptions(code)) // says there are none
	}
	return schema.LoadPaths(runbooks, a.loadOptions(code))
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
func (a *app) validatePaths(paths []string) *validation {
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
			v.add(schema.ValidateDir(p, a.loadOptions(lockedSchemas)))
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
		v.add(a.validateNamed(dir, byDir[dir]))
	}
	schema.SortDiagnostics(v.diags)
	return v
}

// validateNamed checks files named directly in the context of their
// folder dir: the plugin blocks and runbooks of the files beside them count
// (a plugin configured in plugins.hcl, a test's runbook), but only the
// named files' problems and runbooks are reported.
func (a *app) validateNamed(dir string, names []string) (*schema.Config, hcl.Diagnostics) {
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
	cfg, d := schema.ValidatePaths(set, a.loadOptions(lockedSchemas))
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

// printDiagnostics writes diagnostics as people read them: HCL's text
// format, with the column beside the line ("on F line 52, column 20") and
// the source line, read again from disk when the load kept no tree of it.
func (a *app) printDiagnostics(files map[string]*hcl.File, diags hcl.Diagnostics) {
	if len(diags) == 0 {
		return
	}
	files = withSources(files, diags)
	var buf bytes.Buffer
	w := hcl.NewDiagnosticTextWriter(&buf, files, uint(a.io.Width()), a.io.ErrColorEnabled())
	// A source line too long to read (a minified file, a hostile one) is
	// left out; the position still says where.
	bare := hcl.NewDiagnosticTextWriter(&buf, nil, uint(a.io.Width()), a.io.ErrColorEnabled())
	for _, d := range diags {
		buf.Reset()
		if longSourceLine(files, d) {
			_ = bare.WriteDiagnostic(d)
		} else {
			_ = w.WriteDiagnostic(d)
		}
		text := buf.String()
		if d.Subject != nil {
			text = strings.Replace(text,
				fmt.Sprintf("  on %s line %d", d.Subject.Filename, d.Subject.Start.Line),
				fmt.Sprintf("  on %s line %d, column %d", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column), 1)
		}
		_, _ = io.WriteString(a.io.ErrOut, text)
	}
}

// maxSourceLine is the longest source line a diagnostic shows.
const maxSourceLine = 500

// longSourceLine reports whether the line a diagnostic points at is longer
// than maxSourceLine.
func longSourceLine(files map[string]*hcl.File, d *hcl.Diagnostic) bool {
	if d.Subject == nil || files[d.Subject.Filename] == nil {
		return false
	}
	src := files[d.Subject.Filename].Bytes
	at := min(max(d.Subject.Start.Byte, 0), len(src))
	start := bytes.LastIndexByte(src[:at], '\n') + 1
	end := bytes.IndexByte(src[at:], '\n')
	if end < 0 {
		end = len(src) - at
	}
	return at+end-start > maxSourceLine
}

// withSources returns files with every file a diagnostic points into: a
// load that keeps only the trees it needs (validate of many files) may
// have dropped the one a late diagnostic names, and a diagnostic without
// its source line is hard to act on.
func withSources(files map[string]*hcl.File, diags hcl.Diagnostics) map[string]*hcl.File {
	var all map[string]*hcl.File
	for _, d := range diags {
		if d.Subject == nil || d.Subject.Filename == "" || files[d.Subject.Filename] != nil || all[d.Subject.Filename] != nil {
			continue
		}
		b, err := safefile.ReadFile(d.Subject.Filename, schema.MaxSourceSize)
		if err != nil {
			continue
		}
		if all == nil {
			all = maps.Clone(files)
			if all == nil {
				all = map[string]*hcl.File{}
			}
		}
		// Parsed within the limits, or kept as text for the source line.
		f, _ := schema.ParseHCL(b, d.Subject.Filename)
		if f == nil {
			f = &hcl.File{Bytes: b}
		}
		all[d.Subject.Filename] = f
	}
	if all == nil {
		return files
	}
	return all
}

// loadValid loads the runbook directory and fails with the diagnostics
// printed when anything in it is invalid.
func (a *app) loadValid(code pluginCode) (*schema.Config, error) {
	if err := a.needDir(); err != nil {
		return nil, err
	}
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
	if best := schema.Closest(name, names); best != "" {
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
	// Completion does not run the root's PersistentPreRunE.
	if a.dirs.Dir == "" {
		if err := a.resolveDirs(); err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
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
