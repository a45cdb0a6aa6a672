package main

import (
	"os"
	"runtime/debug"

	"github.com/runbookdev/runbook/cmd/runbook/internal/cmd/root"
	"github.com/runbookdev/runbook/cmd/runbook/internal/cmdutil"
	"github.com/runbookdev/runbook/cmd/runbook/internal/iostreams"
	"github.com/runbookdev/runbook/plugins/builtin"
)

func main() {
	tuneGC()
	os.Exit(Main(os.Args[1:], iostreams.System()))
}

// tuneGC gives the collector a larger heap goal than Go's default, as the Go
// compiler does for the same reason: the process is short-lived and its live
// heap small, so with GOGC=100 it spends more time in garbage collection than
// in parsing (validating 1,000 runbooks: 2.3 s of system time alone). A soft
// memory limit keeps the larger goal bounded. GOGC and GOMEMLIMIT, when set,
// win.
func tuneGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(400)
	}
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(1 << 30)
	}
}

// Main runs the command line with the built-in plugins and returns the
// process exit code.
func Main(args []string, streams *iostreams.IOStreams) int {
	return root.Main(args, cmdutil.New(streams, builtin.Registry()))
}
