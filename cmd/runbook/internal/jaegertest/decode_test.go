package jaegertest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// realAnswer is what Jaeger v1.75.0 answered to GET /api/traces/{traceID}
// for the spans of TestStartExportRead.
func realAnswer(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "trace.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeRealAnswer(t *testing.T) {
	tr, err := decodeTrace(realAnswer(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Spans) != 2 {
		t.Fatalf("got %d spans, want 2", len(tr.Spans))
	}
	step := tr.Find("runbook.step")
	if len(step) != 1 {
		t.Fatalf("got %d runbook.step spans, want 1", len(step))
	}
	checkChild(t, step[0])
	exec, ok := tr.Span(step[0].Parent())
	if !ok || exec.OperationName != "runbook.exec" {
		t.Errorf("the step's parent is %q (%v), want runbook.exec", exec.OperationName, ok)
	}
	if exec.Process.ServiceName != "jaegertest" {
		t.Errorf("service %q, want jaegertest", exec.Process.ServiceName)
	}
	if !exec.Start.After(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("start %v, want a time after 2020", exec.Start)
	}
}

func TestDecodeValues(t *testing.T) {
	body := `{"data": [{"traceID": "abc", "processes": {"p1": {"serviceName": "s", "tags": []}},
	  "spans": [{"traceID": "abc", "spanID": "01", "operationName": "op", "processID": "p1",
	    "startTime": 1700000000000000, "duration": 1500,
	    "references": [{"refType": "FOLLOWS_FROM", "traceID": "abc", "spanID": "02"}],
	    "tags": [
	      {"key": "s", "type": "string", "value": "x"},
	      {"key": "untyped", "value": "y"},
	      {"key": "b", "type": "bool", "value": false},
	      {"key": "i", "type": "int64", "value": 9007199254740993},
	      {"key": "i2", "type": "int64", "value": "-5"},
	      {"key": "f", "type": "float64", "value": 2.5},
	      {"key": "bin", "type": "binary", "value": "aGk="}],
	    "logs": [{"timestamp": 1700000000000100, "fields": [{"key": "message", "type": "string", "value": "m"}]}]}]}]}`
	tr, err := decodeTrace([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	s := tr.Spans[0]
	want := []KeyValue{
		{"s", "x"}, {"untyped", "y"}, {"b", false}, {"i", int64(9007199254740993)},
		{"i2", int64(-5)}, {"f", 2.5}, {"bin", []byte("hi")},
	}
	if diff := cmp.Diff(want, s.Tags); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	if s.Duration != 1500*time.Microsecond || !s.Start.Equal(time.UnixMicro(1700000000000000)) {
		t.Errorf("start %v, duration %v", s.Start, s.Duration)
	}
	// A FOLLOWS_FROM link is not a parent; a log without "event" is no event.
	if s.Parent() != "" || len(s.Events()) != 0 {
		t.Errorf("Parent() = %q, Events() = %v; want none", s.Parent(), s.Events())
	}
}

func TestDecodeErrors(t *testing.T) {
	span := func(tags string) string {
		return `{"data": [{"traceID": "a", "processes": {"p1": {"serviceName": "s"}}, "spans": [
		  {"traceID": "a", "spanID": "01", "operationName": "op", "processID": "p1", "tags": [` + tags + `]}]}]}`
	}
	tests := []struct {
		name, body, want string
	}{
		{"not JSON", `<html>`, "reading the trace"},
		{"truncated", `{"data": [{"traceID": "a", "spans": [`, "reading the trace"},
		{"API error", `{"data": null, "errors": [{"code": 500, "msg": "storage down"}]}`, "storage down (code 500)"},
		{"no trace", `{"data": []}`, "want one trace in data, got 0"},
		{"two traces", `{"data": [{}, {}]}`, "want one trace in data, got 2"},
		{"unknown process", `{"data": [{"spans": [{"spanID": "01", "operationName": "op", "processID": "p9"}]}]}`,
			`span 0 (01 "op"): process "p9" is not in the trace's processes`},
		{"int64 not a number", span(`{"key": "n", "type": "int64", "value": "many"}`), `tag "n": bad int64 value`},
		{"int64 a fraction", span(`{"key": "n", "type": "int64", "value": 1.5}`), `tag "n": bad int64 value`},
		{"bool a string", span(`{"key": "b", "type": "bool", "value": "true"}`), `tag "b": bad bool value`},
		{"bad base64", span(`{"key": "x", "type": "binary", "value": "!!"}`), `tag "x": bad binary value`},
		{"unknown type", span(`{"key": "x", "type": "map", "value": {}}`), `tag "x": unknown type "map"`},
		{"no value", span(`{"key": "x", "type": "string"}`), `tag "x": no value`},
		{"bad process tag", `{"data": [{"processes": {"p1": {"tags": [{"key": "k", "type": "bool", "value": 1}]}}}]}`,
			`process p1: tag "k": bad bool value`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeTrace([]byte(tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error with %q", err, tt.want)
			}
		})
	}
}

func TestCheckTraceID(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"0123456789abcdef0123456789ABCDEF", true},
		{"1", true},
		{"", false},
		{"0123456789abcdef0123456789abcdef0", false},
		{"../services", false},
		{"12 34", false},
	}
	for _, tt := range tests {
		if err := checkTraceID(tt.id); (err == nil) != tt.ok {
			t.Errorf("checkTraceID(%q) = %v, want ok %v", tt.id, err, tt.ok)
		}
	}
}

// FuzzDecodeTrace holds decodeTrace to errors, never a panic, on any
// answer, and to spans that each have their process.
func FuzzDecodeTrace(f *testing.F) {
	f.Add(realAnswer(f))
	f.Add([]byte(`{"data": [{"traceID": "a", "processes": {"p1": {"serviceName": "s"}},
	  "spans": [{"spanID": "01", "processID": "p1", "startTime": 18446744073709551615,
	  "duration": 18446744073709551615, "tags": [{"key": "i", "type": "int64", "value": 1}]}]}]}`))
	f.Add([]byte(`{"data": null, "errors": [{"code": 404, "msg": "trace not found"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		tr, err := decodeTrace(body)
		if err != nil {
			return
		}
		for _, s := range tr.Spans {
			if s.Duration < 0 {
				t.Errorf("span %s: negative duration %v", s.SpanID, s.Duration)
			}
			_ = s.Events()
			_ = s.Parent()
		}
	})
}
