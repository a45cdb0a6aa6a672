package main

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/runbookdev/runbook/cmd/runbook/internal/iostreams"
	"github.com/runbookdev/runbook/engine/exitcode"
	"github.com/runbookdev/runbook/engine/transcript"
)

// mkTranscript writes a transcript of a rollback-prompt-like run through the
// real Writer, each record with the members the engine writes, with a clock
// that starts at start and ticks a second per event. kind chooses how the
// run goes: succeeded, failed, dry-run, interrupted or unfinished.
func mkTranscript(dir, runID, runbook, kind string, start time.Time) (string, error) {
	now := start.Add(-time.Second)
	w, err := transcript.Create(dir, runID, transcript.WithClock(func() time.Time { now = now.Add(time.Second); return now }))
	if err != nil {
		return "", err
	}
	defer w.Close()
	mode := "run"
	if kind == "dry-run" {
		mode = "dry-run"
	}
	type ev struct {
		typ    string
		fields map[string]any
	}
	step := func(idx int, name string, kv ...any) map[string]any {
		m := map[string]any{"step": name, "index": idx, "owner": "ml-platform"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	events := []ev{
		{transcript.TypeRunStarted, map[string]any{
			"run_id": runID, "runbook": runbook, "mode": mode, "operator": "ana@ops-1", "version": "1.2.3",
			"source":  map[string]any{"path": "runbooks/rollback.hcl", "sha256": strings.Repeat("5e", 32)},
			"plugins": map[string]any{"prompt": map[string]any{"version": "1.2.3", "sha256": strings.Repeat("a1", 32)}},
			"vars":    map[string]any{"prompt": "support", "to_version": 0, "token": "(sensitive)"},
			"lock":    "prompt/support",
		}},
		{transcript.TypeStepStarted, step(1, "current", "action", "prompt.status")},
		{transcript.TypeActionResult, step(1, "current", "action", "prompt.status", "attempt", 1, "read_only", true, "duration", "120ms",
			"output", map[string]any{"name": "support", "label": "production", "version": 7})},
		{transcript.TypeStepFinished, step(1, "current", "status", "succeeded", "duration", "130ms")},
		{transcript.TypeStepStarted, step(2, "rollback", "action", "prompt.rollback")},
	}
	rollback := []ev{
		{transcript.TypePrecondition, step(2, "rollback", "condition", "step.current.output.version > 1", "status", "passed", "passed", true)},
		{transcript.TypeConfirmation, step(2, "rollback", "question", "Roll support back from v7?", "answer", "yes", "by", "ana@ops-1")},
	}
	switch kind {
	case "succeeded":
		events = append(events, rollback...)
		events = append(events,
			ev{transcript.TypeActionResult, step(2, "rollback", "action", "prompt.rollback", "attempt", 1, "read_only", false, "duration", "1.5s",
				"output", map[string]any{"name": "support", "label": "production", "version": 6, "previous_version": 7, "token": "(sensitive)"})},
			ev{transcript.TypeExpectation, step(2, "rollback", "condition", "output.version < step.current.output.version", "status", "passed", "check", 1)},
			ev{transcript.TypeStepFinished, step(2, "rollback", "status", "succeeded", "duration", "1.6s")},
			ev{transcript.TypeRunFinished, map[string]any{"status": "succeeded", "exit_code": 0, "duration": "9s"}},
		)
	case "failed":
		events = append(events, rollback...)
		events = append(events,
			ev{transcript.TypeActionResult, step(2, "rollback", "action", "prompt.rollback", "attempt", 1, "read_only", false, "duration", "2s", "error", "registry unavailable")},
			ev{transcript.TypeActionResult, step(2, "rollback", "action", "prompt.rollback", "attempt", 2, "read_only", false, "duration", "2s",
				"output", map[string]any{"version": 7})},
			ev{transcript.TypeExpectation, step(2, "rollback", "condition", "output.version < step.current.output.version", "status", "failed",
				"error_message", "The registry still serves the old version.", "check", 1)},
			ev{transcript.TypeStepFinished, step(2, "rollback", "status", "failed", "duration", "4.1s",
				"error", "expectation failed: The registry still serves the old version.")},
			ev{transcript.TypeRunFinished, map[string]any{"status": "failed", "exit_code": 1, "duration": "11s",
				"error": "step rollback failed"}},
		)
	case "dry-run":
		events = append(events,
			ev{transcript.TypePrecondition, step(2, "rollback", "condition", "step.current.output.version > 1", "status", "passed", "passed", true)},
			ev{transcript.TypeConfirmation, step(2, "rollback", "question", "Roll support back from v7?", "answer", "not asked", "by", "")},
			ev{transcript.TypePlan, step(2, "rollback", "action", "prompt.rollback", "changes", []string{"production: v7 → v6"},
				"output", map[string]any{"version": 6, "previous_version": 7})},
			ev{transcript.TypeExpectation, step(2, "rollback", "condition", "output.version < step.current.output.version", "status", "pending", "check", 1)},
			ev{transcript.TypeStepFinished, step(2, "rollback", "status", "planned", "duration", "40ms")},
			ev{transcript.TypeRunFinished, map[string]any{"status": "succeeded", "exit_code": 0, "duration": "3s"}},
		)
	case "interrupted":
		events = append(events, rollback...)
		events = append(events, ev{transcript.TypeInterrupted, map[string]any{"step": "rollback", "signal": "interrupt", "duration": "8s"}})
	case "unfinished":
		events = append(events, rollback...)
	default:
		return "", strconv.ErrSyntax
	}
	for _, e := range events {
		if _, err := w.Write(e.typ, e.fields); err != nil {
			return "", err
		}
	}
	return w.Path(), w.Close()
}

// cmdMkTranscript implements
//
//	mktranscript [-kind KIND] [-start RFC3339] DIR RUNID RUNBOOK
//
// writing DIR/RUNID.jsonl through the real transcript Writer.
func cmdMkTranscript(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! mktranscript")
	}
	kind, start := "succeeded", time.Date(2025, 11, 26, 10, 0, 0, 0, time.UTC)
	for len(args) >= 2 && strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "-kind":
			kind = args[1]
		case "-start":
			t, err := time.Parse(time.RFC3339, args[1])
			ts.Check(err)
			start = t
		default:
			ts.Fatalf("mktranscript: unknown flag %s", args[0])
		}
		args = args[2:]
	}
	if len(args) != 3 {
		ts.Fatalf("usage: mktranscript [-kind KIND] [-start TIME] DIR RUNID RUNBOOK")
	}
	_, err := mkTranscript(ts.MkAbs(args[0]), args[1], args[2], kind, start)
	ts.Check(err)
}

// cmdTamper implements
//
//	tamper FILE replace LINE OLD NEW   replace OLD by NEW in line LINE
//	tamper FILE delete LINE            delete line LINE
//	tamper FILE swap LINE LINE         swap two lines
//	tamper FILE tear                   append half a line, as a crash would
//
// Lines count from 1, like the verifier's.
func cmdTamper(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! tamper")
	}
	if len(args) < 2 {
		ts.Fatalf("usage: tamper FILE replace|delete|swap|tear ARGS...")
	}
	path := ts.MkAbs(args[0])
	data, err := os.ReadFile(path)
	ts.Check(err)
	lines := bytes.SplitAfter(data, []byte("\n"))
	line := func(s string) int {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > len(lines) {
			ts.Fatalf("tamper: bad line %q", s)
		}
		return n - 1
	}
	switch op := args[1]; {
	case op == "replace" && len(args) == 5:
		i := line(args[2])
		if !bytes.Contains(lines[i], []byte(args[3])) {
			ts.Fatalf("tamper: line %s has no %q", args[2], args[3])
		}
		lines[i] = bytes.Replace(lines[i], []byte(args[3]), []byte(args[4]), 1)
	case op == "delete" && len(args) == 3:
		i := line(args[2])
		lines = append(lines[:i], lines[i+1:]...)
	case op == "swap" && len(args) == 4:
		i, j := line(args[2]), line(args[3])
		lines[i], lines[j] = lines[j], lines[i]
	case op == "tear" && len(args) == 2:
		lines = append(lines, []byte(`{"seq":99,"time":"2025-11-26T10:00:`))
	default:
		ts.Fatalf("tamper: bad arguments %q", args[1:])
	}
	ts.Check(os.WriteFile(path, bytes.Join(lines, nil), 0o600))
}

func TestTranscriptVerifyExitCodes(t *testing.T) {
	tests := []struct {
		name     string
		tamper   func([]byte) []byte
		args     []string
		wantCode int
		wantErr  string
		wantOut  string
	}{
		{name: "intact", wantOut: "intact: 11 events"},
		{name: "by prefix", args: []string{"verify", "run-"}, wantOut: "intact"},
		{name: "edited", tamper: func(b []byte) []byte { return bytes.Replace(b, []byte(`"version":6`), []byte(`"version":5`), 1) },
			wantCode: exitcode.Failed, wantErr: "line 8 (seq 8): hash mismatch"},
		{name: "torn", tamper: func(b []byte) []byte { return append(b, `{"seq":12,`...) },
			wantCode: exitcode.Failed, wantErr: "line 12: torn last line (a crash mid-write?); run with --repair to truncate it"},
		{name: "torn, repaired", tamper: func(b []byte) []byte { return append(b, `{"seq":12,`...) },
			args: []string{"verify", "--repair", "run-1"}, wantOut: "repaired: removed the torn last line 12 (10 bytes)\nintact: 11 events"},
		{name: "unknown id", args: []string{"verify", "nope"}, wantCode: exitcode.BadInput, wantErr: `no such run "nope"`},
		{name: "no id", args: []string{"verify"}, wantCode: exitcode.BadInput, wantErr: "Usage: runbook transcript verify ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state := t.TempDir()
			path, err := mkTranscript(transcript.Dir(state), "run-1", "rollback-prompt", "succeeded", time.Date(2025, 11, 26, 10, 0, 0, 0, time.UTC))
			if err != nil {
				t.Fatal(err)
			}
			if tt.tamper != nil {
				data, _ := os.ReadFile(path)
				if err := os.WriteFile(path, tt.tamper(data), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			args := tt.args
			if args == nil {
				args = []string{"verify", "run-1"}
			}
			streams, _, out, errOut := iostreams.Test()
			code := Main(append([]string{"transcript", "--state-dir", state}, args...), streams)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, out, errOut)
			}
			if !strings.Contains(errOut.String(), tt.wantErr) {
				t.Errorf("stderr %q does not contain %q", errOut, tt.wantErr)
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("stdout %q does not contain %q", out, tt.wantOut)
			}
		})
	}
}

func TestTranscriptShowRendersEveryKind(t *testing.T) {
	state := t.TempDir()
	for _, kind := range []string{"succeeded", "failed", "dry-run", "interrupted", "unfinished"} {
		if _, err := mkTranscript(transcript.Dir(state), kind, "rollback-prompt", kind, time.Date(2025, 11, 26, 10, 0, 0, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
		streams, _, out, errOut := iostreams.Test()
		if code := Main([]string{"transcript", "show", kind, "--state-dir", state}, streams); code != 0 {
			t.Fatalf("%s: exit %d: %s", kind, code, errOut)
		}
		if !strings.Contains(out.String(), "token = (sensitive)") || strings.Contains(out.String(), `"(sensitive)"`) {
			t.Errorf("%s: the sensitive marker is not shown bare:\n%s", kind, out)
		}
	}
}
