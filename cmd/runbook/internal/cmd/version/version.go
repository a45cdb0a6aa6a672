// Package version is `runbook version`.
package version

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/runbookdev/runbook/cmd/runbook/internal/build"
	"github.com/runbookdev/runbook/cmd/runbook/internal/cmdutil"
)

// NewCmdVersion makes `runbook version`: the module version, the commit and
// date of the build when known, the Go version and the platform.
func NewCmdVersion(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cmdutil.UsageArgs(cobra.NoArgs),
		RunE: cmdutil.RunE(func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintln(f.IO.Out, Line(build.Read()))
			return err
		}),
	}
}

// Line is the version line: "runbook v1.2.3 (commit abc123def456, 2026-12-01T10:00:00Z; go1.26.8, linux/amd64)".
func Line(info build.Info) string {
	var parts []string
	if info.Commit != "" {
		c := info.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		if info.Modified {
			c += "+dirty"
		}
		parts = append(parts, "commit "+c)
	}
	if info.Date != "" {
		parts = append(parts, info.Date)
	}
	rt := fmt.Sprintf("%s, %s/%s", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if len(parts) == 0 {
		return fmt.Sprintf("runbook %s (%s)", info.Version, rt)
	}
	return fmt.Sprintf("runbook %s (%s; %s)", info.Version, strings.Join(parts, ", "), rt)
}
