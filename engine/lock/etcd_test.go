//go:build unix

package lock

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/runbookdev/runbook/engine/lock/etcdtest"
)

// testTTL is the session lease of the etcd tests: short, so that a killed
// holder's lock frees itself soon, but never asserted on.
const testTTL = "2s"

// etcdFixture is a private etcd server and a client to look at its keys.
type etcdFixture struct {
	url string // an etcd lock URL for the server
	cli *clientv3.Client
}

func newEtcdFixture(t *testing.T) *etcdFixture {
	t.Helper()
	srv := etcdtest.Start(t)
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{srv.Endpoint}, DialTimeout: 10 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return &etcdFixture{url: "etcd://" + srv.Endpoint + "/runbook/locks?ttl=" + testTTL, cli: cli}
}

func (f *etcdFixture) locker(t *testing.T) Locker {
	t.Helper()
	l, err := FromURL(f.url, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// keys lists the mutex keys of a lock name and their values.
func (f *etcdFixture) keys(t *testing.T, name string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := f.cli.Get(ctx, "/runbook/locks/"+fileStem(name)+"/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	kvs := map[string]string{}
	for _, kv := range resp.Kvs {
		kvs[string(kv.Key)] = string(kv.Value)
	}
	return kvs
}

// waitKeys waits until name has n mutex keys: a holder and n-1 waiters.
func (f *etcdFixture) waitKeys(t *testing.T, name string, n int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for len(f.keys(t, name)) != n {
		if time.Now().After(deadline) {
			t.Fatalf("lock %q has keys %v, want %d", name, f.keys(t, name), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startEtcdHelper starts a helper process that takes name with the etcd
// locker and holds it.
func (f *etcdFixture) startEtcdHelper(t *testing.T, name string, h Holder) *helper {
	t.Helper()
	cmd := helperCmd(t, t.TempDir(), name, h)
	cmd.Env = append(cmd.Env, "LOCK_HELPER_URL="+f.url)
	return startHelperCmd(t, cmd)
}

func TestEtcdLockHeldAcrossProcesses(t *testing.T) {
	f := newEtcdFixture(t)
	const name = "prompt/support-agent"
	since := time.Date(2026, 11, 26, 14, 5, 1, 0, time.UTC)
	hp := f.startEtcdHelper(t, name, Holder{RunID: "run-a", Operator: "alice", Host: "box-a", Since: since})
	l := f.locker(t)

	want := Holder{RunID: "run-a", Operator: "alice", Host: "box-a", PID: hp.pid, Since: since}
	for _, wait := range []time.Duration{0, 300 * time.Millisecond} {
		_, err := l.Acquire(context.Background(), name, Holder{RunID: "run-b", Operator: "bob", Host: "box-b"}, wait)
		held := wantHeld(t, err, "run-a")
		if diff := cmp.Diff(want, held.Holder); diff != "" {
			t.Errorf("wait %s: holder (-want +got):\n%s", wait, diff)
		}
		if held.ExitCode() != 3 {
			t.Errorf("ExitCode() = %d, want 3", held.ExitCode())
		}
		if msg := err.Error(); !strings.Contains(msg, "run run-a (alice@box-a, pid ") {
			t.Errorf("message %q does not name the holder", msg)
		}
	}
	// The refused tries left no key behind: only the holder's.
	if keys := f.keys(t, name); len(keys) != 1 {
		t.Errorf("keys after refusals: %v, want the holder's only", keys)
	}
	// Another name, even one that extends this one, is another lock.
	other := acquire(t, l, name+"/sub", "run-b")
	release(t, other)

	hp.release(t)
	if keys := f.keys(t, name); len(keys) != 0 {
		t.Errorf("keys after release: %v, want none", keys)
	}
	lease := acquire(t, l, name, "run-b")
	release(t, lease)
}

func TestEtcdLeaseExpiresWhenHolderIsKilled(t *testing.T) {
	f := newEtcdFixture(t)
	hp := f.startEtcdHelper(t, "deploy", Holder{RunID: "run-a"})
	hp.kill(t)
	// The dead holder's key stays until its lease expires; a waiter then
	// gets the lock. The bound is generous: only eventual success counts.
	start := time.Now()
	lease, err := f.locker(t).Acquire(context.Background(), "deploy", Holder{RunID: "run-b"}, generous)
	if err != nil {
		t.Fatalf("Acquire after the holder was killed: %v", err)
	}
	t.Logf("the killed holder's lock freed itself after %s (ttl %s)", time.Since(start).Round(time.Millisecond), testTTL)
	release(t, lease)
}

func TestEtcdWaitsForRelease(t *testing.T) {
	f := newEtcdFixture(t)
	hp := f.startEtcdHelper(t, "deploy", Holder{RunID: "run-a"})
	type result struct {
		lease Lease
		err   error
	}
	done := make(chan result, 1)
	go func() {
		lease, err := f.locker(t).Acquire(context.Background(), "deploy", Holder{RunID: "run-b"}, generous)
		done <- result{lease, err}
	}()
	f.waitKeys(t, "deploy", 2) // the waiter is in line
	hp.release(t)
	r := <-done
	if r.err != nil {
		t.Fatalf("Acquire while waiting for the holder: %v", r.err)
	}
	if keys := f.keys(t, "deploy"); len(keys) != 1 {
		t.Errorf("keys while held: %v, want one", keys)
	}
	release(t, r.lease)
	// Releasing twice is a no-op.
	if err := r.lease.Release(); err != nil {
		t.Errorf("second Release: %v", err)
	}
}

func TestEtcdContextEndsWait(t *testing.T) {
	f := newEtcdFixture(t)
	hp := f.startEtcdHelper(t, "deploy", Holder{RunID: "run-a"})
	defer hp.release(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := f.locker(t).Acquire(ctx, "deploy", Holder{RunID: "run-b"}, generous)
		done <- err
	}()
	f.waitKeys(t, "deploy", 2)
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	var held *HeldError
	if errors.As(err, &held) {
		t.Errorf("err = %v is a HeldError; want only the context's error", err)
	}
	f.waitKeys(t, "deploy", 1) // the waiter left the line
}

func TestEtcdHolderRecord(t *testing.T) {
	f := newEtcdFixture(t)
	since := time.Date(2026, 11, 26, 14, 5, 1, 0, time.UTC)
	lease, err := f.locker(t).Acquire(context.Background(), "deploy", Holder{RunID: "r1", Operator: "alice", Host: "box", PID: 42, Since: since}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer release(t, lease)
	keys := f.keys(t, "deploy")
	if len(keys) != 1 {
		t.Fatalf("keys = %v, want one", keys)
	}
	for key, value := range keys {
		if !strings.HasPrefix(key, "/runbook/locks/deploy/") {
			t.Errorf("key %s is not under the lock's prefix", key)
		}
		var got map[string]any
		if err := json.Unmarshal([]byte(value), &got); err != nil {
			t.Fatalf("value %q: %v", value, err)
		}
		want := map[string]any{"run_id": "r1", "operator": "alice", "host": "box", "pid": float64(42), "since": "2026-11-26T14:05:01Z"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("holder record (-want +got):\n%s", diff)
		}
	}
}

func TestEtcdUnavailable(t *testing.T) {
	// A loopback port nobody listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	locker, err := FromURL("etcd://"+addr+"/runbook/locks?dial_timeout=1s", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	_, err = locker.Acquire(context.Background(), "deploy", Holder{RunID: "r1"}, 0)
	var unavailable *UnavailableError
	if !errors.As(err, &unavailable) {
		t.Fatalf("err = %v (%T), want an *UnavailableError", err, err)
	}
	if unavailable.ExitCode() != 1 {
		t.Errorf("ExitCode() = %d, want 1", unavailable.ExitCode())
	}
	if want := `cannot take lock "deploy": etcd at ` + addr + ": no answer within 1s; nothing ran"; err.Error() != want {
		t.Errorf("message:\n%s\nwant\n%s", err, want)
	}
}

// A lease revoked behind the holder's back (or expired) is reported lost,
// and the lock is free for another run from then on; a file lock cannot
// be lost.
func TestEtcdLeaseLost(t *testing.T) {
	f := newEtcdFixture(t)
	lease, err := f.locker(t).Acquire(context.Background(), "deploy", Holder{RunID: "r1"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer release(t, lease)
	lost := lease.(Losable).Lost()
	select {
	case <-lost:
		t.Fatal("a held lease reads as lost")
	default:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	leases, err := f.cli.Leases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range leases.Leases {
		if _, err := f.cli.Revoke(ctx, l.ID); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-lost:
	case <-time.After(30 * time.Second):
		t.Fatal("a revoked lease is not reported lost")
	}
	other, err := f.locker(t).Acquire(context.Background(), "deploy", Holder{RunID: "r2"}, 0)
	if err != nil {
		t.Fatalf("after the loss, another run cannot take the lock: %v", err)
	}
	release(t, other)

	fileLease, err := NewFile(t.TempDir()).Acquire(context.Background(), "deploy", Holder{RunID: "r3"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer release(t, fileLease)
	if _, ok := fileLease.(Losable); ok {
		t.Error("a file lease claims it can be lost")
	}
}
