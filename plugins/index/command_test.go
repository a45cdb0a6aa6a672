//go:build unix

package index

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runbookdev/runbook/plugins"
)

// A build_command that follows the contract: it reads $1 (the source) and
// writes documents and manifest.json into $2, and may add keys of its own.
const goodCommand = `set -e
test "$1" = "$RUNBOOK_INDEX_SOURCE" && test "$2" = "$RUNBOOK_INDEX_OUTPUT"
test -z "$(ls -A "$2")"
n=0
for f in "$1"/*.txt; do n=$((n+1)); cat "$f" >> "$2/vectors.bin"; done
echo "embedded $n documents for $RUNBOOK_INDEX_NAME $RUNBOOK_INDEX_VERSION"
echo "a warning" >&2
printf '{"doc_count": %d, "model": "embed-3", "version": "theirs", "sha256": "nope"}' "$n" > "$2/manifest.json"`

func TestBuildCommand(t *testing.T) {
	tests := []struct {
		name    string
		command string
		docs    int64
		errText []string
	}{
		{name: "success", command: goodCommand, docs: 3},
		{name: "non-zero exit", command: "echo starting; echo 'out of quota' >&2; exit 3",
			errText: []string{"build_command exited with status 3", "out of quota"}},
		{name: "killed by a signal", command: "kill -9 $$", errText: []string{"status 137"}},
		{name: "no manifest", command: `echo '{}' > "$2/docs.jsonl"`,
			errText: []string{"wrote no manifest.json"}},
		{name: "manifest without doc_count", command: `echo '{"docs": 3}' > "$2/manifest.json"`,
			errText: []string{"invalid manifest.json", "doc_count is missing"}},
		{name: "manifest not JSON", command: `echo 'docs=3' > "$2/manifest.json"`,
			errText: []string{"invalid manifest.json"}},
		{name: "symlink in the build", command: `ln -s /etc/passwd "$2/leak"; echo '{"doc_count": 1}' > "$2/manifest.json"`,
			errText: []string{"leak is not a regular file"}},
		{name: "too few documents", command: `echo '{"doc_count": 1}' > "$2/manifest.json"`,
			errText: []string{"Build refused", "1 document, 67% fewer"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := newIndex(t, "kb")
			seed, _ := newPlugin(t, config{path: dir})
			live := str(mustRun(t, seed, "rebuild", rebuildArgsVal("kb", corpus(t, 3))), "version")
			p, _ := newPlugin(t, config{path: dir, buildCommand: tt.command})
			p.backend.(*fileBackend).now = seed.backend.(*fileBackend).now
			before := treeHash(t, dir)
			src := corpus(t, 3)
			out, lines, err := run(t, p, "rebuild", rebuildArgsVal("kb", src))
			if len(tt.errText) > 0 {
				if err == nil {
					t.Fatalf("no error, want %q", tt.errText)
				}
				for _, w := range tt.errText {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				if treeHash(t, dir) != before {
					t.Errorf("a failed build changed the index: %v", builds(t, dir, "kb"))
				}
				return
			}
			if err != nil {
				t.Fatalf("%v (progress %q)", err, lines)
			}
			version := str(out, "version")
			if num(out, "doc_count") != tt.docs || str(out, "previous_version") != live {
				t.Errorf("output %#v", out)
			}
			for _, want := range []string{"embedded 3 documents for kb " + version, "stderr: a warning", "swapped current → " + version} {
				if !contains(lines, want) {
					t.Errorf("progress %q lacks %q", lines, want)
				}
			}
			build := filepath.Join(dir, "kb", buildsDir, version)
			raw, err := os.ReadFile(filepath.Join(build, manifestFile))
			if err != nil {
				t.Fatal(err)
			}
			m, err := ParseManifest(raw)
			if err != nil {
				t.Fatal(err)
			}
			sum, _ := contentDigest(build)
			if m.Version != version || m.SHA256 != sum || m.Source != src || string(m.Extra["model"]) != `"embed-3"` {
				t.Errorf("manifest %s: the plugin's keys must replace the command's, its own keys stay", raw)
			}
		})
	}
}

// The source given to a build_command may be a file, but it must exist.
func TestBuildCommandSource(t *testing.T) {
	dir := newIndex(t, "kb")
	p, _ := newPlugin(t, config{path: dir, buildCommand: `printf '{"doc_count": %d}' "$(wc -l < "$1")" > "$2/manifest.json"`})
	src := filepath.Join(t.TempDir(), "dump.csv")
	writeTree(t, filepath.Dir(src), map[string]string{"dump.csv": "a\nb\n"})
	out := mustRun(t, p, "rebuild", rebuildArgsVal("kb", src))
	if num(out, "doc_count") != 2 {
		t.Errorf("doc_count %d, want 2", num(out, "doc_count"))
	}
	missing := filepath.Join(t.TempDir(), "gone.csv")
	_, _, err := run(t, p, "rebuild", rebuildArgsVal("kb", missing))
	wantPluginError(t, err, "source", missing+" does not exist")
}

// Cancelling a rebuild kills the build_command's whole process group,
// promptly, and leaves nothing behind.
func TestBuildCommandCancelled(t *testing.T) {
	old := killGrace
	killGrace = 500 * time.Millisecond
	t.Cleanup(func() { killGrace = old })
	dir := newIndex(t, "kb")
	pidFile := filepath.Join(t.TempDir(), "pid")
	seed, _ := newPlugin(t, config{path: dir})
	mustRun(t, seed, "rebuild", rebuildArgsVal("kb", corpus(t, 1)))
	// The command and its child ignore SIGTERM: only the escalation to
	// SIGKILL ends them.
	p, _ := newPlugin(t, config{path: dir, buildCommand: `trap '' TERM; sleep 60 & echo $! > ` + pidFile + `; echo started; wait`})
	p.backend.(*fileBackend).now = seed.backend.(*fileBackend).now
	before := treeHash(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	done := make(chan error)
	go func() {
		_, err := p.Apply(ctx, &plugins.ActionRequest{Action: "rebuild", Args: rebuildArgsVal("kb", corpus(t, 1)), Progress: func(l string) {
			if l == "started" {
				close(started)
			}
		}})
		done <- err
	}()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the command did not start")
	}
	cancel()
	cancelled := time.Now()
	select {
	case err := <-done:
		if d := time.Since(cancelled); d < killGrace/2 {
			t.Errorf("returned after %s: the command ignores SIGTERM, so only SIGKILL after killGrace (%s) could end it", d, killGrace)
		}
		if err == nil || !strings.Contains(err.Error(), "killed the command") {
			t.Errorf("error %v, want a killed command", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the cancelled rebuild did not return")
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	deadline := time.Now().Add(5 * time.Second)
	for processAlive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("the command's child %d outlived the cancelled rebuild", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if treeHash(t, dir) != before {
		t.Errorf("a cancelled build changed the index: %v", builds(t, dir, "kb"))
	}
}

// When the command exits, whatever it left running is killed: nothing may
// write into a build once it is verified.
func TestBuildCommandLeftovers(t *testing.T) {
	dir := newIndex(t, "kb")
	pidFile := filepath.Join(t.TempDir(), "pid")
	p, _ := newPlugin(t, config{path: dir, buildCommand: `sleep 60 > /dev/null 2>&1 & echo $! > ` + pidFile + `; echo '{"doc_count": 1}' > "$2/manifest.json"`})
	start := time.Now()
	mustRun(t, p, "rebuild", rebuildArgsVal("kb", corpus(t, 1)))
	if time.Since(start) > 5*time.Second {
		t.Errorf("the rebuild waited %s for a background process", time.Since(start))
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	deadline := time.Now().Add(5 * time.Second)
	for processAlive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("background process %d outlived the build", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// processAlive reports whether pid runs (a zombie does not count).
func processAlive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(stat), ')')
	return i < 0 || i+2 >= len(stat) || (stat[i+2] != 'Z' && stat[i+2] != 'X')
}

func TestLineSink(t *testing.T) {
	var got []string
	s := &lineSink{emit: func(l string) { got = append(got, l) }, prefix: "e: ", tail: 2}
	for _, chunk := range []string{"one\r\ntw", "o\nthr", "ee\n" + strings.Repeat("x", maxProgressLine+10) + "\nlast"} {
		if _, err := s.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	s.flush()
	want := []string{"e: one", "e: two", "e: three", "e: " + strings.Repeat("x", maxProgressLine) + "…", "e: last"}
	b1, _ := json.Marshal(got)
	b2, _ := json.Marshal(want)
	if string(b1) != string(b2) {
		t.Errorf("lines %q, want %q", got, want)
	}
	if s.lastLines() != strings.Repeat("x", maxProgressLine)+"…\nlast" {
		t.Errorf("tail %q", s.lastLines())
	}
}
