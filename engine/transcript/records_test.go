package transcript

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type (
	RS  = RunStartedOf[any]
	Src = Source
	PI  = PluginInfo
	rec = Record
)

// D is a recorded duration.
func D(d time.Duration) Duration { return Duration(d) }

// everyRecord is one record of every type and shape, as
// testdata/every-record.jsonl holds them: that file was written by the
// writer the typed records replaced (the engine's hook over untyped maps),
// so that the records must write it byte for byte and read it back.
func everyRecord() []Record {
	ref := StepRef{Index: 2, Name: "set <key> & go", Owner: "ml-platform"}
	hex := func(s string) string { return strings.Repeat(s, 32) }
	return []rec{
		RS{RunID: "20261126T140000Z-a1b2c3", Runbook: "rollback-prompt", Source: Src{"runbooks/rollback.hcl", hex("5e")}, Mode: "run", Operator: "ana@ops-1", Version: "1.2.3",
			Plugins: map[string]PI{"kv": {Version: "1.0.0", SHA256: hex("a1")}, "prompt": {Version: "0.3.0", SHA256: hex("b2"), Config: hex("c3")}},
			Vars:    map[string]any{"ratio": 1.5, "name": "<support>", "count": 7, "token": "(sensitive)", "tags": []any{"a", "b"}}, Plan: &PlanRef{hex("d4"), "20261126T130000Z-ffffff"}, Lock: "prompt/support", Resumes: "20261126T120000Z-eeeeee", Steps: []StepRef{ref}},
		RS{RunID: "20261126T140000Z-000000", Runbook: "announce", Source: Src{"runbooks/announce.hcl", ""}, Mode: "dry-run", Operator: "ci", Version: "devel", Plugins: map[string]PI{}, Vars: map[string]any{}},
		StepStarted{StepRef: ref, Description: "shown live, not recorded", Action: "kv.set", Manual: "Tell #incidents."},
		StepStarted{StepRef: ref},
		PreconditionChecked{StepRef: ref, Condition: "step.read.output.version < 10 && true", Result: "passed"},
		PreconditionChecked{StepRef: ref, Condition: "var.ratio > 1", Result: "failed", Message: "The ratio is too low."},
		PreconditionChecked{StepRef: ref, Condition: "step.set.output.ok", Result: "pending"},
		ConfirmationAnswered{StepRef: ref, Question: "Set key from v7?", Answer: "yes", By: "--yes"},
		ConfirmationAnswered{StepRef: ref, Question: "Set key from v7?", Answer: "no", By: "ana@ops-1"},
		ConfirmationAnswered{StepRef: ref, Question: "Set key from v7?", Answer: "not asked"},
		ConfirmationAnswered{StepRef: ref, Question: "Set key from v7?", Answer: "refused"},
		Planned{StepRef: ref, Action: "kv.set", Changes: []string{"key: v7 → v8"}, Output: map[string]any{"version": 8, "value": "(known after run)"}},
		Planned{StepRef: ref, Action: "kv.set"},
		Planned{StepRef: ref, Action: "kv.set", Changes: []string{}, Output: map[string]any{}},
		Planned{StepRef: ref, Action: "kv.set", Error: "plugin \"kv\" exited (exit status 2)\npanic: boom"},
		ActionFinished{StepRef: ref, Action: "kv.set", Attempt: 1, Duration: D(1234567 * time.Microsecond), Output: map[string]any{"value": "<b>", "version": 8}},
		ActionFinished{StepRef: ref, Action: "kv.get", Attempt: 2, Duration: D(300 * time.Microsecond), Error: "connection refused", ReadOnly: true},
		ActionFinished{StepRef: ref, Action: "kv.get", Attempt: 1, Duration: D(2 * time.Millisecond), Output: map[string]any{"version": 8}, ReadOnly: true, Predicted: true},
		ActionFinished{StepRef: ref, Action: "kv.block", Attempt: 1, Duration: D(0)},
		ExpectationChecked{StepRef: ref, Condition: "output.version > 7", Result: "waiting", Check: 3, NextIn: time.Second, Checks: 4},
		ExpectationChecked{StepRef: ref, Condition: "output.version > 7", Result: "failed", Message: "Still v7.", Check: 1},
		ExpectationChecked{StepRef: ref, Condition: "output.version > 7", Result: "passed", Check: 4},
		ExpectationChecked{StepRef: ref, Condition: "output.version > 7", Result: "pending", Check: 1},
		StepFinished{StepRef: ref, Status: "failed", Reason: "expectation failed: Still v7.", Duration: D(2*time.Minute + 3500*time.Millisecond), Output: map[string]any{}},
		StepFinished{StepRef: ref, Status: "succeeded", Duration: D(130 * time.Millisecond), Output: map[string]any{"version": 8}},
		StepFinished{StepRef: ref, Status: "skipped"},
		RunFinished{Status: "failed", ExitCode: 1, Reason: "step set failed", Duration: D(time.Hour)},
		RunFinished{Status: "succeeded", Duration: D(3 * time.Second), Plan: &PlanSummary{Changes: []PlannedChange{{"set", "kv.set", "key: v7 → v8"}}, PendingChecks: 2}},
		RunFinished{Status: "succeeded", Plan: &PlanSummary{Changes: []PlannedChange{}}},
		Interrupted{Step: "set", Signal: "interrupt", Duration: D(8 * time.Second)},
		Interrupted{Duration: D(time.Millisecond)},
	}
}

// everyRecordClock is the clock testdata/every-record.jsonl was written with.
func everyRecordClock() func() time.Time {
	now := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	return func() time.Time { now = now.Add(1500 * time.Microsecond); return now }
}

func TestRecordsWriteTheEarlierBytes(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("testdata", "every-record.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := Create(t.TempDir(), "new", WithClock(everyRecordClock()))
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
	if err != nil || rs.Lock != "prompt/support" || rs.Plan.DryRun != "20261126T130000Z-ffffff" || string(rs.Vars["ratio"]) != "1.5" {
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
