package engine

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/runbookdev/runbook/engine/transcript"
)

func TestExercises(t *testing.T) {
	state := t.TempDir()
	dir := transcript.Dir(state)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"a1.jsonl": `{"seq":1,"type":"run_started","time":"2026-11-20T10:00:00Z","run_id":"a1","runbook":"a","mode":"run"}
{"seq":2,"type":"run_finished","time":"2026-11-20T10:00:01Z","status":"failed"}
`,
		"a2.jsonl": `{"seq":1,"type":"run_started","time":"2026-11-21T10:00:00Z","run_id":"a2","runbook":"a","mode":"run"}
{"seq":2,"type":"run_finished","time":"2026-11-21T10:00:01Z","status":"succeeded"}
`,
		// A newer dry-run does not count as a run.
		"a3.jsonl": `{"seq":1,"type":"run_started","time":"2026-11-22T10:00:00Z","run_id":"a3","runbook":"a","mode":"dry-run"}
{"seq":2,"type":"run_finished","time":"2026-11-22T10:00:01Z","status":"failed"}
`,
		// A torn last line after a crash: the run is unfinished.
		"b1.jsonl": `{"seq":1,"type":"run_started","time":"2026-11-20T10:00:00Z","run_id":"b1","runbook":"b","mode":"run"}
{"seq":2,"type":"step_started","time":"2026-11-20T10:00:01Z","step":"x"}
{"seq":3,"type":"run_fin`,
		"c1.jsonl": `{"seq":1,"type":"run_started","time":"2026-11-20T10:00:00Z","run_id":"c1","runbook":"c","mode":"run"}
{"seq":2,"type":"interrupted","time":"2026-11-20T10:00:01Z","step":"x"}
`,
		"garbage.jsonl": "not json\n",
		"empty.jsonl":   "",
		"notes.txt":     `{"seq":1,"type":"run_started","time":"2026-11-20T10:00:00Z","run_id":"n","runbook":"n","mode":"run"}` + "\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	exercised, err := Exercises(state)
	if err != nil {
		t.Fatal(err)
	}
	// The latest real run of each runbook; a newer dry-run is not a run.
	got := map[string]RunSummary{}
	for name, e := range exercised {
		if e.LastRun != nil {
			got[name] = *e.LastRun
		}
	}
	if d := exercised["a"].LastDryRun; d == nil || d.RunID != "a3" || d.Status != "failed" {
		t.Errorf("a's last dry-run: %+v, want a3 failed", d)
	}
	if s := exercised["a"].LastSucceeded; !s.Equal(time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("a last succeeded %v, want a2's start", s)
	}
	want := map[string]struct {
		id, status string
	}{
		"a": {"a2", "succeeded"},
		"b": {"b1", "unfinished"},
		"c": {"c1", "interrupted"},
	}
	if len(got) != len(want) {
		t.Errorf("got %d runbooks (%v), want %d", len(got), got, len(want))
	}
	for name, w := range want {
		s, ok := got[name]
		if !ok || s.RunID != w.id || s.Status != w.status {
			t.Errorf("%s: got %+v, want run %s %s", name, s, w.id, w.status)
		}
	}
	if !got["a"].Started.Equal(time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("a started %v", got["a"].Started)
	}
}

func TestExercisesWithoutTranscripts(t *testing.T) {
	got, err := Exercises(filepath.Join(t.TempDir(), "never-created"))
	if err != nil || len(got) != 0 {
		t.Fatalf("got %v, %v; want no runs and no error", got, err)
	}
}
