package main

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/runbookdev/runbook/cmd/runbook/internal/iostreams"
	"github.com/runbookdev/runbook/docs/doccheck"
)

// helpOf runs `runbook ARGS... --help` and returns what it printed.
func helpOf(t *testing.T, args ...string) string {
	t.Helper()
	streams, _, out, errOut := iostreams.Test()
	if code := Main(append(args, "--help"), streams); code != 0 {
		t.Fatalf("runbook %s --help exited %d: %s", strings.Join(args, " "), code, errOut)
	}
	return out.String()
}

var (
	helpCommand = regexp.MustCompile(`^  ([a-z][a-z0-9-]*)\s{2,}\S`)
	helpFlag    = regexp.MustCompile(`^\s+(?:-[a-zA-Z], )?(--[a-z][a-z0-9-]*)`)
)

// helpSections returns the subcommands and the flags (own, then global)
// that a help text lists.
func helpSections(help string) (commands, flags, global []string) {
	var section string
	for line := range strings.SplitSeq(help, "\n") {
		if line != "" && !strings.HasPrefix(line, " ") {
			section = line
			continue
		}
		switch section {
		case "Available Commands:":
			if m := helpCommand.FindStringSubmatch(line); m != nil {
				commands = append(commands, m[1])
			}
		case "Flags:", "Global Flags:":
			if m := helpFlag.FindStringSubmatch(line); m != nil && m[1] != "--help" {
				if section == "Flags:" {
					flags = append(flags, m[1])
				} else {
					global = append(global, m[1])
				}
			}
		}
	}
	return commands, flags, global
}

// docs/commands.md documents every command the CLI has, under a heading
// that names it (`runbook transcript verify`), every flag of it in that
// section, the global flags, and every exit code: all as the CLI's own
// --help lists them, so a command or flag added to the CLI fails this
// test until it is documented.
func TestCommandsDocumented(t *testing.T) {
	page := doccheck.Load(t, "commands.md")
	rootCommands, rootFlags, _ := helpSections(helpOf(t))
	if len(rootCommands) < 8 {
		t.Fatalf("runbook --help lists only %v", rootCommands)
	}
	globals, ok := page.Titled("Global flags")
	if !ok {
		t.Error("docs/commands.md has no \"Global flags\" section")
	}
	for _, f := range rootFlags {
		if !doccheck.Mentions(globals.Body, f) {
			t.Errorf("docs/commands.md, \"Global flags\": %s is not documented", f)
		}
	}
	var visit func(path []string)
	visit = func(path []string) {
		commands, flags, _ := helpSections(helpOf(t, path...))
		name := "runbook " + strings.Join(path, " ")
		section, ok := page.Find(name)
		if !ok {
			t.Errorf("docs/commands.md: no heading names `%s`", name)
		}
		for _, f := range flags {
			if ok && !doccheck.Mentions(section.Body, f) {
				t.Errorf("docs/commands.md, %q: flag %s of %s is not documented", section.Heading, f, name)
			}
		}
		for _, sub := range commands {
			visit(append(append([]string(nil), path...), sub))
		}
	}
	for _, c := range rootCommands {
		if c == "help" {
			continue
		}
		visit([]string{c})
	}

	codes, ok := page.Titled("Exit codes")
	if !ok {
		t.Fatal("docs/commands.md has no \"Exit codes\" section")
	}
	for name, code := range exitCodes(t) {
		if !regexp.MustCompile(`(?m)^\| *` + strconv.Itoa(code) + ` *\|`).MatchString(codes.Body) {
			t.Errorf("docs/commands.md, \"Exit codes\": exit code %d (exitcode.%s) has no row", code, name)
		}
	}
}

// exitCodes reads the exit codes the commands use from the source of
// engine/exitcode, so that a code added there is found here.
func exitCodes(t *testing.T) map[string]int {
	t.Helper()
	codes := map[string]int{}
	for name, value := range doccheck.Constants(t, filepath.Join("..", "..", "engine", "exitcode")) {
		if n, err := strconv.Atoi(value); err == nil {
			codes[name] = n
		}
	}
	if len(codes) < 5 {
		t.Fatalf("found only the exit codes %v in engine/exitcode", codes)
	}
	return codes
}
