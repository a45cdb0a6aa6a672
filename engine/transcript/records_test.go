package transcript

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// everyRecord is one record of every type and shape, as
// testdata/every-record.jsonl holds them: that file was written by the
// writer the typed records replaced, so that the records must write it
// byte for byte and read it back.
func everyRecord() []Record {
	ref := StepRef{Index: 2, Name: "a<b", Owner: "o&"}
	return []Record{
		RunStartedOf[any]{RunID: "r", Runbook: "rb", Source: Source{"p", "s"}, Mode: "run", Operator: "op", Version: "1",
			Plugins: map[string]PluginInfo{"x": {Version: "1", SHA256: "h"}, "y": {Version: "2", SHA256: "h", Config: "c"}},
			Vars:    map[string]any{"a": 1.5, "b": "<x>", "c": nil}, Plan: &PlanRef{"s", "d"}, Lock: "l", Resumes: "q", Steps: []StepRef{ref}},
		RunStartedOf[any]{RunID: "r", Vars: map[string]any{}},
		StepStarted{StepRef: ref, Description: "d", Action: "a.b", Manual: "m"},
		StepStarted{StepRef: ref},
		PreconditionChecked{StepRef: ref, Condition: "x < 1", Result: "passed"},
		PreconditionChecked{StepRef: ref, Condition: "x < 1", Result: "failed", Message: "m"},
		ConfirmationAnswered{StepRef: ref, Question: "q", Answer: "yes"},
		ConfirmationAnswered{StepRef: ref, Question: "q", Answer: "yes", By: "--yes"},
		Planned{StepRef: ref, Action: "a", Changes: []string{"c"}, Output: map[string]any{"k": 1}},
		Planned{StepRef: ref, Action: "a"},
		Planned{StepRef: ref, Action: "a", Changes: []string{}, Error: "boom\nline"},
		ActionFinished{StepRef: ref, Action: "a", Attempt: 1, Duration: Duration(1234567 * time.Microsecond), Output: map[string]any{"k": "<"}, ReadOnly: true},
		ActionFinished{StepRef: ref, Action: "a", Attempt: 2, Duration: Duration(300 * time.Microsecond), Error: "e", Predicted: true},
		ActionFinished{StepRef: ref, Action: "a"},
		ExpectationChecked{StepRef: ref, Condition: "c", Result: "waiting", Check: 3, NextIn: time.Second, Checks: 4},
		ExpectationChecked{StepRef: ref, Condition: "c", Result: "failed", Message: "m", Check: 1},
		StepFinished{StepRef: ref, Status: "failed", Reason: "r", Duration: Duration(time.Minute), Output: map[string]any{}},
		StepFinished{StepRef: ref, Status: "succeeded"},
		RunFinished{Status: "failed", ExitCode: 1, Reason: "r", Duration: Duration(time.Hour)},
		RunFinished{Status: "succeeded", Plan: &PlanSummary{Changes: []PlannedChange{{"s", "a", "c"}}, PendingChecks: 2}},
		RunFinished{Status: "succeeded", Plan: &PlanSummary{}},
		Interrupted{Step: "s", Signal: "interrupt", Duration: Duration(time.Second)},
		Interrupted{},
	}
}

func TestRecordsWriteTheEarlierBytes(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("testdata", "every-record.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := Create(t.TempDir(), "new", WithClock(func() time.Time { return time.Unix(0, 0) }))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range everyRecord() {
		if _, err := w.Record(r); err != nil {
			t.Fatalf("%s: %v", r.Type(), err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(w.Path())
	if err != nil {
		t.Fatal(err)
	}
	gotLines, wantLines := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
	if len(gotLines) != len(wantLines) {
		t.Fatalf("%d lines, want %d", len(gotLines), len(wantLines))
	}
	for i := range wantLines {
		if !bytes.Equal(gotLines[i], wantLines[i]) {
			t.Errorf("line %d:\n got %s\nwant %s", i+1, gotLines[i], wantLines[i])
		}
	}
}

func TestRecordsReadTheEarlierTranscript(t *testing.T) {
	path := filepath.Join("testdata", "every-record.jsonl")
	r, err := Verify(path)
	if err != nil || !r.Intact() || !r.Finished {
		t.Fatalf("verify: %+v, %v", r, err)
	}
	tr, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	records := everyRecord()
	for i, e := range tr.Events {
		rec, ok, err := e.Record()
		if !ok || err != nil {
			t.Fatalf("line %d: %v, %v", e.Line, ok, err)
		}
		if rec.Type() != records[i].Type() {
			t.Errorf("line %d: decoded a %s", e.Line, rec.Type())
		}
		// Written again, the decoded record gives the line's members.
		got, err := members(rec)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := json.Marshal(got)
		b, _ := json.Marshal(e.Fields)
		if !bytes.Equal(a, b) {
			t.Errorf("line %d round trip:\n got %s\nwant %s", e.Line, a, b)
		}
	}
	rs, err := tr.RunStarted()
	if err != nil || rs.Lock != "l" || rs.Plan.DryRun != "d" || string(rs.Vars["a"]) != "1.5" {
		t.Errorf("run_started = %+v, %v", rs, err)
	}
}

func TestRecordRejectsABadMember(t *testing.T) {
	for _, line := range []string{
		`{"seq":1,"time":"2026-01-01T00:00:00Z","type":"action_result","prev":"","hash":"","duration":12}`,
		`{"seq":1,"time":"2026-01-01T00:00:00Z","type":"step_finished","prev":"","hash":"","duration":"soon"}`,
		`{"seq":1,"time":"2026-01-01T00:00:00Z","type":"step_started","prev":"","hash":"","index":"one"}`,
	} {
		ev, reason := parseEvent([]byte(line), 1)
		if reason != "" {
			t.Fatal(reason)
		}
		if _, ok, err := ev.Record(); !ok || err == nil {
			t.Errorf("%s: decoded without an error", line)
		}
	}
	ev, _ := parseEvent([]byte(`{"seq":1,"time":"2026-01-01T00:00:00Z","type":"note","prev":"","hash":""}`), 1)
	if _, ok, _ := ev.Record(); ok {
		t.Error("a type no writer writes decoded as a record")
	}
}
