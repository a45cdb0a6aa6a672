package transcript

import (
	"encoding/json"
	"fmt"
	"time"
)

// Event types (docs/transcript.md, "Record types"), in the order a run records them.
const (
	TypeRunStarted   = "run_started"
	TypeStepStarted  = "step_started"
	TypePrecondition = "precondition"
	TypeConfirmation = "confirmation"
	// An approval request follows its step's confirmation; each answer
	// is an approval.
	TypeApprovalRequest = "approval_request"
	TypeApproval        = "approval"
	TypePlan            = "plan"
	TypeActionResult    = "action_result"
	TypeExpectation     = "expectation"
	TypeStepFinished    = "step_finished"
	TypeRunFinished     = "run_finished"
	TypeInterrupted     = "interrupted"
	// A notification records one delivery of a notify block: after
	// run_started, after an approval_request, and before run_finished or
	// interrupted.
	TypeNotification = "notification"
)

// Event is one line of a transcript.
type Event struct {
	Seq  int64
	Time time.Time
	Type string
	Prev string
	Hash string
	// Fields are the event's members other than the five above.
	Fields map[string]json.RawMessage
	// Line is the event's line number in its file (1-based).
	Line int
	// Raw is the line as written, without its newline.
	Raw []byte
}

// Has reports whether the event has the field key.
func (e Event) Has(key string) bool { _, ok := e.Fields[key]; return ok }

// Decode unmarshals field key into v; a missing field is an error.
func (e Event) Decode(key string, v any) error {
	raw, ok := e.Fields[key]
	if !ok {
		return fmt.Errorf("event %d (%s) has no field %q", e.Seq, e.Type, key)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("event %d (%s), field %q: %w", e.Seq, e.Type, key, err)
	}
	return nil
}

// Str returns field key as a string: "" when missing or not a string.
func (e Event) Str(key string) string {
	var s string
	if e.Decode(key, &s) != nil {
		return ""
	}
	return s
}

// Duration returns the event's duration and whether it has one.
func (e Event) Duration() (time.Duration, bool) {
	var d Duration
	if e.Decode("duration", &d) != nil {
		return 0, false
	}
	return time.Duration(d), true
}

// Step is the name of the step the event belongs to ("" for run events).
func (e Event) Step() string { return e.Str("step") }

// Status is the event's status field.
func (e Event) Status() string { return e.Str("status") }
