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
	ansible := flag.String("ansible", "", "also write the equivalent ansible playbooks into this directory")
	exec := flag.String("exec", "", "also write the exec workload (runbook, plugins.hcl, Taskfile.yml) into this directory")
	flag.Parse()
	if *out == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: gen [-n N] [-steps S] -out DIR")
		os.Exit(2)
	}
	if err := workload.Write(*out, *n, *steps); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	if *ansible != "" {
		if err := workload.WritePlaybooks(*ansible, *n, *steps); err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
	}
	if *exec != "" {
		if err := workload.WriteExec(*exec); err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
	}
}
