package main

import (
	"os"
	"runtime/debug"
)

func main() {
	tuneGC()
	os.Exit(Main(os.Args[1:], SystemIO()))
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
