package transcript

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestList(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("old.jsonl", `{"seq":1,"type":"run_started","time":"2026-11-20T10:00:00Z","run_id":"old","runbook":"a","mode":"run","operator":"ana@h"}
{"seq":2,"type":"run_finished","time":"2026-11-20T10:00:03.5Z","status":"failed"}
`)
	write("new.jsonl", `{"seq":1,"type":"run_started","time":"2026-11-21T10:00:00Z","run_id":"new","runbook":"a","mode":"dry-run","operator":"bo@h"}
{"seq":2,"type":"run_finished","time":"2026-11-21T10:01:00Z","status":"succeeded"}
`)
	write("crashed.jsonl", `{"seq":1,"type":"run_started","time":"2026-11-19T10:00:00Z","run_id":"crashed","runbook":"b","mode":"run"}
{"seq":2,"type":"step_started","time":"2026-11-19T10:00:02Z","step":"x"}
{"seq":3,"type":"run_fin`)
	write("stopped.jsonl", `{"seq":1,"type":"run_started","time":"2026-11-18T10:00:00Z","run_id":"stopped","runbook":"c","mode":"run"}
{"seq":2,"type":"interrupted","time":"2026-11-18T10:00:01Z","step":"x"}
`)
	// A last line longer than the first tail read.
	write("long.jsonl", `{"seq":1,"type":"run_started","time":"2026-11-17T10:00:00Z","run_id":"long","runbook":"d","mode":"run"}
{"seq":2,"type":"run_finished","time":"2026-11-17T10:00:09Z","status":"succeeded","pad":"`+strings.Repeat("x", 100<<10)+`"}
`)
	write("garbage.jsonl", "not json\n")
	write("empty.jsonl", "")
	write("notes.txt", `{"seq":1,"type":"run_started","time":"2026-11-20T10:00:00Z","run_id":"n","runbook":"n","mode":"run"}`+"\n")

	got, err := List(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		id, status string
		dur        time.Duration
	}{
		{"new", "succeeded", time.Minute},
		{"old", "failed", 3500 * time.Millisecond},
		{"crashed", StatusUnfinished, 2 * time.Second},
		{"stopped", StatusInterrupted, time.Second},
		{"long", "succeeded", 9 * time.Second},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d runs: %+v", len(got), got)
	}
	for i, w := range want {
		if got[i].RunID != w.id || got[i].Status != w.status || got[i].Duration != w.dur {
			t.Errorf("run %d = %+v, want %s %s %v", i, got[i], w.id, w.status, w.dur)
		}
	}
	if got[0].Operator != "bo@h" || got[0].Mode != "dry-run" || got[0].Runbook != "a" {
		t.Errorf("new = %+v", got[0])
	}

	if runs, err := List(filepath.Join(dir, "missing")); err != nil || len(runs) != 0 {
		t.Errorf("missing folder: %v, %v", runs, err)
	}
}

func TestListRunning(t *testing.T) {
	dir := t.TempDir()
	w, err := Create(dir, "live")
	if err != nil {
		t.Fatal(err)
	}
	appendEvent(w, TypeRunStarted, map[string]any{"run_id": "live", "runbook": "a", "mode": "run"})
	runs, _ := List(dir)
	if len(runs) != 1 || runs[0].Status != StatusRunning || !Running(w.Path()) {
		t.Fatalf("while writing: %+v", runs)
	}
	w.Close()
	if Running(w.Path()) {
		t.Error("Running after Close")
	}
	runs, _ = List(dir)
	if len(runs) != 1 || runs[0].Status != StatusUnfinished {
		t.Fatalf("after close without run_finished: %+v", runs)
	}
}

func TestFind(t *testing.T) {
	dir := t.TempDir()
	for _, id := range []string{"20261120-aaaa", "20261120-aabb", "20261121-cccc", "abc"} {
		os.WriteFile(filepath.Join(dir, id+".jsonl"), nil, 0o600)
	}
	os.WriteFile(filepath.Join(dir, "20261122-notes.txt"), nil, 0o600)
	os.Mkdir(filepath.Join(dir, "20261123-dir.jsonl"), 0o700)
	tests := []struct {
		arg     string
		want    string
		wantErr error
	}{
		{arg: "20261121-cccc", want: "20261121-cccc"},
		{arg: "20261121", want: "20261121-cccc"},
		{arg: "20261120-aab", want: "20261120-aabb"},
		{arg: "abc", want: "abc"}, // an exact id wins over being a prefix
		{arg: "20261120", wantErr: ErrAmbiguous},
		{arg: "2026112", wantErr: ErrAmbiguous},
		{arg: "20261122", wantErr: ErrNotFound},
		{arg: "20261123", wantErr: ErrNotFound},
		{arg: "zzz", wantErr: ErrNotFound},
		{arg: "", wantErr: ErrNotFound},
		{arg: "../x", wantErr: ErrNotFound},
		{arg: ".", wantErr: ErrNotFound},
	}
	for _, tt := range tests {
		got, err := Find(dir, tt.arg)
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("Find(%q): err = %v, want %v", tt.arg, err, tt.wantErr)
			continue
		}
		if tt.wantErr == nil && got != filepath.Join(dir, tt.want+".jsonl") {
			t.Errorf("Find(%q) = %s, want %s", tt.arg, got, tt.want)
		}
	}
	_, err := Find(dir, "20261120")
	if err == nil || !strings.Contains(err.Error(), "20261120-aaaa, 20261120-aabb") {
		t.Errorf("ambiguous error does not list candidates: %v", err)
	}
	if _, err := Find(filepath.Join(dir, "missing"), "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing folder: %v", err)
	}
}
