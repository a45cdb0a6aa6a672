//go:build unix

package lock

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runbookdev/runbook/plugins/filelock"
)

// generous bounds a wait that is expected to end early; never asserted.
const generous = 5 * time.Minute

func newTestLocker(t *testing.T) (*fileLocker, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "locks")
	return NewFile(dir).(*fileLocker), dir
}

func acquire(t *testing.T, l Locker, name, runID string) Lease {
	t.Helper()
	lease, err := l.Acquire(context.Background(), name, Holder{RunID: runID, Operator: "test"}, 0)
	if err != nil {
		t.Fatalf("Acquire(%q, %s): %v", name, runID, err)
	}
	return lease
}

func release(t *testing.T, lease Lease) {
	t.Helper()
	if err := lease.Release(); err != nil {
		t.Fatalf("Release(%q): %v", lease.Name(), err)
	}
}

func wantHeld(t *testing.T, err error, wantRunID string) *HeldError {
	t.Helper()
	var held *HeldError
	if !errors.As(err, &held) {
		t.Fatalf("err = %v, want a *HeldError", err)
	}
	if held.Holder.RunID != wantRunID {
		t.Errorf("holder run id = %q, want %q (%v)", held.Holder.RunID, wantRunID, held)
	}
	return held
}

// flockHeld reports whether some open file description holds the flock on
// path, by trying to take it through a fresh one.
func flockHeld(t *testing.T, path string) bool {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	busy, err := filelock.TryLock(f)
	if err != nil {
		t.Fatal(err)
	}
	if !busy {
		if err := filelock.Unlock(f); err != nil {
			t.Fatal(err)
		}
	}
	return busy
}

func readSide(t *testing.T, path string) (Holder, bool) {
	t.Helper()
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return Holder{}, false
	}
	return readHolder(path), true
}

func TestAcquireReleaseReacquire(t *testing.T) {
	l, _ := newTestLocker(t)
	lockPath, sidePath := l.paths("deploy")

	lease := acquire(t, l, "deploy", "run-1")
	if lease.Name() != "deploy" {
		t.Errorf("Name() = %q, want \"deploy\"", lease.Name())
	}
	if !flockHeld(t, lockPath) {
		t.Error("flock not held after Acquire")
	}
	h, ok := readSide(t, sidePath)
	if !ok || h.RunID != "run-1" || h.Operator != "test" || h.PID != os.Getpid() || h.Since.IsZero() {
		t.Errorf("side file = %+v (exists %v), want run-1 by this process", h, ok)
	}
	_, err := l.Acquire(context.Background(), "deploy", Holder{RunID: "run-2"}, 0)
	wantHeld(t, err, "run-1")

	release(t, lease)
	release(t, lease) // a second Release is a no-op
	if flockHeld(t, lockPath) {
		t.Error("flock still held after Release")
	}
	if _, ok := readSide(t, sidePath); ok {
		t.Error("side file left after Release")
	}
	release(t, acquire(t, l, "deploy", "run-2"))
}

func TestAcquireEmptyName(t *testing.T) {
	l, _ := newTestLocker(t)
	if _, err := l.Acquire(context.Background(), "", Holder{RunID: "r"}, 0); err == nil {
		t.Fatal("Acquire with an empty name succeeded")
	}
}

func TestNestedAcquisition(t *testing.T) {
	l, dir := newTestLocker(t)
	other := NewFile(dir) // another Locker on the same folder shares the table
	lockPath, _ := l.paths("prompt/support-agent")

	outer := acquire(t, l, "prompt/support-agent", "run-1")
	inner := acquire(t, other, "prompt/support-agent", "run-1")
	_, err := l.Acquire(context.Background(), "prompt/support-agent", Holder{RunID: "run-2"}, 0)
	wantHeld(t, err, "run-1")
	_, err = l.Acquire(context.Background(), "prompt/support-agent", Holder{}, 0)
	wantHeld(t, err, "run-1") // an empty run id is never re-entrant

	release(t, inner)
	release(t, inner)
	if !flockHeld(t, lockPath) {
		t.Fatal("releasing the inner lease released the lock")
	}
	_, err = l.Acquire(context.Background(), "prompt/support-agent", Holder{RunID: "run-2"}, 0)
	wantHeld(t, err, "run-1")

	release(t, outer)
	if flockHeld(t, lockPath) {
		t.Fatal("lock still held after the last lease was released")
	}
	release(t, acquire(t, l, "prompt/support-agent", "run-2"))
}

func TestHeldByAnotherProcess(t *testing.T) {
	l, dir := newTestLocker(t)
	want := Holder{
		RunID:    "20261126T140501-helper",
		Operator: "alice",
		Host:     "box",
		Since:    time.Date(2026, 11, 26, 14, 5, 1, 0, time.UTC),
	}
	hp := startHelper(t, dir, "prompt/support-agent", want)
	want.PID = hp.pid

	_, err := l.Acquire(context.Background(), "prompt/support-agent", Holder{RunID: "run-2"}, 0)
	held := wantHeld(t, err, want.RunID)
	if diff := cmp.Diff(want, held.Holder); diff != "" {
		t.Errorf("holder (-want +got):\n%s", diff)
	}
	if held.Name != "prompt/support-agent" {
		t.Errorf("Name = %q", held.Name)
	}
	if !strings.Contains(err.Error(), "alice@box") {
		t.Errorf("message %q does not name the holder", err)
	}

	hp.release(t)
	release(t, acquire(t, l, "prompt/support-agent", "run-2"))
}

func TestHeldLockRefusesAnotherProcess(t *testing.T) {
	l, dir := newTestLocker(t)
	lease := acquire(t, l, "deploy", "run-1")
	defer release(t, lease)

	cmd := helperCmd(t, dir, "deploy", Holder{RunID: "run-2"})
	out, err := cmd.CombinedOutput()
	var exitErr interface{ ExitCode() int }
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 3 {
		t.Fatalf("helper: %v, want exit 3; output: %s", err, out)
	}
	if !strings.Contains(string(out), "run run-1") {
		t.Errorf("helper output %q does not name run-1", out)
	}
}

func TestKilledHolderLeavesNoLock(t *testing.T) {
	l, dir := newTestLocker(t)
	lockPath, sidePath := l.paths("deploy")
	hp := startHelper(t, dir, "deploy", Holder{RunID: "run-killed"})
	hp.kill(t)

	if h, ok := readSide(t, sidePath); !ok || h.RunID != "run-killed" {
		t.Fatalf("side file = %+v (exists %v), want the killed run's stale record", h, ok)
	}
	if flockHeld(t, lockPath) {
		t.Fatal("flock still held after the holder was killed")
	}
	lease := acquire(t, l, "deploy", "run-2")
	defer release(t, lease)
	if h, _ := readSide(t, sidePath); h.RunID != "run-2" {
		t.Errorf("side file names %q, want run-2", h.RunID)
	}
}

func TestStaleOrCorruptSideFile(t *testing.T) {
	tests := []struct {
		name string
		side string
	}{
		{name: "stale record", side: `{"run_id": "ghost", "pid": 1}`},
		{name: "corrupt record", side: `{not json`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, dir := newTestLocker(t)
			_, sidePath := l.paths("deploy")
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(sidePath, []byte(tt.side), 0o600); err != nil {
				t.Fatal(err)
			}
			release(t, acquire(t, l, "deploy", "run-1"))
		})
	}
}

func TestHeldWithMissingOrCorruptSideFile(t *testing.T) {
	tests := []struct {
		name    string
		side    *string
		wantMsg string
	}{
		{name: "missing", wantMsg: "another run (holder unknown)"},
		{name: "corrupt", side: ptr("{garbage"), wantMsg: "another run (holder unknown)"},
		{name: "partial", side: ptr(`{"run_id": "r9", "pid": "not a number"}`), wantMsg: "run r9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, dir := newTestLocker(t)
			lockPath, sidePath := l.paths("deploy")
			hp := startHelper(t, dir, "deploy", Holder{RunID: "helper"})
			defer hp.release(t)
			if err := os.Remove(sidePath); err != nil {
				t.Fatal(err)
			}
			if tt.side != nil {
				if err := os.WriteFile(sidePath, []byte(*tt.side), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if !flockHeld(t, lockPath) {
				t.Fatal("helper does not hold the flock")
			}
			_, err := l.Acquire(context.Background(), "deploy", Holder{RunID: "run-2"}, 0)
			var held *HeldError
			if !errors.As(err, &held) {
				t.Fatalf("err = %v, want a *HeldError", err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("message %q does not contain %q", err, tt.wantMsg)
			}
		})
	}
}

func TestWaitSucceedsWhenHolderReleases(t *testing.T) {
	l, dir := newTestLocker(t)
	hp := startHelper(t, dir, "deploy", Holder{RunID: "run-1"})
	waiting := make(chan struct{})
	var once sync.Once
	l.afterHeld = func() { once.Do(func() { close(waiting) }) }

	type result struct {
		lease Lease
		err   error
	}
	done := make(chan result, 1)
	go func() {
		lease, err := l.Acquire(context.Background(), "deploy", Holder{RunID: "run-2"}, generous)
		done <- result{lease, err}
	}()
	<-waiting // Acquire found the lock held and is waiting
	hp.release(t)
	r := <-done
	if r.err != nil {
		t.Fatalf("Acquire with wait: %v", r.err)
	}
	release(t, r.lease)
}

func TestWaitTimesOut(t *testing.T) {
	tests := []struct {
		name string
		hold func(t *testing.T, l Locker, dir string)
	}{
		{name: "held by another process", hold: func(t *testing.T, _ Locker, dir string) {
			hp := startHelper(t, dir, "deploy", Holder{RunID: "run-1"})
			t.Cleanup(func() { hp.release(t) })
		}},
		{name: "held by another run in this process", hold: func(t *testing.T, l Locker, _ string) {
			lease := acquire(t, l, "deploy", "run-1")
			t.Cleanup(func() { release(t, lease) })
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, dir := newTestLocker(t)
			tt.hold(t, l, dir)
			tries := 0
			l.afterHeld = func() { tries++ }
			_, err := l.Acquire(context.Background(), "deploy", Holder{RunID: "run-2"}, 100*time.Millisecond)
			wantHeld(t, err, "run-1")
			if tries == 0 {
				t.Error("Acquire with a wait never waited")
			}
		})
	}
}

func TestContextEndsWait(t *testing.T) {
	tests := []struct {
		name         string
		cancelBefore bool
		wait         time.Duration
	}{
		{name: "cancelled while waiting", wait: generous},
		{name: "cancelled before acquiring", cancelBefore: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, _ := newTestLocker(t)
			lease := acquire(t, l, "deploy", "run-1")
			defer release(t, lease)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancelBefore {
				cancel()
			}
			l.afterHeld = cancel
			_, err := l.Acquire(ctx, "deploy", Holder{RunID: "run-2"}, tt.wait)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
			var held *HeldError
			if errors.As(err, &held) {
				t.Errorf("err = %v is a HeldError; want only the context's error", err)
			}
		})
	}
}

func TestNamesMapToSafeDistinctFiles(t *testing.T) {
	long := strings.Repeat("very/long/", 60)
	names := []string{
		"deploy",
		"prompt/support-agent",
		"prompt%2Fsupport-agent",
		"..",
		".",
		"../../escape",
		"/abs/path",
		"with space",
		"tab\tand\nnewline",
		"nul\x00byte",
		"ünïcødé",
		".hidden",
		long + "a",
		long + "b",
		strings.Repeat("%", 300),
	}
	parent := t.TempDir()
	dir := filepath.Join(parent, "locks")
	l := NewFile(dir).(*fileLocker)

	seen := map[string]string{}
	var leases []Lease
	for _, name := range names {
		lockPath, sidePath := l.paths(name)
		for _, p := range []string{lockPath, sidePath} {
			if filepath.Dir(p) != dir {
				t.Errorf("name %q maps to %s, outside %s", name, p, dir)
			}
			if n := len(filepath.Base(p)); n > 200 {
				t.Errorf("name %q maps to a %d-byte file name", name, n)
			}
		}
		if prev, ok := seen[lockPath]; ok {
			t.Errorf("names %q and %q share %s", prev, name, lockPath)
		}
		seen[lockPath] = name
		leases = append(leases, acquire(t, l, name, "run-1"))
	}
	entries, err := os.ReadDir(parent)
	if err != nil || len(entries) != 1 || entries[0].Name() != "locks" {
		t.Errorf("parent holds %v (%v), want only locks/", entries, err)
	}
	entries, _ = os.ReadDir(dir)
	if want := 2 * len(names); len(entries) != want {
		t.Errorf("%s holds %d files, want %d (a lock and a side file per name)", dir, len(entries), want)
	}
	for _, lease := range leases {
		release(t, lease)
	}
	entries, _ = os.ReadDir(dir)
	if len(entries) != len(names) {
		t.Errorf("%s holds %d files after release, want %d lock files", dir, len(entries), len(names))
	}
}

func TestPermissions(t *testing.T) {
	l := NewFile(filepath.Join(t.TempDir(), "state", "locks")).(*fileLocker)
	lease := acquire(t, l, "deploy", "run-1")
	defer release(t, lease)
	lockPath, sidePath := l.paths("deploy")
	for _, tt := range []struct {
		path string
		want os.FileMode
	}{
		{l.dir, 0o700},
		{lockPath, 0o600},
		{sidePath, 0o600},
	} {
		fi, err := os.Stat(tt.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != tt.want {
			t.Errorf("%s: mode %v, want %v", tt.path, got, tt.want)
		}
	}
}

func TestSideFileFormat(t *testing.T) {
	l, _ := newTestLocker(t)
	since := time.Date(2026, 11, 26, 14, 5, 1, 0, time.UTC)
	lease, err := l.Acquire(context.Background(), "deploy", Holder{RunID: "r1", Operator: "alice", Host: "box", PID: 42, Since: since}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer release(t, lease)
	_, sidePath := l.paths("deploy")
	data, err := os.ReadFile(sidePath)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"run_id": "r1", "operator": "alice", "host": "box", "pid": float64(42), "since": "2026-11-26T14:05:01Z"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("side file (-want +got):\n%s", diff)
	}
}

func ptr[T any](v T) *T { return &v }
