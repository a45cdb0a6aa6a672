// Package engine runs decoded runbooks: it resolves variables, evaluates
// expressions, drives each step through its lifecycle (when, preconditions,
// confirmation, action, expectations), rehearses runs as dry-runs, takes
// locks, and records transcripts. It never prints: it reports through hooks.
package engine

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// RunSummary is what `runbook list` shows of a runbook's latest run.
type RunSummary struct {
	RunID   string
	Runbook string
	Mode    string
	Started time.Time
	// Status is the run's final status ("succeeded", "failed", …),
	// "interrupted", or "unfinished" when the transcript has no end.
	Status string
}

// TranscriptDir is where transcripts live under a state folder.
func TranscriptDir(stateDir string) string { return filepath.Join(stateDir, "transcripts") }

// LastRuns reads the first and last event of every transcript under
// stateDir and returns the latest real (not dry-run) run of each runbook.
// A missing transcript folder means no runs.
func LastRuns(stateDir string) (map[string]RunSummary, error) {
	entries, err := os.ReadDir(TranscriptDir(stateDir))
	if errors.Is(err, os.ErrNotExist) {
		return map[string]RunSummary{}, nil
	}
	if err != nil {
		return nil, err
	}
	last := map[string]RunSummary{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".jsonl") {
			continue
		}
		s, ok := summarize(filepath.Join(TranscriptDir(stateDir), e.Name()))
		if !ok || s.Mode == "dry-run" {
			continue
		}
		if prev, seen := last[s.Runbook]; !seen || s.Started.After(prev.Started) {
			last[s.Runbook] = s
		}
	}
	return last, nil
}

// summarize reads a transcript's first and last whole lines; an unreadable
// transcript is skipped (`transcript verify` is where it gets reported).
func summarize(path string) (RunSummary, bool) {
	f, err := os.Open(path)
	if err != nil {
		return RunSummary{}, false
	}
	defer f.Close()
	var first struct {
		Type    string    `json:"type"`
		Time    time.Time `json:"time"`
		RunID   string    `json:"run_id"`
		Runbook string    `json:"runbook"`
		Mode    string    `json:"mode"`
	}
	line, err := bufio.NewReaderSize(f, 64<<10).ReadBytes('\n')
	if err != nil || json.Unmarshal(line, &first) != nil || first.Type != "run_started" || first.Runbook == "" {
		return RunSummary{}, false
	}
	s := RunSummary{RunID: first.RunID, Runbook: first.Runbook, Mode: first.Mode, Started: first.Time, Status: "unfinished"}
	var end struct {
		Type   string `json:"type"`
		Status string `json:"status"`
	}
	if json.Unmarshal(lastLine(f), &end) == nil {
		switch end.Type {
		case "run_finished":
			s.Status = end.Status
		case "interrupted":
			s.Status = "interrupted"
		}
	}
	return s, true
}

// lastLine returns the last newline-terminated line of f, reading only its tail.
func lastLine(f *os.File) []byte {
	fi, err := f.Stat()
	if err != nil {
		return nil
	}
	size := fi.Size()
	const tail = 64 << 10
	off := max(0, size-tail)
	buf := make([]byte, size-off)
	if _, err := f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
		return nil
	}
	end := bytes.LastIndexByte(buf, '\n')
	if end < 0 {
		return nil
	}
	start := bytes.LastIndexByte(buf[:end], '\n') + 1
	return buf[start:end]
}
