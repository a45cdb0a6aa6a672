package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/runbookdev/runbook/engine/transcript"
)

// Follow hands over each event as the writer stores it, and ends with the
// run.
func TestFollowLive(t *testing.T) {
	s, _ := openStore(t)
	r := newRun(t, "live")
	appendAll(t, s, r.id, r.events) // run_started: the run exists
	got := make(chan transcript.Event)
	done := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		done <- s.Follow(ctx, r.id, 0, func(ev transcript.Event) error {
			select {
			case got <- ev:
			case <-ctx.Done():
			}
			return nil
		})
	}()
	// receive waits for the next event followed: the bound only keeps a
	// broken Follow from hanging the test.
	receive := func(want transcript.Event) {
		t.Helper()
		select {
		case ev := <-got:
			if ev.Seq != want.Seq || ev.Hash != want.Hash || string(ev.Raw) != string(want.Raw) || ev.Type != want.Type ||
				!ev.Time.Equal(want.Time) || ev.Step() != want.Step() {
				t.Fatalf("followed %+v, want %+v", ev, want)
			}
		case err := <-done:
			t.Fatalf("follow ended early: %v", err)
		case <-time.After(time.Minute):
			t.Fatalf("event %d was not followed", want.Seq)
		}
	}
	receive(r.events[0])
	for i := 1; i <= 5; i++ {
		r.step(t, i, "x")
		// Nothing is stored ahead: each event is followed after the
		// writer stored it, not found by a later read.
		for _, ev := range r.events[len(r.events)-2:] {
			appendAll(t, s, r.id, []transcript.Event{ev})
			receive(ev)
		}
	}
	r.finish(t, "success")
	appendAll(t, s, r.id, r.events[len(r.events)-1:])
	receive(r.events[len(r.events)-1])
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("follow: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("follow did not end with the run")
	}
}

func TestFollowFromAndErrors(t *testing.T) {
	s, _ := openStore(t)
	r := newRun(t, "done")
	r.step(t, 1, "x")
	r.record(t, transcript.Interrupted{Signal: "SIGINT"})
	appendAll(t, s, r.id, r.events)
	var seqs []int64
	if err := s.Follow(context.Background(), r.id, 2, func(ev transcript.Event) error {
		seqs = append(seqs, ev.Seq)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(seqs) != 2 || seqs[0] != 3 || seqs[1] != 4 {
		t.Fatalf("followed %v, want [3 4]", seqs)
	}
	if err := s.Follow(context.Background(), "nope", 0, func(transcript.Event) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("follow of an unknown run: %v", err)
	}
	stop := errors.New("stop")
	if err := s.Follow(context.Background(), r.id, 0, func(transcript.Event) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("follow: %v, want fn's error", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	running := newRun(t, "running")
	appendAll(t, s, running.id, running.events)
	err := s.Follow(ctx, running.id, 0, func(transcript.Event) error { cancel(); return nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("follow cancelled: %v", err)
	}
}
