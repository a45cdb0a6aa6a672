//go:build unix

package host

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/runbookdev/runbook/plugins/proctree"
)

func applyPid(t *testing.T, p *Plugin, action string) int {
	t.Helper()
	out, _, err := apply(context.Background(), p, action)
	if err != nil {
		t.Fatalf("%s: %v", action, err)
	}
	f, _ := out.AsBigFloat().Int64()
	if f <= 0 {
		t.Fatalf("%s: pid %v", action, out)
	}
	return int(f)
}

// A plugin that daemonizes (setsid, and a double fork that orphans the
// daemon) leaves nothing running once it is closed.
func TestDaemonsEndWithThePlugin(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("relies on /proc and a child subreaper")
	}
	l := testLauncher(t)
	l.Subreaper = true
	p, err := l.Launch(context.Background(), modeSpec(t, "echo"))
	if err != nil {
		t.Fatal(err)
	}
	daemon := applyPid(t, p, "daemon")
	orphan := applyPid(t, p, "orphan")
	for _, pid := range []int{daemon, orphan} {
		if gone(pid) {
			t.Fatalf("daemon %d did not start", pid)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	waitGone(t, daemon, "a setsid child of a closed plugin")
	waitGone(t, orphan, "a daemon a closed plugin orphaned")
}

// The same for the launch that only asks a plugin for its schema: a
// plugin that starts a daemon as it starts leaves none behind.
func TestSchemaLaunchLeavesNoDaemon(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("relies on /proc and a child subreaper")
	}
	l := testLauncher(t)
	l.Subreaper = true
	file := filepath.Join(t.TempDir(), "daemon.pid")
	p, err := l.Launch(context.Background(), modeSpec(t, "echo", envDaemonFile+"="+file))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Schema(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	waitGone(t, readPid(t, file), "the daemon of a plugin launched for its schema")
}

// The private copies of external plugins that a killed runbook left
// behind are removed at the next launch; those of live runbooks, and
// folders whose owner is not known, are not.
func TestStalePrivateCopiesRemoved(t *testing.T) {
	base := t.TempDir()
	mk := func(name, owner string) string {
		dir := filepath.Join(base, name)
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "runbook-plugin-x"), make([]byte, 1<<20), 0o700); err != nil {
			t.Fatal(err)
		}
		if owner != "" {
			if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(owner), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	self, ok := proctree.Lookup(os.Getpid())
	if !ok && runtime.GOOS == "linux" {
		t.Fatal("cannot read this process's start time")
	}
	// A pid that no process has: beyond pid_max.
	stale := mk("runbook-plugin-x-111", "4194305 1\n")
	reused := mk("runbook-plugin-x-222", strconv.Itoa(os.Getpid())+" "+strconv.FormatUint(self.Start+1, 10)+"\n")
	live := mk("runbook-plugin-x-333", strconv.Itoa(os.Getpid())+" "+strconv.FormatUint(self.Start, 10)+"\n")
	unknown := mk("runbook-plugin-x-444", "")
	other := mk("something-else", "4194305 1\n")

	l := &Launcher{TempDir: base}
	launch(t, l, modeSpec(t, "echo"))

	exists := func(dir string) bool { _, err := os.Stat(dir); return err == nil }
	if exists(stale) {
		t.Error("the copy of a dead runbook is still there")
	}
	if runtime.GOOS == "linux" && exists(reused) {
		t.Error("the copy of a dead runbook whose pid was reused is still there")
	}
	for _, dir := range []string{live, unknown, other} {
		if !exists(dir) {
			t.Errorf("%s was removed", filepath.Base(dir))
		}
	}
}
