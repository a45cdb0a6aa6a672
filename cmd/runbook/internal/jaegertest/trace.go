package jaegertest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"time"
)

// maxResponse bounds what is read of one answer of the query API.
const maxResponse = 16 << 20

// ErrTraceNotFound is returned by Trace when Jaeger has no span of the
// trace (yet).
var ErrTraceNotFound = errors.New("trace not found")

// Trace is one trace as the query API returns it.
type Trace struct {
	TraceID string
	// Spans are in the order Jaeger returned them.
	Spans []Span
}

// Span is one span of a trace.
type Span struct {
	TraceID       string
	SpanID        string
	OperationName string
	References    []Reference
	Start         time.Time
	Duration      time.Duration
	// Tags are the span's attributes, with what Jaeger adds of its own
	// (span.kind, otel.status_code, otel.scope.name, ...).
	Tags []KeyValue
	// Logs are the span's events: Jaeger shows an OpenTelemetry event as a
	// log whose "event" field is the event's name.
	Logs []Log
	// Process is the resource the span came from.
	Process Process
}

// Reference links a span to another, most often its parent.
type Reference struct {
	// Type is CHILD_OF or FOLLOWS_FROM.
	Type    string
	TraceID string
	SpanID  string
}

// KeyValue is a tag or a log field. Value is a string, bool, int64,
// float64 or []byte, after the type Jaeger gave it.
type KeyValue struct {
	Key   string
	Value any
}

// Log is a timestamped set of fields of a span.
type Log struct {
	Time   time.Time
	Fields []KeyValue
}

// Process is the service that reported a span: the OpenTelemetry
// resource's service.name and its other attributes as tags.
type Process struct {
	ServiceName string
	Tags        []KeyValue
}

// Event is an OpenTelemetry span event.
type Event struct {
	Name   string
	Time   time.Time
	Fields map[string]any
}

// Tag returns the value of the span's tag key.
func (s Span) Tag(key string) (any, bool) { return lookup(s.Tags, key) }

// Tag returns the value of the process's tag key.
func (p Process) Tag(key string) (any, bool) { return lookup(p.Tags, key) }

func lookup(kvs []KeyValue, key string) (any, bool) {
	for _, kv := range kvs {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return nil, false
}

// Parent returns the span ID of the span's parent in the same trace (its
// CHILD_OF reference), or "" for a root span.
func (s Span) Parent() string {
	for _, r := range s.References {
		if r.Type == "CHILD_OF" && r.TraceID == s.TraceID {
			return r.SpanID
		}
	}
	return ""
}

// Events returns the span's events, in time order: each log with an
// "event" field, named by it, with the log's other fields.
func (s Span) Events() []Event {
	var events []Event
	for _, l := range s.Logs {
		name, ok := lookup(l.Fields, "event")
		if !ok {
			continue
		}
		e := Event{Name: fmt.Sprint(name), Time: l.Time, Fields: map[string]any{}}
		for _, f := range l.Fields {
			if f.Key != "event" {
				e.Fields[f.Key] = f.Value
			}
		}
		events = append(events, e)
	}
	sort.SliceStable(events, func(i, j int) bool { return events[i].Time.Before(events[j].Time) })
	return events
}

// Find returns the trace's spans named operationName.
func (t *Trace) Find(operationName string) []Span {
	var spans []Span
	for _, s := range t.Spans {
		if s.OperationName == operationName {
			spans = append(spans, s)
		}
	}
	return spans
}

// Span returns the trace's span with spanID.
func (t *Trace) Span(spanID string) (Span, bool) {
	for _, s := range t.Spans {
		if s.SpanID == spanID {
			return s, true
		}
	}
	return Span{}, false
}

// Trace reads the trace traceID (hex, as OpenTelemetry prints it) through
// the query API, GET /api/traces/{traceID}. A trace Jaeger has no span of
// is ErrTraceNotFound.
func (j *Jaeger) Trace(ctx context.Context, traceID string) (*Trace, error) {
	if err := checkTraceID(traceID); err != nil {
		return nil, err
	}
	u := j.Query + "/api/traces/" + url.PathEscape(traceID)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := j.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	if len(body) > maxResponse {
		return nil, fmt.Errorf("GET %s: the answer is over %d MiB", u, maxResponse>>20)
	}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return nil, fmt.Errorf("trace %s: %w", traceID, ErrTraceNotFound)
	default:
		return nil, fmt.Errorf("GET %s: %s: %s", u, resp.Status, excerpt(body))
	}
	t, err := decodeTrace(body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	return t, nil
}

// pollInterval is how often WaitTrace asks again.
const pollInterval = 100 * time.Millisecond

// defaultWait bounds WaitTrace when ctx has no deadline.
const defaultWait = 30 * time.Second

// WaitTrace reads the trace traceID until it has at least minSpans spans,
// up to ctx's deadline (30 seconds when ctx has none): spans are exported
// asynchronously, so a trace fills some time after its spans end.
func (j *Jaeger) WaitTrace(ctx context.Context, traceID string, minSpans int) (*Trace, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultWait)
		defer cancel()
	}
	var (
		answered bool  // whether a read has been answered
		spans    int   // how many spans the last answer had
		last     error // what the last answer said, when not a trace
	)
	for {
		t, err := j.Trace(ctx, traceID)
		switch {
		case err == nil && len(t.Spans) >= minSpans:
			return t, nil
		case err == nil:
			answered, spans, last = true, len(t.Spans), nil
		case errors.Is(err, ErrTraceNotFound):
			answered, last = true, err
		case ctx.Err() != nil:
			// The deadline cut this read short: the last answer stands.
		default:
			return nil, err
		}
		select {
		case <-ctx.Done():
			prefix := fmt.Sprintf("waiting for %d spans of trace %s", minSpans, traceID)
			switch {
			case !answered:
				return nil, fmt.Errorf("%s: %w", prefix, ctx.Err())
			case last != nil:
				return nil, fmt.Errorf("%s: %w", prefix, last)
			}
			return nil, fmt.Errorf("%s: %d after %v", prefix, spans, ctx.Err())
		case <-time.After(pollInterval):
		}
	}
}

// checkTraceID accepts 1 to 32 hex digits, what Jaeger parses as a trace ID.
func checkTraceID(id string) error {
	if id == "" || len(id) > 32 {
		return fmt.Errorf("trace ID %q: want 1 to 32 hex digits", id)
	}
	for _, c := range id {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return fmt.Errorf("trace ID %q: want 1 to 32 hex digits", id)
		}
	}
	return nil
}

// excerpt is the start of an answer, for an error message.
func excerpt(body []byte) string {
	const max = 512
	if len(body) > max {
		return fmt.Sprintf("%q...", body[:max])
	}
	return fmt.Sprintf("%q", body)
}
