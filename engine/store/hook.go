package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"sync"

	"github.com/runbookdev/runbook/engine"
	"github.com/runbookdev/runbook/engine/transcript"
)

// FileHook ships a run to the store as the engine makes its transcript
// durable. It is an engine hook to place after engine.TranscriptHook: the
// engine flushes its hooks in order, so when FileHook's Flush runs the
// transcript hook has just fsync'd the local file, and FileHook hands the
// lines added since its last Flush to the shipper. The store thus never has
// an event the local file could lose (docs/store.md, "When the store is
// down"), and shipping costs the run one read of what it just wrote.
type FileHook struct {
	path string
	sh   *Shipper

	mu      sync.Mutex
	f       *os.File
	off     int64
	partial []byte
	err     error // the first failure to read the file: shipping stopped
}

// NewFileHook ships the transcript at path, the run's, through sh.
func NewFileHook(path string, sh *Shipper) *FileHook { return &FileHook{path: path, sh: sh} }

var (
	_ engine.Hook    = (*FileHook)(nil)
	_ engine.Flusher = (*FileHook)(nil)
)

// Handle implements engine.Hook: events are shipped from the file, once
// durable, not as they happen.
func (h *FileHook) Handle(engine.Event) error { return nil }

// Flush implements engine.Flusher: it hands the lines the file gained to
// the shipper. It never fails the run: the store is not the record of last
// resort, and Close reports what it lacks.
func (h *FileHook) Flush() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.read()
	return nil
}

// read ships the whole lines added to the file since the last read; h.mu
// is held.
func (h *FileHook) read() {
	if h.err != nil {
		return
	}
	if h.f == nil {
		if h.f, h.err = os.Open(h.path); h.err != nil {
			return
		}
	}
	data, err := io.ReadAll(io.NewSectionReader(h.f, h.off, transcript.MaxSize))
	if err != nil {
		h.err = err
		return
	}
	h.off += int64(len(data))
	data = append(h.partial, data...)
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		h.sh.Ship(lineEvent(data[:i]))
		data = data[i+1:]
	}
	h.partial = append([]byte(nil), data...)
}

// lineEvent is a transcript line as the shipper needs it: its header and
// its bytes. A line that does not decode is shipped all the same, for the
// store to refuse by name.
func lineEvent(line []byte) transcript.Event {
	var hdr struct {
		Seq  int64  `json:"seq"`
		Type string `json:"type"`
		Prev string `json:"prev"`
		Hash string `json:"hash"`
	}
	_ = json.Unmarshal(line, &hdr)
	return transcript.Event{Seq: hdr.Seq, Type: hdr.Type, Prev: hdr.Prev, Hash: hdr.Hash, Line: int(hdr.Seq), Raw: bytes.Clone(line)}
}

// Close ships what the file gained since the last Flush, then closes the
// shipper (Shipper.Close): nil when the store has the whole run, else an
// *UnshippedError, or why the file could not be read.
func (h *FileHook) Close(ctx context.Context) error {
	h.mu.Lock()
	h.read()
	if h.f != nil {
		h.f.Close()
	}
	readErr := h.err
	h.mu.Unlock()
	err := h.sh.Close(ctx)
	if readErr != nil {
		return errors.Join(err, readErr)
	}
	return err
}
