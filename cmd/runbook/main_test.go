package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/runbookdev/runbook/cmd/runbook/internal/iostreams"
	"github.com/runbookdev/runbook/engine/transcript/transcripttest"
	"github.com/runbookdev/runbook/examples/sample"
)

// TestMain lets the test binary act as the runbook command inside scripts:
// testscript puts a copy of it named "runbook" on $PATH.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"runbook": func() { os.Exit(Main(os.Args[1:], iostreams.System())) },
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
// (docs/commands.md, "Exit codes": every exit code has a meaning, so `! exec` is not precise
// enough). A Go panic also exits 2, so exits fails on a stack trace in
// stderr whatever the code. Its stdout and stderr are checked with
// stdout/stderr as usual.
//
//	pty [-color] CODE PROGRAM [ARGS...]
//
// runs PROGRAM as exits does, but with stdin, stdout and stderr on a
// pseudo-terminal (util-linux's script), as a person at a terminal runs
// it: what `stdin FILE` gave is typed in, and stdout holds all the
// terminal showed (typed answers echoed, lines ending in \n, a \r that
// rewrites a line kept). -color runs it without NO_COLOR.
//
// $REPO_RUNBOOKS is the repository's shipped runbooks/ directory, and
// $SAMPLE a folder holding a pristine copy of its examples/ (never the
// working tree's, which the quick start changes): scripts copy it again
// before they change it.
func TestScripts(t *testing.T) {
	repoRunbooks, err := filepath.Abs(filepath.Join("..", "..", "runbooks"))
	if err != nil {
		t.Fatal(err)
	}
	sampleDir := sample.Copy(t, "examples")
	echoPlugin, echoSHA256 := buildEchoPlugin(t)
	litellmPlugin, litellmSHA256 := buildLitellmPlugin(t)
	// tracechild continues a run's trace from a shell.run step: see
	// testdata/tracechild.
	traceChild, _ := buildPlugin(t, "tracechild", "./testdata/tracechild")
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		// [postgres], [openssh], [jaeger] and [inspector]: see
		// services_test.go.
		Condition: serviceCondition,
		Setup: func(env *testscript.Env) error {
			env.Setenv("NO_COLOR", "1")
			env.Setenv("REPO_RUNBOOKS", repoRunbooks)
			env.Setenv("SAMPLE", sampleDir)
			// Inputs the CLI reads from the environment must not leak
			// in from the developer's shell.
			env.Setenv("RUNBOOK_DIR", "")
			env.Setenv("RUNBOOK_STATE_DIR", "")
			env.Setenv("RUNBOOK_LOCK_URL", "")
			env.Setenv("RUNBOOK_STORE", "")
			// The example external plugin: see plugins_cmd_test.go.
			env.Setenv("ECHO_PLUGIN", echoPlugin)
			env.Setenv("ECHO_PLUGIN_SHA256", echoSHA256)
			env.Setenv("LITELLM_PLUGIN", litellmPlugin)
			env.Setenv("LITELLM_PLUGIN_SHA256", litellmSHA256)
			env.Setenv("TRACECHILD", traceChild)
			// Services a script starts: see services_test.go.
			env.Values[scriptServicesKey{}] = &scriptServices{}
			// The MCP client: see mcp_cmd_test.go.
			env.Values[scriptMCPKey{}] = &scriptMCP{}
			// Every transcript a script leaves intact holds to the
			// format's schema (docs/transcript.md).
			env.Defer(func() {
				if problems := transcripttest.ProblemsUnder(env.WorkDir); len(problems) > 0 {
					env.T().Fatal(strings.Join(problems, "\n"))
				}
			})
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exits": cmdExits,
			"pty":   cmdPty,
			// mktranscript and tamper: see transcript_cmd_test.go.
			"mktranscript": cmdMkTranscript,
			"tamper":       cmdTamper,
			// subst and sha256: see plugins_cmd_test.go.
			"subst":  cmdSubst,
			"sha256": cmdSHA256,
			// repeat: see limits_test.go.
			"repeat": cmdRepeat,
			// gensecrets and nosecrets: see secrets_test.go.
			"gensecrets": cmdGenSecrets,
			"nosecrets":  cmdNoSecrets,
			// pgserver, pgsql, pgproxy, langfuse, jaeger and
			// jaegertrace: see services_test.go.
			"pgserver":    cmdPgServer,
			"pgsql":       cmdPgSQL,
			"pgproxy":     cmdPgProxy,
			"langfuse":    cmdLangfuse,
			"jaeger":      cmdJaeger,
			"jaegertrace": cmdJaegerTrace,
			// webhook: see notify_cmd_test.go.
			"webhook": cmdWebhook,
			// envfile: see telemetry_cmd_test.go.
			"envfile": cmdEnvFile,
			// mcpstart, mcptools, mcpcall, mcpread and mcpstop: see
			// mcp_cmd_test.go.
			"mcpstart": cmdMCPStart,
			"mcptools": cmdMCPTools,
			"mcpcall":  cmdMCPCall,
			"mcpread":  cmdMCPRead,
			"mcpstop":  cmdMCPStop,
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
	execExits(ts, args[0], args[1], args[1], args[2:])
}

// cmdPty implements `pty [-color] CODE PROGRAM [ARGS...]`.
func cmdPty(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! pty")
	}
	color := len(args) > 0 && args[0] == "-color"
	if color {
		args = args[1:]
	}
	if len(args) < 2 {
		ts.Fatalf("usage: pty [-color] CODE PROGRAM [ARGS...]")
	}
	quoted := make([]string, len(args)-1)
	for i, a := range args[1:] {
		quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	command := strings.Join(quoted, " ")
	if color {
		command = "unset NO_COLOR; " + command
	}
	// script(1) reports the program's exit status (-e); sed turns the
	// terminal's \r\n line ends back into \n.
	execExits(ts, args[0], args[1], "bash", []string{"-o", "pipefail", "-c", `script -qec "$0" /dev/null | sed 's/\r$//'`, command})
}

// execExits runs program with args and fails unless it exits with code;
// name is what messages call it.
func execExits(ts *testscript.TestScript, code, name, program string, args []string) {
	want, err := strconv.Atoi(code)
	if err != nil {
		ts.Fatalf("exits: bad exit code %q", code)
	}
	got := 0
	if err := ts.Exec(program, args...); err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			ts.Fatalf("exits: %v", err)
		}
		got = exitErr.ExitCode()
	}
	if panicked.MatchString(ts.ReadFile("stderr")) || panicked.MatchString(ts.ReadFile("stdout")) {
		ts.Fatalf("%s panicked (exit status %d)", name, got)
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", name, got, want)
	}
}

// panicked matches the start of a Go panic or fatal error report.
var panicked = regexp.MustCompile(`(?m)^(panic: |fatal error: |goroutine \d+ \[)`)
