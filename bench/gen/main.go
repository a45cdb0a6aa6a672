// Command gen writes a benchmark workload of generated runbooks:
//
//	go run ./bench/gen -n 1000 -steps 20 -out DIR
//
// DIR receives one runbook per file (rb-0000.hcl, …) and a plugins.hcl; see
// package bench/workload for what the runbooks contain.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/runbookdev/runbook/bench/workload"
)

func main() {
	n := flag.Int("n", 1000, "number of runbooks (one per file)")
	steps := flag.Int("steps", 20, "steps per runbook")
	out := flag.String("out", "", "directory to write into (created if missing)")
	flag.Parse()
	if *out == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: gen [-n N] [-steps S] -out DIR")
		os.Exit(2)
	}
	if err := workload.Write(*out, *n, *steps); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
