package pluginscmd

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/spf13/cobra"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/cmd/runbook/internal/cmdutil"
	"github.com/runbookdev/runbook/engine/exitcode"
	"github.com/runbookdev/runbook/plugins/atomicfile"
	"github.com/runbookdev/runbook/plugins/host"
	"github.com/runbookdev/runbook/plugins/safefile"
	"github.com/runbookdev/runbook/schema"
)

// PinOptions are the inputs of `runbook plugins pin`.
type PinOptions struct {
	*cmdutil.Factory
	// Name is the plugin; Binary the file to hash, "" for the source its
	// block declares.
	Name, Binary string
}

// NewCmdPin makes `runbook plugins pin`; runF, when not nil, runs instead
// of the command (for tests of the flags).
func NewCmdPin(f *cmdutil.Factory, runF func(*PinOptions) error) *cobra.Command {
	opts := &PinOptions{Factory: f}
	return &cobra.Command{
		Use:   "pin NAME [PATH]",
		Short: "Write the sha256 of a plugin binary into its plugin block",
		Long: `Hash the binary of external plugin NAME (PATH, else the source its plugin
block declares) and write its sha256 into the plugin block, in place, keeping
the rest of the file as it is. With PATH and a block that declares no source,
source is written too. Nothing runs: run 'runbook plugins lock' next, to
record the new binary's schema.`,
		Args: cmdutil.UsageArgs(cobra.RangeArgs(1, 2)),
		RunE: cmdutil.RunE(func(cmd *cobra.Command, args []string) error {
			opts.Name, opts.Binary = args[0], ""
			if len(args) == 2 {
				opts.Binary = args[1]
			}
			return cmdutil.Run(opts, runF, runPin)
		}),
	}
}

// maxPinnedFile bounds a runbook file that pin rewrites.
const maxPinnedFile = 4 << 20

func runPin(opts *PinOptions) error {
	name, binary := opts.Name, opts.Binary
	path, file, block, err := findPluginBlock(opts.Factory, name)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	declared := ""
	if attr := block.Body().GetAttribute("source"); attr != nil {
		v, ok := literalString(attr)
		if !ok {
			return cmdutil.Exitf(exitcode.BadInput, "the source of plugin %q in %s is not a plain string: pin cannot tell which binary it is", name, path)
		}
		declared = v
		if !filepath.IsAbs(declared) {
			declared = filepath.Join(dir, declared)
		}
	}
	switch {
	case binary == "" && declared == "":
		return cmdutil.Exitf(exitcode.BadInput, "plugin %q declares no source: name the binary to pin (runbook plugins pin %s PATH)", name, name)
	case binary == "":
		binary = declared
	case declared != "" && !sameFile(binary, declared):
		return cmdutil.Exitf(exitcode.BadInput, "plugin %q declares source %s, not %s: pin the binary it declares, or change its source", name, declared, binary)
	}
	sum, err := host.FileSHA256(binary)
	if err != nil {
		return cmdutil.Exitf(exitcode.BadInput, "plugin %q: %s", name, err)
	}
	if declared == "" {
		block.Body().SetAttributeValue("source", cty.StringVal(pathFrom(dir, binary)))
	}
	block.Body().SetAttributeValue("sha256", cty.StringVal(sum))
	if err := atomicfile.Write(path, hclwrite.Format(file.Bytes()), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "Pinned plugin %q in %s: sha256 %s\nRun `runbook plugins lock` to record its schema.\n", name, path, sum)
	return nil
}

// findPluginBlock finds the one plugin block named name in the runbook
// directory, parsed for editing.
func findPluginBlock(opts *cmdutil.Factory, name string) (string, *hclwrite.File, *hclwrite.Block, error) {
	files, err := schema.ListFiles(opts.Global.Dir)
	if err != nil {
		return "", nil, nil, cmdutil.Exitf(exitcode.BadInput, "cannot read runbook directory %s: %s", opts.Global.Dir, err)
	}
	var found []string
	var file *hclwrite.File
	var block *hclwrite.Block
	for _, f := range files {
		if schema.IsTestFile(f) {
			continue
		}
		src, err := safefile.ReadFile(f, maxPinnedFile)
		if err != nil {
			return "", nil, nil, cmdutil.Exitf(exitcode.BadInput, "%s", err)
		}
		wf, diags := hclwrite.ParseConfig(src, f, hcl.InitialPos)
		if diags.HasErrors() {
			continue // validate reports it; a block in it cannot be edited safely
		}
		for _, b := range wf.Body().Blocks() {
			if b.Type() == "plugin" && len(b.Labels()) == 1 && b.Labels()[0] == name {
				found = append(found, f)
				file, block = wf, b
			}
		}
	}
	switch len(found) {
	case 0:
		return "", nil, nil, cmdutil.Exitf(exitcode.BadInput, "no plugin block %q in %s: declare it first (plugin %q { source = \"…\" })", name, opts.Global.Dir, name)
	case 1:
		return found[0], file, block, nil
	default:
		return "", nil, nil, cmdutil.Exitf(exitcode.BadInput, "plugin %q is declared more than once (%s): validate says why", name, strings.Join(found, ", "))
	}
}

// pathFrom is path relative to dir where it can be, else as given: what a
// plugin block in dir says to name path.
func pathFrom(dir, path string) string {
	abs, err1 := filepath.Abs(path)
	absDir, err2 := filepath.Abs(dir)
	if err1 != nil || err2 != nil {
		return path
	}
	if r, err := filepath.Rel(absDir, abs); err == nil {
		return r
	}
	return path
}

// literalString is the value of an attribute that is one quoted string
// with no interpolation.
func literalString(attr *hclwrite.Attribute) (string, bool) {
	toks := attr.Expr().BuildTokens(nil)
	var b bytes.Buffer
	for _, t := range toks {
		b.Write(t.Bytes)
	}
	expr, diags := hclsyntax.ParseExpression(b.Bytes(), "", hcl.InitialPos)
	if diags.HasErrors() {
		return "", false
	}
	v, diags := expr.Value(nil)
	if diags.HasErrors() || !v.IsKnown() || v.IsNull() || !v.Type().Equals(cty.String) {
		return "", false
	}
	return v.AsString(), true
}

// sameFile reports whether a and b name the same file.
func sameFile(a, b string) bool {
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	if errA != nil || errB != nil {
		return errors.Is(errA, os.ErrNotExist) && errors.Is(errB, os.ErrNotExist) && filepath.Clean(a) == filepath.Clean(b)
	}
	return os.SameFile(fa, fb)
}
