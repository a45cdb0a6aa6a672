package engine

import (
	"time"

	"github.com/runbookdev/runbook/engine/transcript"
)

// TranscriptHook records a run's events in a transcript (README, "Transcripts"). Progress
// lines are shown, not recorded. Each event is written as it happens (it
// survives the process being killed at once) and fsync'd when the engine
// flushes: at every step boundary and before every mutating action. An
// event that cannot be written or synced stops the run before its next
// step.
func TranscriptHook(w *transcript.Writer) Hook { return transcriptHook{w} }

type transcriptHook struct{ w *transcript.Writer }

// Handle implements Hook.
func (h transcriptHook) Handle(e Event) error {
	typ, fields, ok := record(e)
	if !ok {
		return nil
	}
	_, err := h.w.Write(typ, fields)
	return err
}

// Flush implements Flusher.
func (h transcriptHook) Flush() error { return h.w.Sync() }

// duration is how transcripts record durations: a Go duration string.
func duration(d time.Duration) string { return d.Round(time.Millisecond).String() }

// record maps an event to the transcript's record shape.
func record(e Event) (string, map[string]any, bool) {
	switch e := e.(type) {
	case RunStarted:
		f := map[string]any{
			"run_id": e.RunID, "runbook": e.Runbook, "source": e.Source, "mode": e.Mode,
			"operator": e.Operator, "version": e.Version, "plugins": e.Plugins, "vars": e.Vars,
		}
		if e.Resumes != "" {
			f["resumes"] = e.Resumes
		}
		if e.Plan != nil {
			f["plan"] = e.Plan
		}
		if e.Lock != "" {
			f["lock"] = e.Lock
		}
		return e.Type(), f, true
	case StepStarted:
		f := step(e.StepRef)
		if e.Action != "" {
			f["action"] = e.Action
		}
		if e.Manual != "" {
			f["manual"] = e.Manual
		}
		return e.Type(), f, true
	case PreconditionChecked:
		f := step(e.StepRef)
		f["condition"], f["status"], f["passed"] = e.Condition, e.Result, e.Result == "passed"
		if e.Message != "" {
			f["error_message"] = e.Message
		}
		return e.Type(), f, true
	case ConfirmationAnswered:
		f := step(e.StepRef)
		f["question"], f["answer"], f["by"] = e.Question, e.Answer, e.By
		return e.Type(), f, true
	case Planned:
		f := step(e.StepRef)
		f["action"] = e.Action
		if e.Error != "" {
			f["error"] = e.Error
			return e.Type(), f, true
		}
		f["changes"], f["output"] = e.Changes, e.Output
		return e.Type(), f, true
	case ActionFinished:
		f := step(e.StepRef)
		f["action"], f["attempt"], f["duration"], f["read_only"] = e.Action, e.Attempt, duration(e.Duration), e.ReadOnly
		if e.Error != "" {
			f["error"] = e.Error
		} else {
			f["output"] = e.Output
		}
		if e.Predicted {
			f["predicted"] = true
		}
		return e.Type(), f, true
	case ExpectationChecked:
		f := step(e.StepRef)
		f["condition"], f["status"], f["check"] = e.Condition, e.Result, e.Check
		if e.Message != "" {
			f["error_message"] = e.Message
		}
		return e.Type(), f, true
	case StepFinished:
		f := step(e.StepRef)
		f["status"], f["duration"] = e.Status, duration(e.Duration)
		if e.Reason != "" {
			f["error"] = e.Reason
		}
		if e.Output != nil {
			f["output"] = e.Output
		}
		return e.Type(), f, true
	case RunFinished:
		f := map[string]any{"status": e.Status, "exit_code": e.ExitCode, "duration": duration(e.Duration)}
		if e.Reason != "" {
			f["error"] = e.Reason
		}
		if e.Plan != nil {
			f["plan"] = e.Plan
		}
		return e.Type(), f, true
	case Interrupted:
		f := map[string]any{"duration": duration(e.Duration)}
		if e.Step != "" {
			f["step"] = e.Step
		}
		if e.Signal != "" {
			f["signal"] = e.Signal
		}
		return e.Type(), f, true
	}
	return "", nil, false
}

func step(ref StepRef) map[string]any {
	return map[string]any{"step": ref.Name, "index": ref.Index, "owner": ref.Owner}
}
