package lock

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/runbookdev/runbook/plugins/index/pgtest"
)

func TestPostgresURL(t *testing.T) {
	tests := []struct {
		url, err string
	}{
		{url: "postgres://runbook@127.0.0.1:5432/team?sslmode=disable"},
		{url: "postgresql://runbook:pw@db.internal/team"},
		{url: "postgres://runbook:pw@h:notaport/team", err: "not a PostgreSQL connection URL"},
		{url: "postgres://runbook:pw@h/team?sslmode=sometimes", err: "not a PostgreSQL connection URL"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			l, err := FromURL(tt.url, t.TempDir())
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || strings.Contains(err.Error(), ":pw@") {
					t.Fatalf("err = %v, want %q without the password", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			pl, ok := l.(*pgLocker)
			if !ok || pl.cfg.URL != tt.url || pl.cfg.Table != DefaultPostgresTable {
				t.Fatalf("got %T %+v", l, l)
			}
		})
	}
}

func TestPostgresUnavailable(t *testing.T) {
	// Nothing listens on port 1 of the loopback.
	l := NewPostgres(PostgresConfig{URL: "postgres://runbook:s3cret@127.0.0.1:1/x?sslmode=disable"})
	_, err := l.Acquire(context.Background(), "a", Holder{}, 0)
	var ue *UnavailableError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "PostgreSQL at 127.0.0.1:1/x") || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("got %v, want an *UnavailableError naming the server, without its password", err)
	}
}

// pgLocker is a Locker on a private server, and a superuser connection.
func pgLockFixture(t *testing.T) (Locker, func() Locker, *pgx.Conn) {
	t.Helper()
	dsn := pgtest.Start(t)
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	newLocker := func() Locker {
		l, err := FromURL(dsn, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	return newLocker(), newLocker, conn
}

func TestPostgresLock(t *testing.T) {
	l, newLocker, conn := pgLockFixture(t)
	ctx := context.Background()
	since := time.Date(2026, 11, 26, 14, 5, 1, 0, time.UTC)
	h := Holder{RunID: "20261126T140501", Operator: "alice@laptop", Host: "laptop", Since: since}
	lease, err := l.Acquire(ctx, "prompt/support-agent", h, 0)
	if err != nil {
		t.Fatal(err)
	}
	if lease.Name() != "prompt/support-agent" {
		t.Errorf("name %q", lease.Name())
	}
	want := h
	want.PID = os.Getpid()
	for _, wait := range []time.Duration{0, 200 * time.Millisecond} {
		_, err := newLocker().Acquire(ctx, "prompt/support-agent", Holder{RunID: "other"}, wait)
		var he *HeldError
		if !errors.As(err, &he) {
			t.Fatalf("second acquire (wait %s): %v, want a *HeldError", wait, err)
		}
		if !he.Holder.Since.Equal(want.Since) {
			t.Errorf("since %v, want %v", he.Holder.Since, want.Since)
		}
		he.Holder.Since = want.Since
		if he.Holder != want {
			t.Errorf("holder %+v, want %+v", he.Holder, want)
		}
		if !strings.Contains(err.Error(), "run 20261126T140501 (alice@laptop, pid ") {
			t.Errorf("%q does not name the holder", err)
		}
	}
	// Another name is another lock; the same process is not re-entrant.
	other, err := l.Acquire(ctx, "prompt/support-agent/x", Holder{RunID: "other"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Release(); err != nil {
		t.Fatal(err)
	}
	var he *HeldError
	if _, err := l.Acquire(ctx, "prompt/support-agent", h, 0); !errors.As(err, &he) {
		t.Fatalf("re-acquire in the same process: %v, want a *HeldError", err)
	}

	if err := lease.Release(); err != nil {
		t.Fatal(err)
	}
	if err := lease.Release(); err != nil {
		t.Fatalf("second release: %v", err)
	}
	select {
	case <-lease.(Losable).Lost():
	default:
		t.Error("Lost() is open after Release")
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM `+DefaultPostgresTable).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d holder records left (%v), want none", n, err)
	}
	next, err := newLocker().Acquire(ctx, "prompt/support-agent", Holder{RunID: "next"}, 0)
	if err != nil {
		t.Fatalf("acquire after release: %v", err)
	}
	defer next.Release()
}

// A connection the server ends loses the lock: Lost closes, and another
// run may take it.
func TestPostgresLockLost(t *testing.T) {
	l, newLocker, conn := pgLockFixture(t)
	ctx := context.Background()
	lease, err := l.Acquire(ctx, "db/migrate", Holder{RunID: "r1"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-lease.(Losable).Lost():
		t.Fatal("lost before anything happened")
	default:
	}
	var killed bool
	if err := conn.QueryRow(ctx, `SELECT pg_terminate_backend(backend_pid) FROM `+DefaultPostgresTable+` WHERE name = 'db/migrate'`).Scan(&killed); err != nil || !killed {
		t.Fatalf("terminate the holder's session: %v, %v", killed, err)
	}
	select {
	case <-lease.(Losable).Lost():
	case <-time.After(time.Minute): // a bound against hanging, not a timing
		t.Fatal("Lost() did not close when the session was terminated")
	}
	// The record left behind names nobody: the lock is free.
	next, err := newLocker().Acquire(ctx, "db/migrate", Holder{RunID: "r2"}, 0)
	if err != nil {
		t.Fatalf("acquire after the holder was lost: %v", err)
	}
	if err := lease.Release(); err != nil {
		t.Errorf("release of a lost lease: %v", err)
	}
	_, err = newLocker().Acquire(ctx, "db/migrate", Holder{}, 0)
	var he *HeldError
	if !errors.As(err, &he) || he.Holder.RunID != "r2" {
		t.Fatalf("got %v, want held by r2", err)
	}
	if err := next.Release(); err != nil {
		t.Fatal(err)
	}
}
