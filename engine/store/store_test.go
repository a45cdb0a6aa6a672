package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/runbookdev/runbook/engine/transcript"
)

// appendAll appends events to the store one by one.
func appendAll(t testing.TB, s *Store, runID string, events []transcript.Event) {
	t.Helper()
	for _, ev := range events {
		if err := s.Append(context.Background(), runID, ev); err != nil {
			t.Fatalf("append event %d: %v", ev.Seq, err)
		}
	}
}

// readBack is the store's copy of a run, which must be byte for byte the
// local file.
func checkStored(t testing.TB, s *Store, r *run) {
	t.Helper()
	got, err := s.Read(context.Background(), r.id)
	if err != nil {
		t.Fatalf("read %s: %v", r.id, err)
	}
	if want := r.file(t); !bytes.Equal(got, want) {
		t.Fatalf("run %s: the store has %d bytes (%d lines), the local file %d (%d lines)",
			r.id, len(got), bytes.Count(got, []byte("\n")), len(want), bytes.Count(want, []byte("\n")))
	}
	c, err := s.Verify(context.Background(), r.id, r.local(t))
	if err != nil {
		t.Fatalf("verify %s: %v", r.id, err)
	}
	if !c.Intact() {
		t.Fatalf("run %s: verify: problem %v, differences %v", r.id, c.Problem, c.Differences)
	}
}

func TestRoundtrip(t *testing.T) {
	s, _ := openStore(t)
	r := newRun(t, "20261126T140501-a")
	for i := 1; i <= 3; i++ {
		// Bytes a re-marshalling would change: escapes, unicode, HTML.
		r.step(t, i, fmt.Sprintf("é \u2028 <b>&</b> \\ \"%d\" \x01", i))
	}
	r.finish(t, "success")
	appendAll(t, s, r.id, r.events)
	checkStored(t, s, r)

	runs, err := s.List(context.Background(), Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 {
		t.Fatalf("list: %d runs, want 1", len(runs))
	}
	got := runs[0]
	want := Run{RunID: r.id, Runbook: "deploy", Mode: "run", Operator: "alice@laptop", Host: "laptop",
		Started: r.events[0].Time, Status: "success", Finished: r.events[len(r.events)-1].Time, ExitCode: 0, Events: int64(len(r.events))}
	if !got.Started.Equal(want.Started) || !got.Finished.Equal(want.Finished) {
		t.Errorf("list: started %v finished %v, want %v and %v", got.Started, got.Finished, want.Started, want.Finished)
	}
	got.Started, got.Finished, want.Started, want.Finished = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if got != want {
		t.Errorf("list: got %+v, want %+v", got, want)
	}

	// The stored run reads back through the transcript reader as the
	// local file does.
	sum := runs[0].Summary()
	if sum.RunID != r.id || sum.Status != "success" || sum.Duration != r.events[len(r.events)-1].Time.Sub(r.events[0].Time) {
		t.Errorf("summary: %+v", sum)
	}
}

func TestAppendRetryIsNoOp(t *testing.T) {
	s, schema := openStore(t)
	r := newRun(t, "retry")
	r.step(t, 1, "x")
	appendAll(t, s, r.id, r.events)
	appendAll(t, s, r.id, r.events) // a retry of everything
	appendAll(t, s, r.id, r.events[1:2])
	var n int
	if err := superConn(t).QueryRow(context.Background(), `SELECT count(*) FROM `+pgx.Identifier{schema, "events"}.Sanitize()).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(r.events) {
		t.Fatalf("%d rows, want %d", n, len(r.events))
	}
	checkStored(t, s, r)
}

func TestAppendRefused(t *testing.T) {
	s, _ := openStore(t)
	r := newRun(t, "refused")
	for i := 1; i <= 3; i++ {
		r.step(t, i, "out")
	}
	appendAll(t, s, r.id, r.events[:2])
	head := r.events[1]
	next := r.events[2]

	other := newRun(t, "refused") // another writer of the same run id
	other.step(t, 1, "other")

	changed := next
	changed.Raw = bytes.Replace(next.Raw, []byte(`"step-1"`), []byte(`"step-9"`), 1)
	if bytes.Equal(changed.Raw, next.Raw) {
		t.Fatal("no change made")
	}
	tests := []struct {
		name     string
		runID    string
		ev       transcript.Event
		kind     string
		mentions []string
	}{
		{"gap", r.id, r.events[4], ChainGap, []string{r.id, "event 5", head.Hash}},
		{"another writer's first event", r.id, other.events[0], ChainConflict, []string{r.id, other.events[0].Hash, head.Hash}},
		{"another writer's third event", r.id, other.events[2], ChainPrev, []string{r.id, other.events[2].Hash, other.events[2].Prev, head.Hash}},
		{"changed line", r.id, changed, ChainHashMismatch, []string{r.id, "event 3"}},
		{"not JSON", r.id, transcript.Event{Seq: 3, Raw: []byte(`{"seq":3,`)}, ChainMalformed, []string{r.id}},
		{"no hash", r.id, transcript.Event{Seq: 3, Raw: []byte(`{"seq":3,"time":"2026-01-01T00:00:00Z","type":"x","prev":"","hash":"ab"}`)}, ChainMalformed, []string{r.id}},
		{"first event not first", "fresh", r.events[1], ChainGap, []string{"fresh", "event 2"}},
		{"run_started of another run", "fresh", r.events[0], ChainMalformed, []string{"fresh", "refused"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Append(context.Background(), tt.runID, tt.ev)
			var ce *ChainError
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a *ChainError", err)
			}
			if ce.Kind != tt.kind {
				t.Errorf("kind %q, want %q (%v)", ce.Kind, tt.kind, err)
			}
			for _, m := range tt.mentions {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("%q does not mention %q", err, m)
				}
			}
		})
	}
	// Nothing refused was stored: the run still verifies and goes on.
	appendAll(t, s, r.id, r.events[2:])
	r.finish(t, "success")
	appendAll(t, s, r.id, r.events[len(r.events)-1:])
	checkStored(t, s, r)
}

// Two writers of one run, racing: the store keeps one chain whole and
// refuses the other writer.
func TestTwoWritersOneRefused(t *testing.T) {
	s, _ := openStore(t)
	a, b := newRun(t, "shared"), newRun(t, "shared")
	for i := 1; i <= 20; i++ {
		a.step(t, i, "a")
		b.step(t, i, "b")
	}
	a.finish(t, "success")
	b.finish(t, "success")
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, r := range []*run{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, ev := range r.events {
				if errs[i] = s.Append(context.Background(), r.id, ev); errs[i] != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	winner, loser := a, errs[1]
	if errs[0] != nil {
		winner, loser = b, errs[0]
	}
	if errs[0] != nil && errs[1] != nil {
		// Both may be refused only when each took turns: never, since
		// the first to store event 1 owns every later seq.
		t.Fatalf("both writers refused: %v; %v", errs[0], errs[1])
	}
	var ce *ChainError
	if !errors.As(loser, &ce) {
		t.Fatalf("the second writer got %v, want a *ChainError", loser)
	}
	checkStored(t, s, winner)
}

func TestVerifyReportsChangedRows(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		change string // SQL run against the stored run; %s is the events table
		kind   string
		line   int
		// differs: the stored lines differ from the local copy's.
		differs bool
	}{
		{"line edited", `UPDATE %s SET raw = replace(raw, '"ok"', '"failed"') WHERE seq = 3`, transcript.ProblemHashMismatch, 3, true},
		{"hash column edited", `UPDATE %s SET hash = repeat('0', 64) WHERE seq = 2`, transcript.ProblemMalformed, 2, false},
		{"last rows deleted", `DELETE FROM %s WHERE seq >= 4`, ProblemHead, 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, schema := openStore(t)
			r := newRun(t, "tampered")
			r.step(t, 1, "x")
			r.step(t, 2, "y")
			r.finish(t, "success")
			appendAll(t, s, r.id, r.events)
			if _, err := superConn(t).Exec(ctx, fmt.Sprintf(tt.change, pgx.Identifier{schema, "events"}.Sanitize())); err != nil {
				t.Fatal(err)
			}
			c, err := s.Verify(ctx, r.id, r.local(t))
			if err != nil {
				t.Fatal(err)
			}
			if c.Problem == nil || c.Problem.Kind != tt.kind || c.Problem.Line != tt.line {
				t.Fatalf("problem %v, want %q at line %d", c.Problem, tt.kind, tt.line)
			}
			if differs := len(c.Differences) > 0; differs != tt.differs {
				t.Errorf("differences from the local copy: %v, want some: %v", c.Differences, tt.differs)
			}
			if c.Intact() {
				t.Errorf("Intact")
			}
		})
	}
}

func TestVerifyDifferences(t *testing.T) {
	s, _ := openStore(t)
	r := newRun(t, "partial")
	r.step(t, 1, "x")
	appendAll(t, s, r.id, r.events[:2])
	c, err := s.Verify(context.Background(), r.id, r.local(t))
	if err != nil {
		t.Fatal(err)
	}
	want := []Difference{{Kind: DiffLocalOnly, First: 3, Last: 3}}
	if c.Problem != nil || fmt.Sprint(c.Differences) != fmt.Sprint(want) {
		t.Fatalf("problem %v, differences %v; want none and %v", c.Problem, c.Differences, want)
	}
	if _, err := s.Verify(context.Background(), "nope", nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("verify of an unknown run: %v, want ErrNotFound", err)
	}
	if _, err := s.Read(context.Background(), "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("read of an unknown run: %v, want ErrNotFound", err)
	}
}
