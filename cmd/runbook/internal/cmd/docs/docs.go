package docs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/runbookdev/runbook/cmd/runbook/internal/cmdutil"
	"github.com/runbookdev/runbook/cmd/runbook/internal/resolver"
	"github.com/runbookdev/runbook/cmd/runbook/internal/text"
	"github.com/runbookdev/runbook/engine"
	"github.com/runbookdev/runbook/engine/exitcode"
	"github.com/runbookdev/runbook/plugins/atomicfile"
	"github.com/runbookdev/runbook/schema"
)

// IndexPage is the index's file name: the page MkDocs (and so TechDocs)
// serves for the folder.
const IndexPage = "index.md"

// Options are the inputs of `runbook docs`.
type Options struct {
	*cmdutil.Factory
	// Out is the folder the pages go in; "" for DefaultOut.
	Out string
}

// NewCmdDocs makes `runbook docs`; runF, when not nil, runs instead of the
// command (for tests of the flags).
func NewCmdDocs(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "docs [--out DIR]",
		Short: "Write a Markdown page per runbook and an index, for a wiki or TechDocs",
		Long: `Write one Markdown page per runbook and an index.md that links them all, for a
wiki or Backstage TechDocs. A page says what ` + "`runbook show`" + ` says (owners,
variables, each step with its checks and what it changes; sensitive defaults
never shown) and when the runbook last ran and was last rehearsed.

Pages go in --out (default: docs/runbooks beside the runbook directory), each
replaced atomically; a page written before for a runbook that is gone is
removed, and a file docs did not write is never overwritten. The paths
written are printed.`,
		Args: cmdutil.UsageArgs(cobra.NoArgs),
		RunE: cmdutil.RunE(func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runDocs(opts)
		}),
	}
	cmd.Flags().StringVar(&opts.Out, "out", "", "folder to write the pages in (default: docs/runbooks beside the runbook directory)")
	return cmd
}

// DefaultOut is where the pages go without --out: docs/runbooks in the
// folder that holds the runbook directory, as the state folder is, so that
// running from anywhere in a project writes the same pages, where a
// project's docs are looked for.
func DefaultOut(dir string) (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(wd, dir)
	}
	out := filepath.Join(filepath.Dir(filepath.Clean(dir)), "docs", "runbooks")
	// Said relative to the working directory when that is shorter to read.
	if rel, err := filepath.Rel(wd, out); err == nil && strings.Count(rel, "..") <= 2 {
		return rel, nil
	}
	return out, nil
}

func runDocs(opts *Options) error {
	cfg, err := opts.LoadValid(resolver.Locked)
	if err != nil {
		return err
	}
	out := opts.Out
	if out == "" {
		if out, err = DefaultOut(opts.Global.Dir); err != nil {
			return err
		}
	}
	exercised, err := engine.Exercises(opts.Global.StateDir)
	if err != nil {
		return fmt.Errorf("read transcripts in %s: %w", opts.Global.StateDir, err)
	}
	dir, err := filepath.Abs(opts.Global.Dir)
	if err != nil {
		return err
	}
	pages, err := Render(cfg, exercised, filepath.Dir(dir))
	if err != nil {
		return err
	}
	if err := makeOut(out); err != nil {
		return err
	}
	return Write(opts.IO.Out, out, pages)
}

// Page is one file of the docs: its name in the folder and its Markdown.
type Page struct {
	Name string
	Data []byte
}

// Render makes the page of every runbook in cfg, by name, and then the
// index; exercised is engine.Exercises of the state folder, and root the
// folder the pages name runbook files from (the one that holds the runbook
// directory, so that a page does not change with where docs ran). A
// runbook whose name cannot be a page's is an error, before anything is
// written.
func Render(cfg *schema.Config, exercised map[string]*engine.Exercise, root string) ([]Page, error) {
	runbooks := slices.Clone(cfg.Runbooks)
	slices.SortFunc(runbooks, func(a, b *schema.Runbook) int { return strings.Compare(a.Name, b.Name) })
	taken := map[string]string{strings.ToLower(IndexPage): "the index"}
	var pages []Page
	var entries []indexEntry
	for _, rb := range runbooks {
		name, err := pageName(rb.Name)
		if err != nil {
			return nil, err
		}
		// Folded, as a case-insensitive file system (macOS, Windows)
		// would have them clash.
		if other, ok := taken[strings.ToLower(name)]; ok {
			return nil, cmdutil.Exitf(exitcode.BadInput, "docs: the page of runbook %q would be %s, as %s's is; rename one of them", rb.Name, name, other)
		}
		taken[strings.ToLower(name)] = fmt.Sprintf("runbook %q", rb.Name)
		pages = append(pages, Page{Name: name, Data: renderRunbook(cfg, rb, relativeFile(root, rb.Filename), exercised[rb.Name])})
		entries = append(entries, indexEntry{rb: rb, page: name, ex: exercised[rb.Name]})
	}
	return append(pages, Page{Name: IndexPage, Data: renderIndex(entries)}), nil
}

// relativeFile is file as a path from root, with forward slashes; as it
// is when root is not one of its folders.
func relativeFile(root, file string) string {
	abs, err := filepath.Abs(file)
	if err != nil {
		return file
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return file
	}
	return filepath.ToSlash(rel)
}

// pageName is the file of a runbook's page: its name and .md. Runbook
// names are identifiers (schema checks them); one that could leave the
// folder, or hide in it, is refused all the same.
func pageName(runbook string) (string, error) {
	if runbook == "" || strings.ContainsAny(runbook, `/\`+"\x00") || strings.HasPrefix(runbook, ".") {
		return "", cmdutil.Exitf(exitcode.BadInput, "docs: runbook %q cannot name a page: a page's name is the runbook's, and this one holds a path separator or starts with a dot", runbook)
	}
	return runbook + ".md", nil
}

// makeOut makes the folder the pages go in; a file there is bad input.
func makeOut(out string) error {
	if fi, err := os.Stat(out); err == nil && !fi.IsDir() {
		return cmdutil.Exitf(exitcode.BadInput, "docs: --out %s is a file, not a folder", out)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		if errors.Is(err, syscall.ENOTDIR) {
			return cmdutil.Exitf(exitcode.BadInput, "docs: --out %s: %v", out, err)
		}
		return fmt.Errorf("docs: --out %s: %w", out, err)
	}
	return nil
}

// Write replaces each page in out atomically (the index last, so that it
// never links a page not yet there), names each on w, and removes the
// pages a run of docs wrote before that are not among them. A file in the
// way that docs did not write (a page of someone's own, a folder) is bad
// input, found before anything is written.
func Write(w io.Writer, out string, pages []Page) error {
	if err := checkReplaceable(out, pages); err != nil {
		return err
	}
	written := map[string]bool{}
	for _, p := range pages {
		path := filepath.Join(out, p.Name)
		if err := atomicfile.Write(path, p.Data, 0o644); err != nil {
			return err
		}
		written[p.Name] = true
		fmt.Fprintf(w, "wrote %s\n", path)
	}
	stale, err := stalePages(out, written)
	if err != nil {
		return err
	}
	for _, name := range stale {
		path := filepath.Join(out, name)
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("docs: remove the page of a runbook that is gone: %w", err)
		}
		fmt.Fprintf(w, "removed %s\n", path)
	}
	if len(stale) > 0 {
		return atomicfile.SyncDir(out)
	}
	return nil
}

// checkReplaceable refuses pages whose file exists and is not one docs
// wrote: docs never overwrites what a person wrote.
func checkReplaceable(out string, pages []Page) error {
	var foreign []string
	for _, p := range pages {
		path := filepath.Join(out, p.Name)
		fi, err := os.Lstat(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("docs: %w", err)
		}
		if !fi.Mode().IsRegular() || !generated(path) {
			foreign = append(foreign, path)
		}
	}
	if len(foreign) > 0 {
		them := "it"
		if len(foreign) > 1 {
			them = "them"
		}
		return cmdutil.Exitf(exitcode.BadInput, "docs: %s %s in the way and not written by runbook docs (its pages start with a \"Generated by `runbook docs`\" comment); move %s or choose another --out",
			strings.Join(foreign, ", "), text.IsAre(len(foreign)), them)
	}
	return nil
}

// stalePages lists the Markdown files in out that docs wrote (they start
// with generatedMarker) and did not write now; a page of anyone else is
// left alone.
func stalePages(out string, written map[string]bool) ([]string, error) {
	entries, err := os.ReadDir(out)
	if err != nil {
		return nil, fmt.Errorf("docs: %w", err)
	}
	var stale []string
	for _, e := range entries {
		if written[e.Name()] || !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".md") {
			continue
		}
		if generated(filepath.Join(out, e.Name())) {
			stale = append(stale, e.Name())
		}
	}
	return stale, nil
}

// generated reports whether the file at path starts with generatedMarker.
func generated(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, len(generatedMarker)+1)
	if _, err := io.ReadFull(f, head); err != nil {
		return false
	}
	return string(head) == generatedMarker+"\n"
}
