package transcript

import (
	"encoding/json"
	"fmt"
	"time"
)

// Event types (README, "Transcripts"), in the order a run records them.
const (
	TypeRunStarted   = "run_started"
	TypeStepStarted  = "step_started"
	TypePrecondition = "precondition"
	TypeConfirmation = "confirmation"
	TypePlan         = "plan"
	TypeActionResult = "action_result"
	TypeExpectation  = "expectation"
	TypeStepFinished = "step_finished"
	TypeRunFinished  = "run_finished"
	TypeInterrupted  = "interrupted"
)

// Sensitive is what a sensitive value is replaced with, everywhere.
const Sensitive = "(sensitive)"

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

// Int returns field key as an integer and whether it is one.
func (e Event) Int(key string) (int64, bool) {
	var n int64
	if e.Decode(key, &n) != nil {
		return 0, false
	}
	return n, true
}

// Bool returns field key as a bool and whether it is one.
func (e Event) Bool(key string) (value, ok bool) {
	if e.Decode(key, &value) != nil {
		return false, false
	}
	return value, true
}

// Duration returns the event's duration: "duration_ms" (milliseconds, as
// the engine records it) or "duration" (a Go duration string or seconds).
func (e Event) Duration() (time.Duration, bool) {
	if ms, ok := e.Int("duration_ms"); ok {
		return time.Duration(ms) * time.Millisecond, true
	}
	var s string
	if e.Decode("duration", &s) == nil {
		d, err := time.ParseDuration(s)
		return d, err == nil
	}
	var secs float64
	if e.Decode("duration", &secs) == nil {
		return time.Duration(secs * float64(time.Second)), true
	}
	return 0, false
}

// Step is the name of the step the event belongs to ("" for run events).
func (e Event) Step() string { return e.Str("step") }

// Status is the event's status field.
func (e Event) Status() string { return e.Str("status") }
