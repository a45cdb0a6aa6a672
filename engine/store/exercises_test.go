package store

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/runbookdev/runbook/engine"
	"github.com/runbookdev/runbook/engine/transcript"
)

// The store says of its runs what engine.Exercises says of the same runs in
// a state folder.
func TestExercisesAsLocal(t *testing.T) {
	s, _ := openStore(t)
	stateDir := t.TempDir()
	clock := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	now := func() time.Time { clock = clock.Add(time.Minute); return clock }
	for i, r := range []struct{ runbook, mode, status string }{
		{"deploy", engine.ModeRun, engine.StatusSucceeded},
		{"deploy", engine.ModeDryRun, engine.StatusSucceeded},
		{"deploy", engine.ModeRun, engine.StatusFailed},
		{"rollback", engine.ModeDryRun, engine.StatusSucceeded},
		{"rollback", engine.ModeDryRun, engine.StatusFailed},
		{"rotate", engine.ModeRun, engine.StatusFailed},
	} {
		id := fmt.Sprintf("run-%d", i)
		w, err := transcript.Create(transcript.Dir(stateDir), id, transcript.WithClock(now))
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range []transcript.Record{
			transcript.RunStarted{RunID: id, Runbook: r.runbook, Mode: r.mode, Operator: "bob@ci", Vars: map[string]json.RawMessage{}},
			transcript.RunFinished{Status: r.status, Duration: transcript.Duration(time.Minute)},
		} {
			if _, err := w.Record(rec); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Push(context.Background(), w.Path()); err != nil {
			t.Fatal(err)
		}
	}
	want, err := engine.Exercises(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Exercises(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(transcript.Summary{}, "Path")); diff != "" {
		t.Fatalf("exercises (-local +store):\n%s", diff)
	}
	if got["deploy"].LastRun.RunID != "run-2" || got["rollback"].LastRun != nil || got["rotate"].LastSucceeded != (time.Time{}) {
		t.Fatalf("unexpected exercises: %+v", got)
	}
}
