package lock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/runbookdev/runbook/plugins/atomicfile"
	"github.com/runbookdev/runbook/plugins/filelock"
)

// Backoff between tries while waiting for a held lock.
const (
	minBackoff = 25 * time.Millisecond
	maxBackoff = 500 * time.Millisecond
)

// maxHolderFile bounds how much of a side file is read.
const maxHolderFile = 64 << 10

// NewFile returns the embedded Locker: flock on files in dir (normally
// <state-dir>/locks), which Acquire creates with mode 0700 when missing.
func NewFile(dir string) Locker {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return &fileLocker{dir: dir}
}

type fileLocker struct {
	dir string
	// afterHeld, when set, runs each time a try finds the lock held and
	// Acquire is about to wait; tests use it to act at that moment.
	afterHeld func()
}

// held is the process-wide table of the file locks this process holds,
// keyed by lock file path: flock cannot tell two opens in one process apart.
var held = struct {
	sync.Mutex
	locks map[string]*heldLock
}{locks: map[string]*heldLock{}}

type heldLock struct {
	path, side string
	file       *os.File
	holder     Holder
	refs       int
}

func (l *fileLocker) paths(name string) (lockPath, sidePath string) {
	stem := filepath.Join(l.dir, fileStem(name))
	return stem + ".lock", stem + ".holder.json"
}

// Acquire implements Locker. Zero PID, Host and Since in h are filled in
// with this process's pid, hostname and the current time.
func (l *fileLocker) Acquire(ctx context.Context, name string, h Holder, wait time.Duration) (Lease, error) {
	if name == "" {
		return nil, errors.New("acquire lock: empty lock name")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("acquire lock %q: %w", name, err)
	}
	if err := os.MkdirAll(l.dir, 0o700); err != nil {
		return nil, fmt.Errorf("acquire lock %q: %w", name, err)
	}
	h = withDefaults(h)
	deadline := time.Now().Add(wait)
	backoff := minBackoff
	for {
		lease, err := l.try(name, h)
		var heldErr *HeldError
		if !errors.As(err, &heldErr) {
			return lease, err
		}
		remaining := time.Until(deadline)
		if remaining <= 0 {
			return nil, err
		}
		if l.afterHeld != nil {
			l.afterHeld()
		}
		timer := time.NewTimer(min(backoff, remaining))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, fmt.Errorf("wait for lock %q: %w", name, ctx.Err())
		case <-timer.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// try takes the lock once, or reports who holds it.
func (l *fileLocker) try(name string, h Holder) (Lease, error) {
	lockPath, sidePath := l.paths(name)
	held.Lock()
	defer held.Unlock()
	if hl, ok := held.locks[lockPath]; ok {
		if h.RunID == "" || h.RunID != hl.holder.RunID {
			return nil, &HeldError{Name: name, Holder: hl.holder}
		}
		hl.refs++
		return &fileLease{name: name, lock: hl}, nil
	}
	f, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("acquire lock %q: %w", name, err)
	}
	busy, err := filelock.TryLock(f)
	if err != nil || busy {
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("acquire lock %q: flock %s: %w", name, lockPath, err)
		}
		return nil, &HeldError{Name: name, Holder: readHolder(sidePath)}
	}
	if err := writeHolder(sidePath, h); err != nil {
		f.Close() // releases the flock
		return nil, fmt.Errorf("acquire lock %q: record holder: %w", name, err)
	}
	hl := &heldLock{path: lockPath, side: sidePath, file: f, holder: h, refs: 1}
	held.locks[lockPath] = hl
	return &fileLease{name: name, lock: hl}, nil
}

func withDefaults(h Holder) Holder {
	if h.PID == 0 {
		h.PID = os.Getpid()
	}
	if h.Host == "" {
		h.Host, _ = os.Hostname()
	}
	if h.Since.IsZero() {
		h.Since = time.Now().UTC().Round(0)
	}
	return h
}

type fileLease struct {
	name     string
	lock     *heldLock
	released bool // guarded by held
}

func (l *fileLease) Name() string { return l.name }

// Release drops this Lease's reference; the last one removes the side file
// (best effort, while the flock still guards it) and then the flock.
func (l *fileLease) Release() error {
	held.Lock()
	defer held.Unlock()
	if l.released {
		return nil
	}
	l.released = true
	hl := l.lock
	if hl.refs--; hl.refs > 0 {
		return nil
	}
	delete(held.locks, hl.path)
	// A side file left behind is harmless: only the flock counts.
	_ = os.Remove(hl.side)
	var errs []error
	if err := filelock.Unlock(hl.file); err != nil {
		errs = append(errs, fmt.Errorf("release lock %q: %w", l.name, err))
	}
	if err := hl.file.Close(); err != nil {
		errs = append(errs, fmt.Errorf("release lock %q: %w", l.name, err))
	}
	return errors.Join(errs...)
}

// holderRecord is the side file's JSON shape.
type holderRecord struct {
	RunID    string    `json:"run_id,omitempty"`
	Operator string    `json:"operator,omitempty"`
	Host     string    `json:"host,omitempty"`
	PID      int       `json:"pid,omitempty"`
	Since    time.Time `json:"since,omitzero"`
}

func writeHolder(path string, h Holder) error {
	data, err := json.MarshalIndent(holderRecord(h), "", "  ")
	if err != nil {
		return err
	}
	// Atomic, so that a reader never sees half of it, but not fsynced:
	// the holder matters only while its flock is held, and a crash of the
	// machine releases that.
	return atomicfile.WriteNoSync(path, append(data, '\n'), 0o600)
}

// readHolder reads what it can of a side file; a missing or corrupt one
// gives a partly or entirely zero Holder.
func readHolder(path string) Holder {
	f, err := os.Open(path)
	if err != nil {
		return Holder{}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxHolderFile))
	if err != nil {
		return Holder{}
	}
	var rec holderRecord
	_ = json.Unmarshal(data, &rec) // fields decoded before an error still help
	return Holder(rec)
}
