package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/runbookdev/runbook/cmd/runbook/internal/iostreams"
	"github.com/runbookdev/runbook/docs/doccheck"
	"github.com/runbookdev/runbook/plugins/host"
)

// docs/plugins.md's "From zero to a listed plugin" works as written: its
// main.go builds, its plugin block and runbook are accepted, `runbook
// plugins pin`, `plugins lock` and `plugins greet` print what the page
// shows (with this build's checksum), and `exec` runs the action.
func TestPluginGuideFromZero(t *testing.T) {
	page := doccheck.Load(t, "plugins.md")
	section, ok := page.Titled("From zero to a listed plugin")
	if !ok {
		t.Fatal("docs/plugins.md has no section \"From zero to a listed plugin\"")
	}
	goBlocks, hclBlocks, shBlocks, outBlocks := doccheck.FencedBlocks(section.Body, "go"), doccheck.FencedBlocks(section.Body, "hcl"), doccheck.FencedBlocks(section.Body, "sh"), doccheck.FencedBlocks(section.Body, "")
	if len(goBlocks) != 1 || len(hclBlocks) != 1 || len(shBlocks) != 2 || len(outBlocks) != 1 {
		t.Fatalf("the section has %d go, %d hcl, %d sh and %d plain blocks; want 1, 1, 2, 1", len(goBlocks), len(hclBlocks), len(shBlocks), len(outBlocks))
	}
	heredoc := regexp.MustCompile(`(?s)cat > runbooks/plugins\.hcl <<'HCL'\n(.*?\n)HCL\n`).FindStringSubmatch(shBlocks[1])
	if heredoc == nil {
		t.Fatal("the second sh block writes no runbooks/plugins.hcl")
	}

	work := t.TempDir()
	runbooks := filepath.Join(work, "runbooks")
	if err := os.Mkdir(runbooks, 0o755); err != nil {
		t.Fatal(err)
	}
	// Build the page's main.go as a package of this module, through an
	// overlay: nothing is written into the tree.
	src := filepath.Join(work, "main.go")
	if err := os.WriteFile(src, []byte(goBlocks[0]), 0o644); err != nil {
		t.Fatal(err)
	}
	pkgDir, err := filepath.Abs(filepath.Join("testdata", "docs-plugin-guide"))
	if err != nil {
		t.Fatal(err)
	}
	overlay, _ := json.Marshal(map[string]map[string]string{"Replace": {filepath.Join(pkgDir, "main.go"): src}})
	overlayFile := filepath.Join(work, "overlay.json")
	if err := os.WriteFile(overlayFile, overlay, 0o644); err != nil {
		t.Fatal(err)
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("building the guide's plugin needs the go command: %v", err)
	}
	binary := filepath.Join(runbooks, "runbook-plugin-greet")
	if out, err := exec.Command(goCmd, "build", "-overlay", overlayFile, "-o", binary, "./testdata/docs-plugin-guide").CombinedOutput(); err != nil {
		t.Fatalf("the guide's main.go does not build: %v\n%s", err, out)
	}
	sum, err := host.FileSHA256(binary)
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"plugins.hcl": heredoc[1], "hello.hcl": hclBlocks[0]} {
		if err := os.WriteFile(filepath.Join(runbooks, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	t.Chdir(work)
	t.Setenv("NO_COLOR", "1")
	t.Setenv("RUNBOOK_DIR", "")
	t.Setenv("RUNBOOK_STATE_DIR", "")
	t.Setenv("RUNBOOK_LOCK_URL", "")
	t.Setenv("RUNBOOK_CONFIG", filepath.Join(work, "no-config.hcl"))
	run := func(args ...string) string {
		t.Helper()
		streams, _, out, errOut := iostreams.Test()
		if code := Main(args, streams); code != 0 {
			t.Fatalf("runbook %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
		return out.String()
	}
	// The page's transcript: each "$ runbook …" line and what it printed.
	shown := regexp.MustCompile(`[0-9a-f]{64}`).ReplaceAllString(outBlocks[0], sum)
	commands := 0
	for _, part := range strings.Split(shown, "$ runbook ")[1:] {
		command, want, _ := strings.Cut(part, "\n")
		if got := run(strings.Fields(command)...); got != want {
			t.Errorf("runbook %s printed\n%s\nthe guide shows\n%s", command, got, want)
		}
		commands++
	}
	if commands != 3 {
		t.Errorf("the guide shows %d commands, want pin, lock and plugins", commands)
	}
	run("validate")
	if out := run("exec", "hello"); !strings.Contains(out, "greeting: hello, on-call") {
		t.Errorf("runbook exec hello printed\n%s\nwithout the greeting the guide promises", out)
	}
}
