// Package filestate holds what the embedded file backends of the built-in
// plugins share: an exclusive lock around read-modify-write, atomic JSON
// writes, and the append-only history.jsonl every change is recorded in.
// None of them follows a symbolic link at the path it writes: a link planted
// in a state folder is refused rather than written through or replaced.
package filestate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/runbookdev/runbook/plugins/atomicfile"
	"github.com/runbookdev/runbook/plugins/filelock"
	"github.com/runbookdev/runbook/plugins/safefile"
)

// Lock takes an exclusive lock on the lock file lockPath (created if
// needed), waiting until it is free or ctx is done. Two writers of the same
// state serialize on it, so neither loses the other's update. The lock is an
// OS file lock: a killed process never leaves it behind.
func Lock(ctx context.Context, lockPath string) (unlock func(), err error) {
	f, err := safefile.OpenFileNoFollow(lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	delay := 5 * time.Millisecond
	for {
		held, err := filelock.TryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", lockPath, err)
		}
		if !held {
			return func() {
				_ = filelock.Unlock(f)
				f.Close()
			}, nil
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			f.Close()
			return nil, fmt.Errorf("waiting for the lock on %s: %w", lockPath, ctx.Err())
		case <-t.C:
		}
		delay = min(delay*2, 200*time.Millisecond)
	}
}

// Marshal encodes v as the state files hold it: indented JSON ending in a
// newline, without HTML escaping, so that values other tools wrote (an
// "&" in a manifest key) keep their bytes.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteJSON replaces path with v as indented JSON, atomically (temp file in
// the same folder, fsync, rename, fsync the folder). A symbolic link at path
// is refused, not replaced.
func WriteJSON(path string, v any) error {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		return fmt.Errorf("%s %w", path, safefile.ErrSymlink)
	}
	b, err := Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return atomicfile.Write(path, b, 0o644)
}

// HistoryEntry is one line of a backend's history.jsonl: what changed, from
// what to what, by whom, in which run.
type HistoryEntry struct {
	Time     time.Time `json:"time"`
	Action   string    `json:"action"`
	From     any       `json:"from"`
	To       any       `json:"to"`
	Operator string    `json:"operator,omitempty"`
	RunID    string    `json:"run_id,omitempty"`
	// Subject names what changed (a prompt and label, a route, an index).
	Subject string `json:"subject,omitempty"`
}

// AppendHistory appends one entry to the history file at path and fsyncs
// it. Lines are appended whole (one write of a complete line with O_APPEND),
// so concurrent appenders never interleave within a line.
func AppendHistory(path string, e HistoryEntry) error {
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode history entry: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("history %s: %w", path, err)
	}
	f, err := safefile.OpenFileNoFollow(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	defer f.Close()
	if _, err := f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("history %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("history %s: sync: %w", path, err)
	}
	return nil
}

// LastHistory returns the last entry of the history file at path for which
// match is true; ok is false when there is none, or the file cannot be read.
func LastHistory(path string, match func(HistoryEntry) bool) (last HistoryEntry, ok bool) {
	data, err := safefile.ReadFileNoFollow(path, safefile.MaxStateFile)
	if err != nil {
		return HistoryEntry{}, false
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		var e HistoryEntry
		if json.Unmarshal(line, &e) == nil && match(e) {
			last, ok = e, true
		}
	}
	return last, ok
}

// Who says who made a recorded change, for messages: "by run ID of
// OPERATOR at TIME".
func (e HistoryEntry) Who() string {
	s := "by run " + e.RunID
	if e.RunID == "" {
		s = "by " + e.Action
	}
	if e.Operator != "" {
		s += " of " + e.Operator
	}
	if !e.Time.IsZero() {
		s += " at " + e.Time.UTC().Format("2006-01-02 15:04:05Z")
	}
	return s
}
