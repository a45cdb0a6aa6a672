package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the test binary act as the runbook command inside scripts:
// testscript puts a copy of it named "runbook" on $PATH.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"runbook": func() { os.Exit(Main(os.Args[1:], SystemIO())) },
	})
}

// TestScripts runs the acceptance scenarios in testdata/script: each drives
// the real CLI, in its own process, end to end.
//
// Besides the standard testscript commands, scripts have
//
//	exits CODE PROGRAM [ARGS...]
//
// which runs PROGRAM like exec and fails unless it exits with exactly CODE
// (SPEC §1 gives every exit code a meaning, so `! exec` is not precise
// enough). A Go panic also exits 2, so exits fails on a stack trace in
// stderr whatever the code. Its stdout and stderr are checked with
// stdout/stderr as usual.
//
// $REPO_RUNBOOKS is the repository's shipped runbooks/ directory, and
// $REPO_ROOT the repository (for copies of runbooks/ and examples/).
func TestScripts(t *testing.T) {
	repoRunbooks, err := filepath.Abs(filepath.Join("..", "..", "runbooks"))
	if err != nil {
		t.Fatal(err)
	}
	echoPlugin, echoSHA256 := buildEchoPlugin(t)
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("NO_COLOR", "1")
			env.Setenv("REPO_RUNBOOKS", repoRunbooks)
			env.Setenv("REPO_ROOT", filepath.Dir(repoRunbooks))
			// Inputs the CLI reads from the environment must not leak
			// in from the developer's shell.
			env.Setenv("RUNBOOK_DIR", "")
			env.Setenv("RUNBOOK_STATE_DIR", "")
			env.Setenv("RUNBOOK_LOCK_URL", "")
			// The example external plugin: see plugins_cmd_test.go.
			env.Setenv("ECHO_PLUGIN", echoPlugin)
			env.Setenv("ECHO_PLUGIN_SHA256", echoSHA256)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exits": cmdExits,
			// mktranscript and tamper: see transcript_cmd_test.go.
			"mktranscript": cmdMkTranscript,
			"tamper":       cmdTamper,
			// subst: see plugins_cmd_test.go.
			"subst": cmdSubst,
			// gensecrets and nosecrets: see secrets_test.go.
			"gensecrets": cmdGenSecrets,
			"nosecrets":  cmdNoSecrets,
		},
	})
}

// cmdExits implements `exits CODE PROGRAM [ARGS...]`.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! exits")
	}
	if len(args) < 2 {
		ts.Fatalf("usage: exits CODE PROGRAM [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: bad exit code %q", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			ts.Fatalf("exits: %v", err)
		}
		got = exitErr.ExitCode()
	}
	if panicked.MatchString(ts.ReadFile("stderr")) {
		ts.Fatalf("%s panicked (exit status %d)", args[1], got)
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
	}
}

// panicked matches the start of a Go panic or fatal error report.
var panicked = regexp.MustCompile(`(?m)^(panic: |fatal error: |goroutine \d+ \[)`)
