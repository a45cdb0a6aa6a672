package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// waitUntil polls cond until it holds, failing the test after a minute:
// a bound against hanging, not a timed assertion.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The store goes away mid-run and comes back: the shipper retries, and
// finishes with every event stored once, in order.
func TestShipperOutage(t *testing.T) {
	p := newProxy(t, targetOf(serverDSN(t)))
	s, _ := openStore(t, dsnVia(t, p))
	r := newRun(t, "outage")
	sh := s.NewShipper(r.id, WithBackoff(5*time.Millisecond, 50*time.Millisecond))
	ship := func(from int) {
		for _, ev := range r.events[from:] {
			sh.Ship(ev)
		}
	}
	for i := 1; i <= 25; i++ {
		r.step(t, i, "before")
	}
	ship(0)
	waitUntil(t, "the first events are shipped", func() bool { return sh.Status().Shipped == int64(len(r.events)) })

	p.Stop()
	n := len(r.events)
	for i := 26; i <= 50; i++ {
		r.step(t, i, "during")
	}
	ship(n)
	waitUntil(t, "the shipper notices the outage", func() bool { return sh.Status().Err != nil })
	if st := sh.Status(); st.Pending == 0 || st.Shipped != int64(n) {
		t.Fatalf("during the outage: %+v, want events pending after %d", st, n)
	}

	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	n = len(r.events)
	r.finish(t, "success")
	ship(n)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := sh.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	checkStored(t, s, r)
}

// The server ends the store's sessions again and again while a run ships
// (as a restart or an administrator does): every event is stored once.
func TestShipperSessionsTerminated(t *testing.T) {
	s, _ := openStore(t)
	su := superConn(t)
	r := newRun(t, "terminated")
	for i := 1; i <= 150; i++ {
		r.step(t, i, "x")
	}
	r.finish(t, "success")
	sh := s.NewShipper(r.id, WithBackoff(time.Millisecond, 20*time.Millisecond))
	terminated := 0
	for i, ev := range r.events {
		sh.Ship(ev)
		if i%50 == 25 {
			var n int
			err := su.QueryRow(context.Background(), `SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
				WHERE application_name = $1 AND pid <> pg_backend_pid()) t`, ApplicationName).Scan(&n)
			if err != nil {
				t.Fatal(err)
			}
			terminated += n
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := sh.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	if terminated == 0 {
		t.Fatal("no session of the store was terminated")
	}
	checkStored(t, s, r)
}

// Closed while the store is away, the shipper names what it did not ship;
// Push ships it later, and pushing again ships nothing.
func TestShipperUnshippedThenPush(t *testing.T) {
	p := newProxy(t, targetOf(serverDSN(t)))
	s, _ := openStore(t, dsnVia(t, p))
	r := newRun(t, "later")
	sh := s.NewShipper(r.id, WithBackoff(5*time.Millisecond, 50*time.Millisecond))
	r.step(t, 1, "x")
	for _, ev := range r.events {
		sh.Ship(ev)
	}
	waitUntil(t, "the first events are shipped", func() bool { return sh.Status().Shipped == 3 })
	p.Stop()
	r.step(t, 2, "y")
	r.finish(t, "failed")
	for _, ev := range r.events[3:] {
		sh.Ship(ev)
	}
	waitUntil(t, "the shipper notices the outage", func() bool { return sh.Status().Err != nil })
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the run's end does not wait
	err := sh.Close(ctx)
	var ue *UnshippedError
	if !errors.As(err, &ue) || ue.First != 4 || ue.Last != 6 || ue.RunID != r.id {
		t.Fatalf("close: %v, want events 4 to 6 of %s unshipped", err, r.id)
	}
	if want := "runbook transcript push " + r.id; !contains(err.Error(), want) {
		t.Errorf("%q does not say %q", err, want)
	}
	if err := sh.Close(context.Background()); !errors.As(err, &ue) {
		t.Errorf("second close: %v", err)
	}

	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	pushed, err := s.Push(context.Background(), r.w.Path())
	if err != nil {
		t.Fatal(err)
	}
	if *pushed != (Pushed{RunID: r.id, Shipped: 3, Stored: 6}) {
		t.Errorf("push: %+v", *pushed)
	}
	checkStored(t, s, r)
	pushed, err = s.Push(context.Background(), r.w.Path())
	if err != nil || pushed.Shipped != 0 {
		t.Fatalf("second push: %+v, %v; want nothing shipped", pushed, err)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestPushRefusesABrokenTranscript(t *testing.T) {
	s, _ := openStore(t)
	r := newRun(t, "broken")
	r.step(t, 1, "x")
	r.finish(t, "success")
	data := r.file(t)
	path := filepath.Join(t.TempDir(), "broken.jsonl")
	edited := []byte(string(data[:len(data)-30]) + "X" + string(data[len(data)-29:]))
	if err := os.WriteFile(path, edited, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Push(context.Background(), path); err == nil || !contains(err.Error(), "fails verification") {
		t.Fatalf("push of a changed transcript: %v", err)
	}
	if _, err := s.Read(context.Background(), r.id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("something was stored: %v", err)
	}

	// A local transcript that is not the stored chain is refused too.
	other := newRun(t, "broken")
	other.step(t, 1, "other")
	appendAll(t, s, other.id, other.events)
	var ce *ChainError
	if _, err := s.Push(context.Background(), r.w.Path()); !errors.As(err, &ce) || ce.Kind != ChainConflict {
		t.Fatalf("push over another chain: %v, want a conflict", err)
	}
}

// A shipper stops at an event the store refuses, and names it.
func TestShipperStopsAtARefusal(t *testing.T) {
	s, _ := openStore(t)
	a, b := newRun(t, "twice"), newRun(t, "twice")
	a.step(t, 1, "a")
	b.step(t, 1, "b")
	appendAll(t, s, a.id, a.events)
	sh := s.NewShipper(b.id)
	for _, ev := range b.events {
		sh.Ship(ev)
	}
	err := sh.Close(context.Background())
	var ue *UnshippedError
	var ce *ChainError
	if !errors.As(err, &ue) || ue.First != 1 || ue.Last != 3 || !errors.As(err, &ce) {
		t.Fatalf("close: %v, want events 1 to 3 unshipped, refused", err)
	}
	if contains(err.Error(), "transcript push") {
		t.Errorf("%q suggests a push, which cannot help", err)
	}

	// In a batch, the events before the refused one are stored.
	c := newRun(t, "gap")
	c.step(t, 1, "c")
	c.step(t, 2, "c")
	sh = s.NewShipper(c.id)
	for _, ev := range append(c.events[:3:3], c.events[4:]...) {
		sh.Ship(ev)
	}
	err = sh.Close(context.Background())
	if !errors.As(err, &ue) || ue.First != 5 || ue.Last != 5 || !errors.As(err, &ce) || ce.Kind != ChainGap {
		t.Fatalf("close: %v, want event 5 unshipped, refused for a gap", err)
	}
	if got, err := s.Read(context.Background(), c.id); err != nil || bytes.Count(got, []byte("\n")) != 3 {
		t.Fatalf("stored %q, %v; want the 3 events before the gap", got, err)
	}
}

// 20 runs of 500 events at once: every run is stored whole, in order, once.
func TestConcurrentRuns(t *testing.T) {
	s, schema := openStore(t)
	const runs, events = 20, 500
	rs := make([]*run, runs)
	for i := range rs {
		rs[i] = newRun(t, fmt.Sprintf("concurrent-%02d", i))
	}
	for i, r := range rs {
		for j := 1; len(r.events) < events-1; j++ {
			r.step(t, j, fmt.Sprintf("run %d step %d", i, j))
		}
		r.finish(t, "success")
	}
	var wg sync.WaitGroup
	errs := make([]error, runs)
	for i, r := range rs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sh := s.NewShipper(r.id)
			for _, ev := range r.events {
				sh.Ship(ev)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			errs[i] = sh.Close(ctx)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("run %d: %v", i, err)
		}
	}
	for _, r := range rs {
		if len(r.events) != events {
			t.Fatalf("run %s has %d events, want %d", r.id, len(r.events), events)
		}
		checkStored(t, s, r)
	}
	var n int
	if err := superConn(t).QueryRow(context.Background(), `SELECT count(*) FROM `+schema+`.events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != runs*events {
		t.Fatalf("%d rows, want %d", n, runs*events)
	}
}
