package engine

import (
	"context"
	"testing"
)

// flushCounter counts events and flushes, and how many events each flush
// found unflushed at most.
type flushCounter struct {
	events, flushes, pending, maxPending int
}

func (f *flushCounter) Handle(Event) error {
	f.events++
	f.pending++
	return nil
}

func (f *flushCounter) Flush() error {
	f.flushes++
	f.maxPending = max(f.maxPending, f.pending)
	f.pending = 0
	return nil
}

// WithLive flushes after every event, in a real run and a dry-run alike;
// without it a dry-run flushes only at its end and a real run only around
// changes.
func TestWithLive(t *testing.T) {
	for _, tt := range []struct {
		name       string
		dry, live  bool
		everyEvent bool
	}{
		{"run", false, false, false},
		{"dry-run", true, false, false},
		{"live run", false, true, true},
		{"live dry-run", true, true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, rb := load(t, rollback)
			f := &flushCounter{}
			res, err := Run(context.Background(), cfg, rb, WithPlugins(InProcess{"kv": newKV()}), WithHooks(f),
				WithVars(map[string]string{"value": "v2"}), WithYes(true), WithDryRun(tt.dry), WithLive(tt.live))
			if err != nil || res.Status != StatusSucceeded && res.Status != StatusPlanned {
				t.Fatalf("%v %+v", err, res)
			}
			if f.pending != 0 {
				t.Errorf("%d events left unflushed at the end", f.pending)
			}
			if got := f.maxPending == 1; got != tt.everyEvent {
				t.Errorf("%d events, %d flushes, at most %d events per flush; every event flushed = %v, want %v",
					f.events, f.flushes, f.maxPending, got, tt.everyEvent)
			}
		})
	}
}
