package main

import (
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

// cmdEnvFile implements `envfile NAME FILE`: sets $NAME to the first line
// of FILE, trimmed, so that a value a command printed (a run's trace id)
// can be used in a later command's arguments.
func cmdEnvFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: envfile NAME FILE")
	}
	first, _, _ := strings.Cut(ts.ReadFile(args[1]), "\n")
	value := strings.TrimSpace(first)
	if value == "" {
		ts.Fatalf("envfile: %s is empty", args[1])
	}
	ts.Setenv(args[0], value)
}
