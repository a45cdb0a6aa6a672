package store

import (
	"context"
	"testing"

	"github.com/runbookdev/runbook/engine/transcript"
)

// FileHook ships what each Flush finds durable, and the rest on Close.
func TestFileHook(t *testing.T) {
	s, _ := openStore(t)
	r := newRun(t, "hooked")
	h := NewFileHook(r.w.Path(), s.NewShipper(r.id))
	if err := r.w.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := h.Flush(); err != nil {
		t.Fatal(err)
	}
	r.step(t, 1, "x")
	if err := r.w.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := h.Flush(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the flushed events are shipped", func() bool { return h.sh.Status().Shipped == 3 })
	r.record(t, transcript.Interrupted{Signal: "SIGTERM"})
	if err := r.w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkStored(t, s, r)
	runs, err := s.List(context.Background(), Filter{Status: transcript.StatusInterrupted})
	if err != nil || len(runs) != 1 || runs[0].RunID != r.id {
		t.Fatalf("list interrupted: %v, %v", runs, err)
	}
}
