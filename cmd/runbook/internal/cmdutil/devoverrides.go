package cmdutil

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/runbookdev/runbook/cmd/runbook/internal/resolver"
	"github.com/runbookdev/runbook/engine/exitcode"
)

// LoadDevOverrides reads the user's development overrides once per command
// (docs/plugins.md, "Development overrides"), warns about each on stderr,
// refuses them under CI, and hands them to the resolver.
func (f *Factory) LoadDevOverrides() error {
	path := resolver.UserConfigPath()
	overrides, file, diags := resolver.ReadDevOverrides(path)
	if diags.HasErrors() {
		var files map[string]*hcl.File
		if file != nil {
			files = map[string]*hcl.File{path: file}
		}
		f.PrintDiagnostics(files, diags)
		return SilentExit(exitcode.BadInput)
	}
	if len(overrides) == 0 {
		return nil
	}
	names := slices.Sorted(maps.Keys(overrides))
	if resolver.InCI() {
		return Exitf(exitcode.BadInput, "development overrides of plugin(s) %s in %s are refused when CI is set: CI runs the binaries the plugin blocks pin, never a local build", strings.Join(names, ", "), path)
	}
	cs := f.IO.ErrColorScheme()
	for _, n := range names {
		fmt.Fprintf(f.IO.ErrOut, "%s plugin %q is a development override: runbook runs %s without checking the sha256 of its plugin block (%s). Remove the override when you are done.\n",
			cs.Yellow("Warning:"), n, overrides[n].Path, path)
	}
	f.Resolver.DevOverrides = overrides
	return nil
}
