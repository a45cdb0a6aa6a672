package fmtcmd

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/spf13/cobra"

	"github.com/runbookdev/runbook/cmd/runbook/internal/cmdutil"
	"github.com/runbookdev/runbook/cmd/runbook/internal/text"
	"github.com/runbookdev/runbook/engine/exitcode"
	"github.com/runbookdev/runbook/plugins/atomicfile"
	"github.com/runbookdev/runbook/plugins/safefile"
	"github.com/runbookdev/runbook/schema"
)

// Options are the inputs of `runbook fmt`.
type Options struct {
	*cmdutil.Factory
	Check bool
	Diff  bool
	Paths []string
}

// NewCmdFmt makes `runbook fmt`; runF, when not nil, runs instead of the command
// (for tests of the flags).
func NewCmdFmt(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "fmt [-check] [-diff] [PATH...]",
		Short: "Rewrite runbook files in canonical format",
		Long: `Rewrite *.hcl files in the canonical format (that of terraform fmt) and print
the name of each file changed. PATH may be files or directories (default --dir).

With -check, change nothing: list the files that are not formatted and exit 1
if there are any. With -diff, also print each file's changes as a unified
diff. A file with a syntax error is never rewritten (exit 2).`,
		Args: cmdutil.UsageArgs(cobra.ArbitraryArgs),
		RunE: cmdutil.RunE(func(cmd *cobra.Command, args []string) error {
			paths, err := opts.PathsOrDir(args)
			if err != nil {
				return err
			}
			opts.Paths = paths
			return cmdutil.Run(opts, runF, runFmt)
		}),
	}
	cmd.Flags().BoolVar(&opts.Check, "check", false, "list unformatted files and exit 1 instead of rewriting them")
	cmd.Flags().BoolVar(&opts.Diff, "diff", false, "print the formatting changes as a unified diff")
	return cmd
}

func runFmt(opts *Options) error {
	names, err := hclFiles(opts.Paths)
	if err != nil {
		return err
	}

	files := map[string]*hcl.File{}
	var diags hcl.Diagnostics
	unformatted := 0
	for _, name := range names {
		src, err := safefile.ReadFile(name, schema.MaxSourceSize)
		if err != nil {
			return cmdutil.Exitf(exitcode.BadInput, "%s", err)
		}
		f, d := schema.ParseHCL(src, name)
		files[name] = f
		if d.HasErrors() {
			diags = append(diags, d...)
			continue
		}
		out := hclwrite.Format(src)
		if bytes.Equal(out, src) {
			continue
		}
		unformatted++
		fmt.Fprintln(opts.IO.Out, name)
		if opts.Diff {
			fmt.Fprint(opts.IO.Out, unifiedDiff("old/"+filepath.ToSlash(name), "new/"+filepath.ToSlash(name), src, out))
		}
		if opts.Check {
			continue
		}
		// Write through a symlink to the file it names, keeping the link.
		target, err := filepath.EvalSymlinks(name)
		if err != nil {
			return err
		}
		if err := atomicfile.Write(target, out, 0o644); err != nil {
			return err
		}
	}
	if diags.HasErrors() {
		opts.PrintDiagnostics(files, diags)
		return cmdutil.SilentExit(exitcode.BadInput)
	}
	if opts.Check && unformatted > 0 {
		fmt.Fprintf(opts.IO.ErrOut, "%s not formatted; run runbook fmt to fix.\n", text.Plural(unformatted, "file"))
		return cmdutil.SilentExit(exitcode.Failed)
	}
	return nil
}

// hclFiles lists the files paths name: each file, and the *.hcl files of
// each folder.
func hclFiles(paths []string) ([]string, error) {
	var names []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, cmdutil.Exitf(exitcode.BadInput, "%s", err)
		}
		if !fi.IsDir() {
			names = append(names, filepath.Clean(p))
			continue
		}
		found, err := schema.ListFiles(p)
		if err != nil {
			return nil, cmdutil.Exitf(exitcode.BadInput, "%s", err)
		}
		names = append(names, found...)
	}
	return names, nil
}
