package transcript

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// appendEvent writes one event and fsyncs it, as the engine does at a
// step's boundary.
func appendEvent(w *Writer, typ string, fields any) (Event, error) {
	ev, err := w.Write(typ, fields)
	if err != nil {
		return ev, err
	}
	if err := w.Sync(); err != nil {
		return Event{}, err
	}
	return ev, nil
}

// fixedClock returns times one second apart from 2026-11-20T10:00:00.123456Z.
func fixedClock() func() time.Time {
	t := time.Date(2026, 11, 20, 10, 0, 0, 123456000, time.UTC)
	return func() time.Time { t = t.Add(time.Second); return t }
}

// sampleRun writes a short run to w, the shape the engine records.
func sampleRun(t testing.TB, w *Writer) {
	t.Helper()
	events := []struct {
		typ    string
		fields any
	}{
		{TypeRunStarted, map[string]any{
			"run_id": "r1", "runbook": "rollback-prompt", "mode": "run", "operator": "ana@host", "version": "1.0.0",
			"source":  map[string]any{"path": "runbooks/rollback.hcl", "sha256": strings.Repeat("ab", 32)},
			"plugins": map[string]any{"prompt": map[string]any{"version": "1.0.0", "sha256": strings.Repeat("cd", 32)}},
			"vars":    map[string]any{"prompt": "support", "token": "(sensitive)"},
		}},
		{TypeStepStarted, map[string]any{"step": "current", "index": 1, "owner": "ml"}},
		{TypeActionResult, map[string]any{"step": "current", "index": 1, "owner": "ml", "action": "prompt.status", "attempt": 1, "duration": "12ms", "read_only": true, "output": map[string]any{"version": 7}}},
		{TypeStepFinished, map[string]any{"step": "current", "index": 1, "owner": "ml", "status": "succeeded", "duration": "13ms"}},
		{TypeRunFinished, map[string]any{"status": "succeeded", "exit_code": 0, "duration": "20ms"}},
	}
	for _, e := range events {
		if _, err := appendEvent(w, e.typ, e.fields); err != nil {
			t.Fatalf("append %s: %v", e.typ, err)
		}
	}
}

func TestCreateModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "transcripts")
	w, err := Create(dir, "r1")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if w.Path() != filepath.Join(dir, "r1.jsonl") {
		t.Errorf("path = %s", w.Path())
	}
	fi, err := os.Stat(w.Path())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode = %v, want 0600", fi.Mode().Perm())
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o700 {
		t.Errorf("folder mode = %v, want 0700", di.Mode().Perm())
	}
}

func TestCreateExclusive(t *testing.T) {
	dir := t.TempDir()
	w, err := Create(dir, "r1")
	if err != nil {
		t.Fatal(err)
	}
	sampleRun(t, w)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(w.Path())
	if _, err := Create(dir, "r1"); !errors.Is(err, os.ErrExist) {
		t.Fatalf("second Create: err = %v, want ErrExist", err)
	}
	after, _ := os.ReadFile(w.Path())
	if !bytes.Equal(before, after) {
		t.Error("second Create changed the existing transcript")
	}
}

func TestCreateRejectsBadRunID(t *testing.T) {
	for _, id := range []string{"", ".", "..", "../x", "a/b", `a\b`, "a\x00b"} {
		if _, err := Create(t.TempDir(), id); err == nil {
			t.Errorf("Create(%q) succeeded", id)
		}
	}
}

func TestAppendReadBack(t *testing.T) {
	dir := t.TempDir()
	w, err := Create(dir, "r1", WithClock(fixedClock()))
	if err != nil {
		t.Fatal(err)
	}
	if w.Head() != "" || w.Seq() != 0 {
		t.Errorf("fresh writer: head %q seq %d", w.Head(), w.Seq())
	}
	sampleRun(t, w)
	head := w.Head()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(w.Path())
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := bytes.Cut(data, []byte("\n"))
	if !bytes.HasPrefix(first, []byte(`{"seq":1,"time":"2026-11-20T10:00:01.123456Z","type":"run_started","prev":"",`)) {
		t.Errorf("first line = %s", first)
	}
	tr, err := Read(w.Path())
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Events) != 5 || tr.Torn != nil {
		t.Fatalf("read %d events, torn %q", len(tr.Events), tr.Torn)
	}
	prev := ""
	for i, e := range tr.Events {
		if e.Seq != int64(i+1) || e.Prev != prev || e.Line != i+1 {
			t.Errorf("event %d: seq %d line %d prev %q, want prev %q", i, e.Seq, e.Line, e.Prev, prev)
		}
		if e.Time.Nanosecond() != 123456000 {
			t.Errorf("event %d: time %v lost its sub-second part", i, e.Time)
		}
		prev = e.Hash
	}
	if tr.Head() != head {
		t.Errorf("head = %s, writer said %s", tr.Head(), head)
	}
	rs, err := tr.RunStarted()
	if err != nil {
		t.Fatal(err)
	}
	if rs.RunID != "r1" || rs.Runbook != "rollback-prompt" || rs.Source.Path != "runbooks/rollback.hcl" ||
		rs.Plugins["prompt"].Version != "1.0.0" || string(rs.Vars["token"]) != `"(sensitive)"` {
		t.Errorf("run_started = %+v", rs)
	}
	if tr.Status() != "succeeded" {
		t.Errorf("status = %s", tr.Status())
	}
	steps := tr.Steps()
	if len(steps) != 1 || steps[0].Name != "current" || steps[0].Status != "succeeded" || string(steps[0].Output) != `{"version":7}` {
		t.Errorf("steps = %+v", steps)
	}
	if d, ok := tr.Events[2].Duration(); !ok || d != 12*time.Millisecond {
		t.Errorf("duration = %v, %v", d, ok)
	}
	r, err := Verify(w.Path())
	if err != nil || !r.Intact() || r.Events != 5 || r.Head != head || !r.Finished {
		t.Fatalf("verify: %+v, %v", r, err)
	}
}

func TestAppendFieldShapes(t *testing.T) {
	type payload struct {
		Step   string          `json:"step"`
		Raw    json.RawMessage `json:"raw"`
		HTML   string          `json:"html"`
		Number float64         `json:"number"`
	}
	w, err := Create(t.TempDir(), "r1")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ok := []any{
		nil,
		map[string]any{},
		payload{Step: "s", Raw: json.RawMessage("{ \"b\" : [1, 2 ],\n \"a\":1e400000000}"), HTML: "<a href='x'>&</a>", Number: 0.1},
		json.RawMessage(`{"x":  1}`),
		map[string]any{"unicode": "é\u2028\x00", "big": 1 << 62},
	}
	for _, f := range ok {
		if _, err := appendEvent(w, "custom", f); err != nil {
			t.Errorf("Append(%#v): %v", f, err)
		}
	}
	bad := []any{
		map[string]any{"seq": 9},
		map[string]any{"hash": "x"},
		struct {
			Type string `json:"type"`
		}{"x"},
		[]int{1},
		"string",
		map[string]any{"f": func() {}},
	}
	for _, f := range bad {
		if _, err := appendEvent(w, "custom", f); err == nil {
			t.Errorf("Append(%#v) succeeded", f)
		}
	}
	if _, err := appendEvent(w, "", nil); err == nil {
		t.Error("Append with no type succeeded")
	}
	// Bad fields are the caller's mistake: the writer still works.
	if _, err := appendEvent(w, "after", map[string]any{"ok": true}); err != nil {
		t.Fatalf("Append after a rejected event: %v", err)
	}
	data, _ := os.ReadFile(w.Path())
	if bytes.Contains(data, []byte(`\u003c`)) {
		t.Error("HTML characters were escaped")
	}
	if r, err := Verify(w.Path()); err != nil || !r.Intact() || r.Events != len(ok)+1 {
		t.Fatalf("verify: %+v %v", r, err)
	}
}

func TestDiskFull(t *testing.T) {
	dir := t.TempDir()
	fs := &faultFS{budget: 400, syncsLeft: -1}
	w, err := Create(dir, "r1", WithFS(fs))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var appendErr error
	n := 0
	for ; n < 20; n++ {
		if _, appendErr = appendEvent(w, TypeStepStarted, map[string]any{"step": "a-step-with-a-long-name"}); appendErr != nil {
			break
		}
	}
	if !errors.Is(appendErr, syscall.ENOSPC) {
		t.Fatalf("append %d: err = %v, want ENOSPC", n+1, appendErr)
	}
	if !errors.Is(w.Err(), syscall.ENOSPC) {
		t.Errorf("Err() = %v", w.Err())
	}
	// Space comes back: the writer stays broken, nothing after the gap.
	fs.budget = -1
	for i := 0; i < 3; i++ {
		if _, err := appendEvent(w, TypeStepStarted, map[string]any{"step": "x"}); !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("later append: err = %v, want the first error again", err)
		}
	}
	// The finished events are on disk; the partial one is a torn line.
	r, err := Verify(w.Path())
	if err != nil {
		t.Fatal(err)
	}
	if r.Problem != nil || r.Torn == nil || r.Events != n {
		t.Fatalf("verify after disk full: %+v torn %+v; want %d events and a torn line", r, r.Torn, n)
	}
}

func TestSyncFailure(t *testing.T) {
	fs := &faultFS{budget: -1, syncsLeft: 2}
	w, err := Create(t.TempDir(), "r1", WithFS(fs))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for i := 0; i < 2; i++ {
		if _, err := appendEvent(w, "e", nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := appendEvent(w, "e", nil); !errors.Is(err, syscall.EIO) {
		t.Fatalf("err = %v, want EIO from sync", err)
	}
	fs.syncsLeft = -1
	if _, err := appendEvent(w, "e", nil); !errors.Is(err, syscall.EIO) {
		t.Fatalf("append after a failed sync: err = %v, want the sync error", err)
	}
	if w.Seq() != 3 {
		t.Errorf("seq = %d, want 3 (the third event was written; its fsync failed)", w.Seq())
	}
	if err := w.Sync(); !errors.Is(err, syscall.EIO) {
		t.Errorf("sync after a failed sync: err = %v, want the sync error", err)
	}
}

// Write does not fsync; Sync fsyncs each file once for everything written
// since the last Sync, and nothing when nothing was; Close fsyncs what is
// left.
func TestWriteThenSync(t *testing.T) {
	tests := []struct {
		name      string
		writes    []int // events written before each Sync; -1 = Close instead
		wantSyncs int   // fsyncs of the transcript and its copy together
	}{
		{"one sync for three events", []int{3}, 2},
		{"sync without writes", []int{0}, 0},
		{"two batches", []int{2, 1}, 4},
		{"batch then empty", []int{2, 0}, 2},
		{"close syncs what is left", []int{2, -1}, 2},
		{"close after sync", []int{1, 0, -1}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := &countFS{}
			w, err := Create(t.TempDir(), "r1", WithFS(fs), WithCopy(filepath.Join(t.TempDir(), "copy.jsonl")))
			if err != nil {
				t.Fatal(err)
			}
			written := 0
			for _, n := range tt.writes {
				if n < 0 {
					if err := w.Close(); err != nil {
						t.Fatal(err)
					}
					continue
				}
				for range n {
					if _, err := w.Write("e", nil); err != nil {
						t.Fatal(err)
					}
				}
				written += n
				if err := w.Sync(); err != nil {
					t.Fatal(err)
				}
			}
			if fs.syncs != tt.wantSyncs {
				t.Errorf("fsyncs = %d, want %d", fs.syncs, tt.wantSyncs)
			}
			w.Close()
			if written == 0 {
				return
			}
			r, err := Verify(w.Path())
			if err != nil || r.Problem != nil || r.Events != written {
				t.Fatalf("verify: %+v, %v; want %d events", r, err, written)
			}
		})
	}
}

// An event Write returned is in the file before any Sync: a process killed
// right after it loses nothing.
func TestWriteIsVisibleBeforeSync(t *testing.T) {
	fs := &countFS{}
	w, err := Create(t.TempDir(), "r1", WithFS(fs))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Write("run_started", map[string]any{"run_id": "r1"}); err != nil {
		t.Fatal(err)
	}
	ev, err := w.Write("step_started", map[string]any{"step": "a"})
	if err != nil {
		t.Fatal(err)
	}
	if fs.syncs != 0 {
		t.Fatalf("fsyncs = %d before Sync, want 0", fs.syncs)
	}
	r, err := Verify(w.Path())
	if err != nil || r.Problem != nil || r.Events != 2 || r.Head != ev.Hash {
		t.Fatalf("verify before sync: %+v, %v; want 2 events ending in %s", r, err, ev.Hash)
	}
}

func TestCopy(t *testing.T) {
	dir := t.TempDir()
	cp := filepath.Join(t.TempDir(), "copy.jsonl")
	w, err := Create(dir, "r1", WithCopy(cp))
	if err != nil {
		t.Fatal(err)
	}
	sampleRun(t, w)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(w.Path())
	b, err := os.ReadFile(cp)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Errorf("copy differs:\n%s\n---\n%s", a, b)
	}
	// The copy never overwrites a file, and a failed Create leaves no
	// transcript behind it would then collide with.
	if _, err := Create(dir, "r2", WithCopy(cp)); !errors.Is(err, os.ErrExist) {
		t.Errorf("Create over an existing copy: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "r2.jsonl")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("failed Create left its transcript behind: %v", err)
	}
}

func TestAppendAfterClose(t *testing.T) {
	w, err := Create(t.TempDir(), "r1")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := appendEvent(w, "e", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("err = %v, want ErrClosed", err)
	}
	if w.Err() != nil {
		t.Errorf("Err() after Close = %v, want nil", w.Err())
	}
}

func TestConcurrentAppend(t *testing.T) {
	w, err := Create(t.TempDir(), "r1")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				if _, err := appendEvent(w, "e", map[string]any{"g": g, "i": i}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	w.Close()
	if r, err := Verify(w.Path()); err != nil || !r.Intact() || r.Events != 40 {
		t.Fatalf("verify: %+v, %v", r, err)
	}
}
