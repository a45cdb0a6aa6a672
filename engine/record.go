package engine

import (
	"github.com/runbookdev/runbook/engine/transcript"
)

// TranscriptHook records a run's events in a transcript (docs/execution.md, "Transcripts"). Progress
// lines are shown, not recorded. Each event is written as it happens (it
// survives the process being killed at once) and fsync'd when the engine
// flushes: at every step boundary and before every mutating action. An
// event that cannot be written or synced stops the run before its next
// step.
func TranscriptHook(w *transcript.Writer) Hook { return transcriptHook{w} }

type transcriptHook struct{ w *transcript.Writer }

// Handle implements Hook: every event but Progress is a transcript record.
func (h transcriptHook) Handle(e Event) error {
	r, ok := e.(transcript.Record)
	if !ok {
		return nil
	}
	_, err := h.w.Record(r)
	return err
}

// Flush implements Flusher.
func (h transcriptHook) Flush() error { return h.w.Sync() }
