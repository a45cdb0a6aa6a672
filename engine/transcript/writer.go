// Package transcript owns the tamper-evident record of a run (docs/execution.md, "Transcripts"): one
// JSON Lines file per run under <state-dir>/transcripts, each event appended
// as it happens (Write, and fsync'd by Sync where its writer says, in
// batches) and chained to the one before by SHA-256. It
// writes events (Writer), reads them back (Read, Transcript), checks the
// chain (Verify, Repair) and finds and summarizes runs (Find, List).
//
// # Hash canonicalization
//
// The hash of an event is the lowercase hex SHA-256 of the exact bytes of
// its line with the final `,"hash":"…"` member removed: the line without
// its newline, minus the suffix `,"hash":"<64 hex>"}`, plus `}`. The writer
// always puts hash last, so a verifier in any language reproduces the
// preimage with string operations alone and never re-marshals JSON (which
// would depend on key order, escaping and number formatting). The writer's
// output is itself deterministic: `{"seq":N,"time":"…","type":"…","prev":"…",`
// then the fields as encoding/json marshals them (map keys sorted, struct
// fields in declaration order, compact, no HTML escaping), then the hash.
//
// The chain detects an edited, deleted, inserted or reordered record. Like
// every hash chain without an outside anchor it cannot detect the last
// records being cut off at a line boundary, nor a whole rewritten chain: note
// the head hash (`runbook transcript show` prints it) where it matters.
package transcript

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/runbookdev/runbook/plugins/atomicfile"
)

// TimeFormat is how event times are written: RFC 3339 in UTC with
// microseconds, fixed width so that lines sort and align.
const TimeFormat = "2006-01-02T15:04:05.000000Z07:00"

// Reserved keys are written by the Writer; fields may not set them.
var reserved = map[string]bool{"seq": true, "time": true, "type": true, "prev": true, "hash": true}

// ErrClosed is returned by Write and Sync after Close.
var ErrClosed = errors.New("transcript closed")

// File is what the writer needs of an open transcript file. Tests
// substitute one that fails to simulate a full disk or a failing fsync.
type File interface {
	io.Writer
	Sync() error
	Close() error
}

// FS is the file system the writer creates its files in.
type FS interface {
	// MkdirAll creates dir and its parents with mode 0700 when missing and
	// reports whether it created dir.
	MkdirAll(dir string) (created bool, err error)
	// CreateExcl creates name for appending, mode 0600, failing when it
	// already exists.
	CreateExcl(name string) (File, error)
	// SyncDir fsyncs a folder so that a new entry in it is durable.
	SyncDir(dir string) error
	// Remove removes a file Create made before it failed.
	Remove(name string) error
}

// OSFS is the real file system.
type OSFS struct{}

// MkdirAll implements FS.
func (OSFS) MkdirAll(dir string) (bool, error) {
	if _, err := os.Stat(dir); err == nil {
		return false, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, err
	}
	return true, nil
}

// CreateExcl implements FS. O_APPEND keeps every write at the end of the
// file whatever else happens to it.
func (OSFS) CreateExcl(name string) (File, error) {
	return os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
}

// SyncDir implements FS.
func (OSFS) SyncDir(dir string) error { return atomicfile.SyncDir(dir) }

// Remove implements FS.
func (OSFS) Remove(name string) error { return os.Remove(name) }

// Option configures Create.
type Option func(*config)

type config struct {
	fs       FS
	copyPath string
	now      func() time.Time
}

// WithCopy writes a second copy of the transcript to path (the CLI's
// `--transcript FILE`): the same bytes, written and fsync'd with the
// transcript. The copy is created like the transcript itself and never
// overwrites a file.
func WithCopy(path string) Option { return func(c *config) { c.copyPath = path } }

// WithFS makes the writer create its files through fs instead of the OS.
func WithFS(fs FS) Option { return func(c *config) { c.fs = fs } }

// WithClock makes the writer take event times from now instead of the
// system clock (tests and reproducible fixtures).
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// Writer appends events to a transcript. It is safe for concurrent use.
// After any write or fsync error it is broken: every later Write and Sync
// returns that error, so that nothing is recorded after a gap.
type Writer struct {
	mu    sync.Mutex
	path  string
	files []namedFile
	now   func() time.Time
	seq   int64
	head  string
	err   error // sticky: the first write/sync error, or ErrClosed
	// unsynced: an event was written since the last fsync.
	unsynced bool
	unlock   func()
}

type namedFile struct {
	path string
	f    File
}

// Dir is where transcripts live under a state folder.
func Dir(stateDir string) string { return filepath.Join(stateDir, "transcripts") }

// FileName is the name of a run's transcript file in Dir.
func FileName(runID string) string { return runID + ".jsonl" }

// Create creates <dir>/<runID>.jsonl (and dir, mode 0700, when missing),
// failing if the file exists, and fsyncs dir so that the new file survives
// a crash.
func Create(dir, runID string, opts ...Option) (*Writer, error) {
	if err := checkRunID(runID); err != nil {
		return nil, err
	}
	cfg := config{fs: OSFS{}, now: time.Now}
	for _, o := range opts {
		o(&cfg)
	}
	created, err := cfg.fs.MkdirAll(dir)
	if err != nil {
		return nil, fmt.Errorf("create transcript folder %s: %w", dir, err)
	}
	if created {
		if err := cfg.fs.SyncDir(filepath.Dir(dir)); err != nil {
			return nil, fmt.Errorf("create transcript folder %s: %w", dir, err)
		}
	}
	w := &Writer{path: filepath.Join(dir, FileName(runID)), now: cfg.now, unlock: func() {}}
	paths := []string{w.path}
	if cfg.copyPath != "" {
		paths = append(paths, cfg.copyPath)
	}
	for _, p := range paths {
		f, err := cfg.fs.CreateExcl(p)
		if err == nil {
			w.files = append(w.files, namedFile{p, f})
			err = cfg.fs.SyncDir(filepath.Dir(p))
		}
		if err != nil {
			// Leave no empty transcript behind to collide with a retry.
			made := w.files
			w.closeFiles()
			for _, nf := range made {
				_ = cfg.fs.Remove(nf.path)
			}
			return nil, fmt.Errorf("create transcript: %w", err)
		}
	}
	// Hold a lock on the transcript while it is written, so that Repair
	// and List can tell a live run from a crashed one.
	if f, ok := w.files[0].f.(*os.File); ok {
		if unlock, err := lockFile(f, true); err == nil {
			w.unlock = unlock
		}
	}
	return w, nil
}

func checkRunID(runID string) error {
	if runID == "" || strings.HasPrefix(runID, ".") || strings.ContainsAny(runID, `/\`) || strings.ContainsRune(runID, 0) {
		return fmt.Errorf("create transcript: invalid run id %q", runID)
	}
	return nil
}

// Path is the transcript file's path.
func (w *Writer) Path() string { return w.path }

// Head is the hash of the last event written, "" before the first.
func (w *Writer) Head() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.head
}

// Write appends one event of type typ to the transcript (and its copy)
// with one write each, without waiting for the disk: once Write returns,
// the event survives the process being killed, and Sync makes it survive
// the machine crashing too. fields is a map[string]any, a struct, or
// anything else encoding/json marshals to a JSON object (nil means no
// fields); it may not use the keys the writer adds: seq, time, type, prev,
// hash.
func (w *Writer) Write(typ string, fields any) (Event, error) {
	if typ == "" {
		return Event{}, errors.New("append to transcript: empty event type")
	}
	body, keys, err := marshalFields(fields)
	if err != nil {
		return Event{}, fmt.Errorf("append %s to transcript: %w", typ, err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return Event{}, fmt.Errorf("append %s to transcript %s: %w", typ, w.path, w.err)
	}
	ev := Event{Seq: w.seq + 1, Time: w.now().UTC().Truncate(time.Microsecond), Type: typ, Prev: w.head, Fields: keys}
	line := encodeLine(ev, body)
	ev.Hash = hashOf(line)
	line = append(line[:len(line)-1], `,"hash":"`+ev.Hash+`"}`+"\n"...)
	for _, nf := range w.files {
		if _, err := nf.f.Write(line); err != nil {
			w.err = fmt.Errorf("write %s: %w", nf.path, err)
			return Event{}, fmt.Errorf("append %s to transcript: %w", typ, w.err)
		}
	}
	w.seq, w.head = ev.Seq, ev.Hash
	w.unsynced = true
	ev.Raw = bytes.TrimSuffix(line, []byte("\n"))
	ev.Line = int(ev.Seq)
	return ev, nil
}

// Sync fsyncs the transcript and its copy if anything was written since the
// last Sync, so that every event written so far survives a crash of the
// machine. A failed fsync breaks the writer, as a failed write does.
func (w *Writer) Sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if err := w.syncFiles(); err != nil {
		w.err = err
		return err
	}
	return nil
}

// syncFiles fsyncs every file if anything was written since the last
// fsync; w.mu is held.
func (w *Writer) syncFiles() error {
	if !w.unsynced {
		return nil
	}
	for _, nf := range w.files {
		if err := nf.f.Sync(); err != nil {
			return fmt.Errorf("sync %s: %w", nf.path, err)
		}
	}
	w.unsynced = false
	return nil
}

// Close fsyncs what was written since the last Sync and closes the
// transcript and its copy. Later Writes fail.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if errors.Is(w.err, ErrClosed) {
		return nil
	}
	var syncErr error
	if w.err == nil {
		syncErr = w.syncFiles()
	}
	w.err = ErrClosed
	return errors.Join(syncErr, w.closeFiles())
}

func (w *Writer) closeFiles() error {
	if w.unlock != nil {
		w.unlock()
	}
	var errs []error
	for _, nf := range w.files {
		if err := nf.f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close %s: %w", nf.path, err))
		}
	}
	w.files = nil
	return errors.Join(errs...)
}

// marshalFields returns the members of fields' JSON object without braces
// (compact, no HTML escaping) and the decoded members.
func marshalFields(fields any) ([]byte, map[string]json.RawMessage, error) {
	if fields == nil {
		return nil, map[string]json.RawMessage{}, nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(fields); err != nil {
		return nil, nil, fmt.Errorf("marshal fields: %w", err)
	}
	obj := bytes.TrimSpace(buf.Bytes())
	if bytes.Equal(obj, []byte("null")) {
		return nil, map[string]json.RawMessage{}, nil
	}
	if len(obj) < 2 || obj[0] != '{' {
		return nil, nil, fmt.Errorf("fields must be a JSON object, got %.20s", obj)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(obj, &keys); err != nil {
		return nil, nil, fmt.Errorf("marshal fields: %w", err)
	}
	for k := range keys {
		if reserved[k] {
			return nil, nil, fmt.Errorf("field %q is reserved for the transcript writer", k)
		}
	}
	return obj[1 : len(obj)-1], keys, nil
}

// encodeLine writes an event without its hash: header members, then body.
func encodeLine(ev Event, body []byte) []byte {
	b := make([]byte, 0, 128+len(body))
	b = append(b, `{"seq":`...)
	b = strconv.AppendInt(b, ev.Seq, 10)
	b = append(b, `,"time":`...)
	b = strconv.AppendQuote(b, ev.Time.Format(TimeFormat))
	b = append(b, `,"type":`...)
	b = appendJSONString(b, ev.Type)
	b = append(b, `,"prev":"`...)
	b = append(b, ev.Prev...)
	b = append(b, '"')
	if len(body) > 0 {
		b = append(b, ',')
		b = append(b, body...)
	}
	return append(b, '}')
}

func appendJSONString(b []byte, s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return append(b, bytes.TrimSpace(buf.Bytes())...)
}

// hashOf is the hex SHA-256 of an event line without its hash member.
func hashOf(preimage []byte) string {
	sum := sha256.Sum256(preimage)
	return hex.EncodeToString(sum[:])
}
