package store

import (
	"context"
	"errors"
	"testing"
)

func TestFind(t *testing.T) {
	s, _ := openStore(t)
	for _, id := range []string{"20261126T1400", "20261126T140001", "20261126T140002", "20261127T0900"} {
		appendAll(t, s, id, newRun(t, id).events)
	}
	tests := []struct {
		in, want string
		err      error
	}{
		{in: "20261126T140001", want: "20261126T140001"},
		{in: "20261126T1400", want: "20261126T1400"}, // exact, though a prefix of others
		{in: "20261127", want: "20261127T0900"},
		{in: "20261126T14000", err: ErrAmbiguous},
		{in: "2025", err: ErrNotFound},
		{in: "", err: ErrNotFound},
		{in: "%", err: ErrNotFound},
	}
	for _, tt := range tests {
		got, err := s.Find(context.Background(), tt.in)
		if got != tt.want || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
			t.Errorf("Find(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestRun(t *testing.T) {
	s, _ := openStore(t)
	r := newRun(t, "20261202T090000")
	r.step(t, 1, "x")
	r.finish(t, "succeeded")
	appendAll(t, s, r.id, r.events)
	got, err := s.Run(context.Background(), r.id)
	if err != nil || got.RunID != r.id || got.Status != "succeeded" || got.ExitCode != 0 || got.Events != int64(len(r.events)) {
		t.Errorf("Run(%q) = %+v, %v", r.id, got, err)
	}
	if _, err := s.Run(context.Background(), "2026"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Run of a prefix: %v; want ErrNotFound", err)
	}
}
