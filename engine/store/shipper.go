package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/runbookdev/runbook/engine/transcript"
)

// Shipper ships one run's events to the store in order, from a goroutine
// of its own, so that the run never waits on the store (docs/store.md,
// "When the store is down"): Ship only queues. While the store cannot be
// reached the goroutine retries, backing off; Close says which events are
// still not shipped. It is safe for concurrent use.
type Shipper struct {
	store  *Store
	runID  string
	cancel context.CancelFunc
	done   chan struct{}
	wake   chan struct{}
	min    time.Duration
	max    time.Duration

	mu      sync.Mutex
	queue   []transcript.Event
	closing bool
	shipped int64 // seq of the last event shipped
	refused error // why the store refused an event: shipping stopped
	lastErr error // the last failure to reach the store, nil after a success
}

// ShipperOption configures NewShipper.
type ShipperOption func(*Shipper)

// WithBackoff sets the wait after a failed attempt: first min, doubling up
// to max (defaults 100ms and 5s).
func WithBackoff(min, max time.Duration) ShipperOption {
	return func(sh *Shipper) { sh.min, sh.max = min, max }
}

// maxBatch is how many queued events one transaction ships at most.
const maxBatch = 256

// NewShipper starts a shipper of run runID's events.
func (s *Store) NewShipper(runID string, opts ...ShipperOption) *Shipper {
	ctx, cancel := context.WithCancel(context.Background())
	sh := &Shipper{
		store: s, runID: runID, cancel: cancel,
		done: make(chan struct{}), wake: make(chan struct{}, 1),
		min: 100 * time.Millisecond, max: 5 * time.Second,
	}
	for _, o := range opts {
		o(sh)
	}
	go sh.loop(ctx)
	return sh
}

// Ship queues ev, the run's next event, for the store. It never blocks on
// the store.
func (sh *Shipper) Ship(ev transcript.Event) {
	sh.mu.Lock()
	if !sh.closing {
		sh.queue = append(sh.queue, ev)
	}
	sh.mu.Unlock()
	select {
	case sh.wake <- struct{}{}:
	default:
	}
}

// Status is what a shipper has done so far.
type Status struct {
	// Shipped is the seq of the last event the store has.
	Shipped int64
	// Pending counts the events queued and not yet shipped.
	Pending int
	// Err is why the last attempt failed: the store refused an event (a
	// *ChainError; shipping has stopped) or could not be reached (shipping
	// goes on). Nil after a success.
	Err error
}

// Status reports what the shipper has done so far.
func (sh *Shipper) Status() Status {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.status()
}

func (sh *Shipper) status() Status {
	err := sh.refused
	if err == nil {
		err = sh.lastErr
	}
	return Status{Shipped: sh.shipped, Pending: len(sh.queue), Err: err}
}

// UnshippedError says which events of a run the store does not have when
// its shipper closed: seq First to Last.
type UnshippedError struct {
	RunID       string
	First, Last int64
	// Err is why: the store refused event First, or could not be reached.
	Err error
}

func (e *UnshippedError) Error() string {
	which := fmt.Sprintf("events %d to %d", e.First, e.Last)
	if e.First == e.Last {
		which = fmt.Sprintf("event %d", e.First)
	}
	msg := fmt.Sprintf("%s of run %s are not in the transcript store", which, e.RunID)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	var ce *ChainError
	if errors.As(e.Err, &ce) {
		return msg
	}
	return msg + "; ship them with `runbook transcript push " + e.RunID + "`"
}

func (e *UnshippedError) Unwrap() error { return e.Err }

// Close waits, until ctx ends, for the queued events to be shipped, then
// stops the shipper. It returns nil when the store has every event Ship
// was given, else an *UnshippedError naming the seq range it lacks (when
// ctx ends during an append whose commit was not confirmed, the range
// counts that append's events: Push skips those the store has). Later
// Ships are ignored; closing twice returns the same answer.
func (sh *Shipper) Close(ctx context.Context) error {
	sh.mu.Lock()
	sh.closing = true
	sh.mu.Unlock()
	select {
	case sh.wake <- struct{}{}:
	default:
	}
	select {
	case <-sh.done:
	case <-ctx.Done():
		sh.cancel()
		<-sh.done
	}
	sh.cancel()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if len(sh.queue) == 0 {
		return nil
	}
	st := sh.status()
	if st.Err == nil {
		st.Err = ctx.Err()
	}
	return &UnshippedError{RunID: sh.runID, First: sh.queue[0].Seq, Last: sh.queue[len(sh.queue)-1].Seq, Err: st.Err}
}

func (sh *Shipper) loop(ctx context.Context) {
	defer close(sh.done)
	wait := sh.min
	// single: a batch was refused, so events go one by one until the
	// refused one, so that those before it are stored.
	single := false
	for {
		batch, ok := sh.next(ctx, single)
		if !ok {
			return
		}

		err := sh.store.appendBatch(ctx, sh.runID, batch)
		sh.mu.Lock()
		switch {
		case err == nil:
			sh.queue = sh.queue[len(batch):]
			sh.shipped = batch[len(batch)-1].Seq
			sh.lastErr = nil
			wait = sh.min
		case ctx.Err() != nil:
			sh.mu.Unlock()
			return
		case !connectionError(err) && len(batch) > 1:
			single = true
			sh.mu.Unlock()
			continue
		case !connectionError(err):
			// The store refused an event: retrying cannot help, and
			// nothing after it may be shipped.
			sh.refused = err
			sh.mu.Unlock()
			return
		default:
			sh.lastErr = err
		}
		sh.mu.Unlock()
		if err != nil {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return
			}
			wait = min(2*wait, sh.max)
		}
	}
}

// Pushed is what Push did with a local transcript.
type Pushed struct {
	RunID string
	// Shipped counts the events appended; Stored is how many the store
	// has now.
	Shipped int
	Stored  int64
	// Torn is set when the local transcript ends in a torn line, which is
	// not shipped.
	Torn bool
}

// Push ships the local transcript at path (`runbook transcript push`):
// it verifies the local chain first, refusing a transcript that fails,
// then checks that what the store has of the run is the start of the local
// chain, and appends the rest in order. Pushing a transcript the store
// already has ships nothing.
func (s *Store) Push(ctx context.Context, path string) (*Pushed, error) {
	rep, err := transcript.Verify(path)
	if err != nil {
		return nil, fmt.Errorf("push: %w", err)
	}
	if rep.Problem != nil {
		return nil, fmt.Errorf("push %s: the transcript fails verification, nothing shipped: %s", path, rep.Problem)
	}
	t, err := transcript.Read(path)
	if err != nil {
		return nil, fmt.Errorf("push: %w", err)
	}
	events := t.Events[:rep.Events]
	runID := strings.TrimSuffix(filepath.Base(path), ".jsonl")
	if rs, err := t.RunStarted(); err == nil && rs.RunID != "" {
		runID = rs.RunID
	}
	out := &Pushed{RunID: runID, Torn: rep.Torn != nil}
	headSeq, headHash, err := s.head(ctx, runID)
	if err != nil {
		return nil, fmt.Errorf("push %s: %w", runID, err)
	}
	if headSeq > 0 {
		n := min(headSeq, int64(len(events)))
		hash, err := s.hashAt(ctx, runID, n)
		if err != nil {
			return nil, fmt.Errorf("push %s: %w", runID, err)
		}
		if local := events[n-1]; hash != local.Hash {
			return nil, &ChainError{RunID: runID, Seq: n, Kind: ChainConflict, Hash: local.Hash, Prev: local.Prev,
				HeadSeq: headSeq, HeadHash: headHash, Detail: fmt.Sprintf("the store has event %d with hash %s", n, hash)}
		}
	}
	for start := int(min(headSeq, int64(len(events)))); start < len(events); start += maxBatch {
		batch := events[start:min(start+maxBatch, len(events))]
		if err := s.appendBatch(ctx, runID, batch); err != nil {
			return out, fmt.Errorf("push %s: %w", runID, err)
		}
		out.Shipped += len(batch)
	}
	out.Stored, _, err = s.head(ctx, runID)
	if err != nil {
		return out, fmt.Errorf("push %s: %w", runID, err)
	}
	return out, nil
}

// next waits for events to ship and returns the next batch of them (one
// when single), or false once the shipper is closed with nothing left or
// ctx ends.
func (sh *Shipper) next(ctx context.Context, single bool) ([]transcript.Event, bool) {
	sh.mu.Lock()
	for len(sh.queue) == 0 && !sh.closing {
		sh.mu.Unlock()
		select {
		case <-sh.wake:
		case <-ctx.Done():
			return nil, false
		}
		sh.mu.Lock()
	}
	defer sh.mu.Unlock()
	if len(sh.queue) == 0 {
		return nil, false
	}
	n := maxBatch
	if single {
		n = 1
	}
	return append([]transcript.Event(nil), sh.queue[:min(len(sh.queue), n)]...), true
}
