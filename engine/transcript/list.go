package transcript

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/runbookdev/runbook/plugins/safefile"
)

// Run statuses besides the final ones run_finished records.
const (
	StatusInterrupted = "interrupted"
	// StatusUnfinished: no run_finished nor interrupted, and no writer
	// holds the file: the run crashed (or the file was cut short).
	StatusUnfinished = "unfinished"
	// StatusRunning: no end yet, and a writer holds the file open.
	StatusRunning = "running"
)

// Summary is one run as `transcript list` shows it.
type Summary struct {
	RunID    string
	Runbook  string
	Mode     string
	Operator string
	Started  time.Time
	// Status is run_finished's status, StatusInterrupted, StatusRunning or
	// StatusUnfinished.
	Status string
	// Duration runs from the first event to the last whole one.
	Duration time.Duration
	Path     string
}

// ErrNotFound is returned by Find when no transcript matches.
var ErrNotFound = errors.New("no such run")

// ErrAmbiguous is returned by Find when a prefix matches several runs.
var ErrAmbiguous = errors.New("ambiguous run id")

// List summarizes every transcript in dir, newest first, reading only
// each file's first and last lines. A missing dir means no runs; a file
// whose first line is not a run_started event is skipped (`transcript
// verify` is where it gets reported).
func List(dir string) ([]Summary, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list transcripts: %w", err)
	}
	var out []Summary
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".jsonl") {
			continue
		}
		if s, ok := summarize(filepath.Join(dir, e.Name())); ok {
			out = append(out, s)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Started.Equal(out[j].Started) {
			return out[i].Started.After(out[j].Started)
		}
		return out[i].RunID > out[j].RunID
	})
	return out, nil
}

// header is the members of a line a summary needs besides its record's.
type header struct {
	Type string    `json:"type"`
	Time time.Time `json:"time"`
}

func summarize(path string) (Summary, bool) {
	f, err := safefile.Open(path)
	if err != nil {
		return Summary{}, false
	}
	defer f.Close()
	line, err := bufio.NewReaderSize(io.LimitReader(f, 1<<20), 64<<10).ReadBytes('\n')
	if err != nil {
		return Summary{}, false
	}
	// Read leniently: a summary needs no chain, and a member of another
	// type than the engine writes only leaves its field empty.
	var first header
	if json.Unmarshal(line, &first) != nil || first.Type != TypeRunStarted {
		return Summary{}, false
	}
	var started RunStarted
	_ = json.Unmarshal(line, &started)
	if started.Runbook == "" {
		return Summary{}, false
	}
	if started.RunID == "" {
		started.RunID = strings.TrimSuffix(filepath.Base(path), ".jsonl")
	}
	s := Summary{
		RunID: started.RunID, Runbook: started.Runbook, Mode: started.Mode, Operator: started.Operator,
		Started: first.Time, Status: StatusUnfinished, Path: path,
	}
	end := lastLine(f)
	var last header
	if json.Unmarshal(end, &last) == nil {
		if !last.Time.IsZero() {
			s.Duration = max(0, last.Time.Sub(first.Time))
		}
		var fin RunFinished
		switch last.Type {
		case TypeRunFinished:
			if json.Unmarshal(end, &fin) == nil && fin.Status != "" {
				s.Status = fin.Status
			}
		case TypeInterrupted:
			s.Status = StatusInterrupted
		}
	}
	if s.Status == StatusUnfinished && held(f) {
		s.Status = StatusRunning
	}
	return s, true
}

// Running reports whether a Writer holds the transcript at path open: its
// run is in progress. Where file locks are not available it reports false.
func Running(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	return held(f)
}

func held(f *os.File) bool {
	unlock, err := lockFile(f, false)
	if err == nil {
		unlock()
	}
	return errors.Is(err, errLocked)
}

// lastLine returns the last newline-terminated line of f, reading only as
// much of its tail as that line needs.
func lastLine(f *os.File) []byte {
	fi, err := f.Stat()
	if err != nil {
		return nil
	}
	size := fi.Size()
	for tail := int64(16 << 10); ; tail *= 4 {
		off := max(0, size-tail)
		buf := make([]byte, size-off)
		if _, err := f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
			return nil
		}
		end := bytes.LastIndexByte(buf, '\n')
		if end < 0 {
			if off == 0 {
				return nil
			}
			continue
		}
		if start := bytes.LastIndexByte(buf[:end], '\n'); start >= 0 || off == 0 {
			return buf[start+1 : end]
		}
	}
}

// Find returns the transcript of the run idOrPrefix names in dir: the run
// id itself, or a prefix of exactly one run id.
func Find(dir, idOrPrefix string) (string, error) {
	if idOrPrefix == "" || strings.ContainsAny(idOrPrefix, `/\`) || strings.HasPrefix(idOrPrefix, ".") {
		return "", fmt.Errorf("%w %q", ErrNotFound, idOrPrefix)
	}
	exact := filepath.Join(dir, FileName(idOrPrefix))
	if fi, err := os.Stat(exact); err == nil && fi.Mode().IsRegular() {
		return exact, nil
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("%w %q: no transcripts in %s", ErrNotFound, idOrPrefix, dir)
	}
	if err != nil {
		return "", fmt.Errorf("find run %q: %w", idOrPrefix, err)
	}
	var ids []string
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".jsonl")
		if ok && !e.IsDir() && strings.HasPrefix(id, idOrPrefix) {
			ids = append(ids, id)
		}
	}
	switch len(ids) {
	case 0:
		return "", fmt.Errorf("%w %q in %s", ErrNotFound, idOrPrefix, dir)
	case 1:
		return filepath.Join(dir, FileName(ids[0])), nil
	}
	sort.Strings(ids)
	shown := ids
	if len(shown) > 10 {
		shown = append(shown[:10:10], fmt.Sprintf("… %d more", len(ids)-10))
	}
	return "", fmt.Errorf("%w %q: it starts %d runs: %s", ErrAmbiguous, idOrPrefix, len(ids), strings.Join(shown, ", "))
}
