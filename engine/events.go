package engine

import "github.com/runbookdev/runbook/engine/transcript"

// Hook receives what happens during a run. The terminal view and the
// transcript writer are hooks; the engine itself never prints. An error from
// a hook stops the run before anything further happens (a transcript that
// cannot be written must not let a mutating step run unrecorded).
//
// Every value in an event is already redacted: sensitive values appear as
// "(sensitive)", and literal secrets inside strings a plugin returned are
// masked.
type Hook interface {
	Handle(e Event) error
}

// Flusher is implemented by hooks that buffer what they record: Flush
// makes every event handled so far durable. The engine flushes at each
// step boundary (after run_started, after every step_finished, after the
// last event) and before every attempt of a mutating action, so that a
// step's record is on disk before its side effect happens and before the
// next step starts (docs/execution.md, "Transcripts"). An error from Flush stops the run as one from
// Handle does.
type Flusher interface {
	Flush() error
}

// Event is one of the event types below.
type Event interface {
	// Type is the event's transcript type ("run_started", "step_started", …).
	Type() string
}

// Step statuses.
const (
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	StatusSkipped   = "skipped"
	// StatusBlocked: a precondition did not hold.
	StatusBlocked = "blocked"
	// StatusDeclined: a confirmation was declined or could not be asked.
	StatusDeclined = "declined"
	// StatusInterrupted: Ctrl-C or SIGTERM during the step.
	StatusInterrupted = "interrupted"
	// StatusPlanned: a dry-run planned a mutating action.
	StatusPlanned = "planned"
	// StatusPending: a dry-run could not evaluate it: its inputs are unknown
	// until earlier steps really run.
	StatusPending = "pending"
)

// Modes.
const (
	ModeRun    = "run"
	ModeDryRun = "dry-run"
)

// The recorded events are the transcript's typed records
// (engine/transcript, docs/transcript.md): one type per event, written and
// read by the same code.
type (
	StepRef    = transcript.StepRef
	RunStarted = transcript.RunStartedOf[any]
	SourceInfo = transcript.Source
	PluginInfo = transcript.PluginInfo
	PlanRef    = transcript.PlanRef
	Duration   = transcript.Duration

	StepStarted          = transcript.StepStarted
	PreconditionChecked  = transcript.PreconditionChecked
	ConfirmationAnswered = transcript.ConfirmationAnswered
	Planned              = transcript.Planned
	ActionFinished       = transcript.ActionFinished
	ExpectationChecked   = transcript.ExpectationChecked
	StepFinished         = transcript.StepFinished
	RunFinished          = transcript.RunFinished
	PlanSummary          = transcript.PlanSummary
	PlannedChange        = transcript.PlannedChange
	Interrupted          = transcript.Interrupted
	ApprovalRequested    = transcript.ApprovalRequested
	ApprovalAnswered     = transcript.ApprovalAnswered
	OperatorIdentity     = transcript.OperatorIdentity
)

// Progress is a line a long action reports while it runs. It is shown, not
// recorded.
type Progress struct {
	StepRef
	Line string `json:"line"`
}

// Type implements Event.
func (Progress) Type() string { return "progress" }
