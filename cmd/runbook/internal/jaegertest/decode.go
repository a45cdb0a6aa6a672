package jaegertest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// The query API's JSON: {"data": [trace], "errors": [...]}, a trace being
// {"traceID", "spans": [...], "processes": {"p1": {...}}}.
type (
	apiResponse struct {
		Data   []apiTrace `json:"data"`
		Errors []struct {
			Code int    `json:"code"`
			Msg  string `json:"msg"`
		} `json:"errors"`
	}
	apiTrace struct {
		TraceID   string                `json:"traceID"`
		Spans     []apiSpan             `json:"spans"`
		Processes map[string]apiProcess `json:"processes"`
	}
	apiSpan struct {
		TraceID       string         `json:"traceID"`
		SpanID        string         `json:"spanID"`
		OperationName string         `json:"operationName"`
		References    []apiReference `json:"references"`
		StartTime     uint64         `json:"startTime"` // µs since the Unix epoch
		Duration      uint64         `json:"duration"`  // µs
		Tags          []apiKeyValue  `json:"tags"`
		Logs          []apiLog       `json:"logs"`
		ProcessID     string         `json:"processID"`
	}
	apiReference struct {
		RefType string `json:"refType"`
		TraceID string `json:"traceID"`
		SpanID  string `json:"spanID"`
	}
	apiProcess struct {
		ServiceName string        `json:"serviceName"`
		Tags        []apiKeyValue `json:"tags"`
	}
	apiLog struct {
		Timestamp uint64        `json:"timestamp"`
		Fields    []apiKeyValue `json:"fields"`
	}
	apiKeyValue struct {
		Key   string          `json:"key"`
		Type  string          `json:"type"`
		Value json.RawMessage `json:"value"`
	}
)

// decodeTrace reads an answer of GET /api/traces/{traceID}.
func decodeTrace(body []byte) (*Trace, error) {
	var resp apiResponse
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&resp); err != nil {
		return nil, fmt.Errorf("reading the trace: %w", err)
	}
	if len(resp.Errors) > 0 {
		return nil, fmt.Errorf("jaeger: %s (code %d)", resp.Errors[0].Msg, resp.Errors[0].Code)
	}
	if len(resp.Data) != 1 {
		return nil, fmt.Errorf("reading the trace: want one trace in data, got %d", len(resp.Data))
	}
	at := resp.Data[0]
	t := &Trace{TraceID: at.TraceID, Spans: make([]Span, 0, len(at.Spans))}
	processes := make(map[string]Process, len(at.Processes))
	for id, p := range at.Processes {
		tags, err := convertKeyValues(p.Tags)
		if err != nil {
			return nil, fmt.Errorf("process %s: %w", id, err)
		}
		processes[id] = Process{ServiceName: p.ServiceName, Tags: tags}
	}
	for i, as := range at.Spans {
		s, err := convertSpan(as, processes)
		if err != nil {
			return nil, fmt.Errorf("span %d (%s %q): %w", i, as.SpanID, as.OperationName, err)
		}
		t.Spans = append(t.Spans, s)
	}
	return t, nil
}

// convertSpan converts one span of the answer.
func convertSpan(as apiSpan, processes map[string]Process) (Span, error) {
	p, ok := processes[as.ProcessID]
	if !ok {
		return Span{}, fmt.Errorf("process %q is not in the trace's processes", as.ProcessID)
	}
	s := Span{
		TraceID:       as.TraceID,
		SpanID:        as.SpanID,
		OperationName: as.OperationName,
		Start:         micros(as.StartTime),
		Duration:      time.Duration(min(as.Duration, math.MaxInt64/1000)) * time.Microsecond,
		Process:       p,
	}
	for _, r := range as.References {
		s.References = append(s.References, Reference{Type: r.RefType, TraceID: r.TraceID, SpanID: r.SpanID})
	}
	var err error
	if s.Tags, err = convertKeyValues(as.Tags); err != nil {
		return Span{}, err
	}
	for i, l := range as.Logs {
		fields, err := convertKeyValues(l.Fields)
		if err != nil {
			return Span{}, fmt.Errorf("log %d: %w", i, err)
		}
		s.Logs = append(s.Logs, Log{Time: micros(l.Timestamp), Fields: fields})
	}
	return s, nil
}

// micros is a time given in microseconds since the Unix epoch, in UTC.
func micros(us uint64) time.Time {
	return time.UnixMicro(int64(min(us, math.MaxInt64))).UTC()
}

// convertKeyValues converts tags or fields, each value to its type's Go
// value.
func convertKeyValues(kvs []apiKeyValue) ([]KeyValue, error) {
	out := make([]KeyValue, 0, len(kvs))
	for _, kv := range kvs {
		v, err := convertValue(kv.Type, kv.Value)
		if err != nil {
			return nil, fmt.Errorf("tag %q: %w", kv.Key, err)
		}
		out = append(out, KeyValue{Key: kv.Key, Value: v})
	}
	return out, nil
}

// convertValue reads a value of Jaeger's type typ: string (also when no
// type is given), bool, int64, float64 or binary (base64).
func convertValue(typ string, raw json.RawMessage) (any, error) {
	if len(raw) == 0 {
		return nil, errors.New("no value")
	}
	switch typ {
	case "", "string":
		var s string
		err := json.Unmarshal(raw, &s)
		return s, wrapType(typ, err)
	case "bool":
		var b bool
		err := json.Unmarshal(raw, &b)
		return b, wrapType(typ, err)
	case "int64":
		// A number, or a string where the number is past what a float
		// holds exactly.
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return nil, wrapType(typ, err)
		}
		i, err := strconv.ParseInt(n.String(), 10, 64)
		return i, wrapType(typ, err)
	case "float64":
		var f float64
		err := json.Unmarshal(raw, &f)
		return f, wrapType(typ, err)
	case "binary":
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, wrapType(typ, err)
		}
		b, err := base64.StdEncoding.DecodeString(s)
		return b, wrapType(typ, err)
	}
	return nil, fmt.Errorf("unknown type %q", typ)
}

func wrapType(typ string, err error) error {
	if err != nil {
		return fmt.Errorf("bad %s value: %w", typ, err)
	}
	return nil
}
