package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/runbookdev/runbook/plugins/host"
)

// buildEchoPlugin builds the example external plugin, once per test run,
// for the scripts: they get its path and sha256 as $ECHO_PLUGIN and
// $ECHO_PLUGIN_SHA256 (see subst).
func buildEchoPlugin(t *testing.T) (path, sum string) {
	t.Helper()
	return buildPlugin(t, "echo", "github.com/runbookdev/runbook/plugins/examples/echo")
}

// buildLitellmPlugin builds testdata/litellm, a plugin whose handlers make
// the mistakes runbook must report well, as $LITELLM_PLUGIN and
// $LITELLM_PLUGIN_SHA256.
func buildLitellmPlugin(t *testing.T) (path, sum string) {
	t.Helper()
	return buildPlugin(t, "litellm", "./testdata/litellm")
}

// buildPlugin builds the Go package pkg as runbook-plugin-NAME and returns
// its path and sha256.
func buildPlugin(t *testing.T, name, pkg string) (path, sum string) {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("building the %s plugin needs the go command: %v", name, err)
	}
	path = filepath.Join(t.TempDir(), "runbook-plugin-"+name)
	out, err := exec.Command(goCmd, "build", "-o", path, pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("build the %s plugin: %v\n%s", name, err, out)
	}
	if sum, err = host.FileSHA256(path); err != nil {
		t.Fatal(err)
	}
	return path, sum
}

// substVar is what subst replaces: ${NAME} with NAME in capitals, so that
// HCL's own ${var.x} templates are left alone.
var substVar = regexp.MustCompile(`\$\{([A-Z][A-Z0-9_]*)\}`)

// cmdSubst implements `subst FILE...`: it replaces ${NAME} in each file
// with the script's environment variable NAME (an unset one is an error),
// for values a script cannot write literally, like a plugin's checksum.
func cmdSubst(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! subst")
	}
	if len(args) == 0 {
		ts.Fatalf("usage: subst FILE...")
	}
	for _, name := range args {
		file := ts.MkAbs(name)
		b, err := os.ReadFile(file)
		ts.Check(err)
		out := substVar.ReplaceAllStringFunc(string(b), func(m string) string {
			key := substVar.FindStringSubmatch(m)[1]
			v := ts.Getenv(key)
			if v == "" {
				ts.Fatalf("subst %s: $%s is not set", name, key)
			}
			return v
		})
		ts.Check(os.WriteFile(file, []byte(out), 0o666))
	}
}

// cmdSHA256 implements `sha256 NAME FILE`: it sets the script's environment
// variable NAME to the SHA-256 of FILE, for a plugin block (see subst) that
// names a binary the script wrote.
func cmdSHA256(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: sha256 NAME FILE")
	}
	sum, err := host.FileSHA256(ts.MkAbs(args[1]))
	ts.Check(err)
	ts.Setenv(args[0], sum)
}
