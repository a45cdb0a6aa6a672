package cmdutil

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/runbookdev/runbook/cmd/runbook/internal/resolver"
	"github.com/runbookdev/runbook/plugins/safefile"
	"github.com/runbookdev/runbook/schema"

	"github.com/runbookdev/runbook/engine/exitcode"
)

// LoadDir loads the runbooks of the runbook directory (--dir): its *.hcl
// files but the tests (*.test.hcl), which only `runbook test` reads, so
// that a broken test never stands between an operator and a runbook, and a
// run does not pay for parsing them.
func (f *Factory) LoadDir(code resolver.Code) (*schema.Config, hcl.Diagnostics) {
	names, err := schema.ListFiles(f.Global.Dir)
	if err != nil {
		return schema.LoadDir(f.Global.Dir, f.Resolver.LoadOptions(code)) // says why
	}
	runbooks := names[:0]
	for _, n := range names {
		if !schema.IsTestFile(n) {
			runbooks = append(runbooks, n)
		}
	}
	if len(runbooks) == 0 {
		return schema.LoadDir(f.Global.Dir, f.Resolver.LoadOptions(code)) // says there are none
	}
	return schema.LoadPaths(runbooks, f.Resolver.LoadOptions(code))
}

// PrintDiagnostics writes diagnostics as people read them: HCL's text
// format, with the column beside the line ("on F line 52, column 20") and
// the source line, read again from disk when the load kept no tree of it.
func (f *Factory) PrintDiagnostics(files map[string]*hcl.File, diags hcl.Diagnostics) {
	if len(diags) == 0 {
		return
	}
	files = WithSources(files, diags)
	var buf bytes.Buffer
	w := hcl.NewDiagnosticTextWriter(&buf, files, uint(f.IO.Width()), f.IO.ErrColorEnabled())
	// A source line too long to read (a minified file, a hostile one) is
	// left out; the position still says where.
	bare := hcl.NewDiagnosticTextWriter(&buf, nil, uint(f.IO.Width()), f.IO.ErrColorEnabled())
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
		_, _ = io.WriteString(f.IO.ErrOut, text)
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

// WithSources returns files with every file a diagnostic points into: a
// load that keeps only the trees it needs (validate of many files) may
// have dropped the one a late diagnostic names, and a diagnostic without
// its source line is hard to act on.
func WithSources(files map[string]*hcl.File, diags hcl.Diagnostics) map[string]*hcl.File {
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

// LoadValid loads the runbook directory and fails with the diagnostics
// printed when anything in it is invalid.
func (f *Factory) LoadValid(code resolver.Code) (*schema.Config, error) {
	if err := f.NeedDir(); err != nil {
		return nil, err
	}
	cfg, diags := f.LoadDir(code)
	if diags.HasErrors() {
		var files map[string]*hcl.File
		if cfg != nil {
			files = cfg.Files
		}
		f.PrintDiagnostics(files, diags)
		return cfg, SilentExit(exitcode.BadInput)
	}
	f.PrintDiagnostics(cfg.Files, diags)
	return cfg, nil
}

// FindRunbook returns the runbook named name or a bad-input error that
// lists what there is.
func FindRunbook(cfg *schema.Config, dir, name string) (*schema.Runbook, error) {
	if rb := cfg.Runbook(name); rb != nil {
		return rb, nil
	}
	names := runbookNames(cfg)
	return nil, Exitf(exitcode.BadInput, "no runbook named %q in %s%s", name, dir, Suggestion(name, names))
}

func runbookNames(cfg *schema.Config) []string {
	names := make([]string, 0, len(cfg.Runbooks))
	for _, rb := range cfg.Runbooks {
		names = append(names, rb.Name)
	}
	sort.Strings(names)
	return names
}

func Suggestion(name string, names []string) string {
	if len(names) == 0 {
		return ""
	}
	if best := schema.Closest(name, names); best != "" {
		return fmt.Sprintf("; did you mean %q?", best)
	}
	return fmt.Sprintf("; runbooks: %s", JoinMax(names, 10))
}

func JoinMax(names []string, n int) string {
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

// CompleteRunbooks completes runbook names from --dir, for `show <TAB>`
// (and `exec <TAB>`).
func (f *Factory) CompleteRunbooks(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	// Completion does not run the root's PersistentPreRunE.
	if f.Dirs.Dir == "" {
		if err := f.ResolveDirs(); err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
	}
	cfg, _ := schema.LoadDir(f.Global.Dir, schema.Options{})
	if cfg == nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []cobra.Completion
	for _, rb := range cfg.Runbooks {
		out = append(out, cobra.CompletionWithDesc(rb.Name, rb.Description))
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
