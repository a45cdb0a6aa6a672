package lock

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/runbookdev/runbook/engine/exitcode"
)

// Holder says who holds a lock.
type Holder struct {
	RunID    string
	Operator string
	Host     string
	PID      int
	Since    time.Time
}

func (h Holder) isZero() bool {
	return h.RunID == "" && h.Operator == "" && h.Host == "" && h.PID == 0 && h.Since.IsZero()
}

// Locker takes named locks.
type Locker interface {
	// Acquire takes the lock name for holder h. When another run holds it,
	// Acquire retries until wait has elapsed (wait <= 0: a single try) and
	// then returns a *HeldError; when ctx ends first it returns ctx's error.
	Acquire(ctx context.Context, name string, h Holder, wait time.Duration) (Lease, error)
}

// Lease is a held lock.
type Lease interface {
	// Release gives the lock up. Releasing a Lease twice is a no-op.
	Release() error
	// Name is the lock's name, as given to Acquire.
	Name() string
}

// Losable is implemented by leases that can be lost while held: an etcd
// lease expires when the cluster cannot be reached for longer than its
// TTL, or is revoked by someone else, and another run may take the lock
// from then on. Lost returns a channel closed once that has happened (and
// also once the lease is released). A file lock cannot be lost.
type Losable interface {
	Lost() <-chan struct{}
}

// HeldError is returned by Acquire when the lock is held by another run.
// Holder may be partly or entirely unknown when the holder's record is
// missing or unreadable.
type HeldError struct {
	Name   string
	Holder Holder
}

// Error names the lock and who holds it, since when, and the run id, e.g.
// lock "prompt/support-agent" is held by run 20261126T140501 (alice@host,
// pid 123) since 2026-11-26 14:05:01 UTC.
func (e *HeldError) Error() string {
	h := e.Holder
	var b strings.Builder
	fmt.Fprintf(&b, "lock %q is held by ", e.Name)
	if h.isZero() {
		b.WriteString("another run (holder unknown)")
		return b.String()
	}
	if h.RunID != "" {
		b.WriteString("run " + h.RunID)
	} else {
		b.WriteString("another run")
	}
	var who []string
	switch {
	case h.Operator != "" && h.Host != "" && !strings.HasSuffix(h.Operator, "@"+h.Host):
		// The engine's operators are already user@host.
		who = append(who, h.Operator+"@"+h.Host)
	case h.Operator != "":
		who = append(who, h.Operator)
	case h.Host != "":
		who = append(who, "host "+h.Host)
	}
	if h.PID > 0 {
		who = append(who, "pid "+strconv.Itoa(h.PID))
	}
	if len(who) > 0 {
		b.WriteString(" (" + strings.Join(who, ", ") + ")")
	}
	if !h.Since.IsZero() {
		b.WriteString(" since " + h.Since.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	return b.String()
}

// ExitCode is 3: the run is refused (docs/commands.md, "Exit codes").
func (e *HeldError) ExitCode() int { return exitcode.Refused }
