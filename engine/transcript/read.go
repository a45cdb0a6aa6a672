package transcript

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/runbookdev/runbook/plugins/safefile"
)

// Transcript is a transcript file read back.
type Transcript struct {
	Path   string
	Events []Event
	// Torn is the last line when a crash left it incomplete (no newline,
	// or not an event); it is not in Events.
	Torn []byte
}

// MaxSize is the largest transcript that is read: far above what a run of
// ten thousand steps writes.
const MaxSize = 512 << 20

// Read parses the transcript at path without checking its chain (Verify
// does that). A torn last line is set aside in Torn; any other line that is
// not an event is an error.
func Read(path string) (*Transcript, error) {
	data, err := safefile.ReadFile(path, MaxSize)
	if err != nil {
		return nil, fmt.Errorf("read transcript: %w", err)
	}
	t, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("read transcript %s: %w", path, err)
	}
	t.Path = path
	return t, nil
}

func parse(data []byte) (*Transcript, error) {
	lines, torn := splitLines(data)
	t := &Transcript{Torn: torn}
	for i, raw := range lines {
		ev, reason := parseEvent(raw, i+1)
		if reason != "" {
			return nil, fmt.Errorf("line %d: %s", i+1, reason)
		}
		t.Events = append(t.Events, ev)
	}
	return t, nil
}

// splitLines splits a transcript into its whole lines (without newlines)
// and a torn last line: bytes after the last newline, or a last line that
// is not an event, as a crash mid-write leaves behind.
func splitLines(data []byte) (lines [][]byte, torn []byte) {
	end := bytes.LastIndexByte(data, '\n') + 1
	if end < len(data) {
		torn = data[end:]
	}
	body := data[:end]
	for len(body) > 0 {
		i := bytes.IndexByte(body, '\n')
		lines = append(lines, body[:i])
		body = body[i+1:]
	}
	if torn == nil && len(lines) > 0 {
		last := lines[len(lines)-1]
		if _, reason := parseEvent(last, len(lines)); reason == reasonNotJSON {
			lines, torn = lines[:len(lines)-1], data[len(data)-len(last)-1:]
		}
	}
	return lines, torn
}

const reasonNotJSON = "not JSON"

// parseEvent decodes one line; reason says what is wrong when it is not an
// event.
func parseEvent(raw []byte, lineNo int) (Event, string) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil || members == nil {
		return Event{}, reasonNotJSON
	}
	ev := Event{Line: lineNo, Raw: raw, Fields: map[string]json.RawMessage{}}
	var timeStr string
	header := []struct {
		key string
		dst any
	}{{"seq", &ev.Seq}, {"time", &timeStr}, {"type", &ev.Type}, {"prev", &ev.Prev}, {"hash", &ev.Hash}}
	for _, h := range header {
		v, ok := members[h.key]
		if !ok {
			return Event{}, fmt.Sprintf("malformed event: no %q", h.key)
		}
		if err := json.Unmarshal(v, h.dst); err != nil {
			return Event{}, fmt.Sprintf("malformed event: bad %q", h.key)
		}
		delete(members, h.key)
	}
	t, err := time.Parse(time.RFC3339Nano, timeStr)
	if err != nil {
		return Event{}, `malformed event: bad "time"`
	}
	ev.Time = t
	ev.Fields = members
	return ev, ""
}

// RunStarted decodes the first event.
func (t *Transcript) RunStarted() (RunStarted, error) {
	if len(t.Events) == 0 || t.Events[0].Type != TypeRunStarted {
		return RunStarted{}, errors.New("transcript does not start with run_started")
	}
	r, _, err := t.Events[0].Record()
	if err != nil {
		return RunStarted{}, fmt.Errorf("run_started: %w", err)
	}
	return r.(RunStarted), nil
}

// End returns the run_finished or interrupted event that ends the run.
func (t *Transcript) End() (Event, bool) {
	if n := len(t.Events); n > 0 {
		if e := t.Events[n-1]; e.Type == TypeRunFinished || e.Type == TypeInterrupted {
			return e, true
		}
	}
	return Event{}, false
}

// Status is the run's final status, "interrupted", or "unfinished".
func (t *Transcript) Status() string {
	e, ok := t.End()
	switch {
	case !ok:
		return StatusUnfinished
	case e.Type == TypeInterrupted:
		return StatusInterrupted
	case e.Status() != "":
		return e.Status()
	}
	return StatusUnfinished
}

// Head is the hash of the last event ("" when there is none).
func (t *Transcript) Head() string {
	if n := len(t.Events); n > 0 {
		return t.Events[n-1].Hash
	}
	return ""
}

// StepStatusUnknown is the status of a step that started but has no
// step_finished: its action may or may not have run (docs/execution.md, "Resume").
const StepStatusUnknown = "unknown"

// StepRecord is what a transcript says about one step.
type StepRecord struct {
	Name string
	// Status comes from step_finished, else StepStatusUnknown.
	Status string
	// Output is step_finished's output, else the last action_result's.
	Output json.RawMessage
	// Events are the step's events, step_started to step_finished.
	Events []Event
}

// Steps groups the events that name a step ("step" field) by step, in the
// order the steps started. Run events (run_started, run_finished,
// interrupted) belong to no step.
func (t *Transcript) Steps() []*StepRecord {
	var steps []*StepRecord
	byName := map[string]*StepRecord{}
	for _, e := range t.Events {
		switch e.Type {
		case TypeRunStarted, TypeRunFinished, TypeInterrupted:
			continue
		}
		name := e.Step()
		if !e.Has("step") {
			continue
		}
		s := byName[name]
		if s == nil {
			s = &StepRecord{Name: name, Status: StepStatusUnknown}
			byName[name] = s
			steps = append(steps, s)
		}
		s.Events = append(s.Events, e)
		switch e.Type {
		case TypeActionResult:
			if out, ok := outputOf(e); ok {
				s.Output = out
			}
		case TypeStepFinished:
			if st := e.Status(); st != "" {
				s.Status = st
			}
			if out, ok := outputOf(e); ok {
				s.Output = out
			}
		}
	}
	return steps
}

func outputOf(e Event) (json.RawMessage, bool) {
	raw, ok := e.Fields["output"]
	return raw, ok
}
