package transcript

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sampleBytes is a valid five-event transcript.
func sampleBytes(t testing.TB) []byte {
	t.Helper()
	fs := newMemFS()
	w, err := Create("mem", "r1", WithFS(fs), WithClock(fixedClock()))
	if err != nil {
		t.Fatal(err)
	}
	sampleRun(t, w)
	w.Close()
	return bytes.Clone(fs.bytes(w.Path()))
}

func splitL(data []byte) [][]byte {
	return bytes.SplitAfter(data, []byte("\n"))[:bytes.Count(data, []byte("\n"))]
}

func joinL(lines [][]byte) []byte { return bytes.Join(lines, nil) }

// rehash recomputes a line's hash as a forger would.
func rehash(line []byte) []byte {
	line = bytes.TrimSuffix(line, []byte("\n"))
	m := hashSuffix.FindIndex(line)
	pre := append(bytes.Clone(line[:m[0]]), '}')
	sum := sha256.Sum256(pre)
	return append(pre[:len(pre)-1], []byte(`,"hash":"`+hex.EncodeToString(sum[:])+`"}`+"\n")...)
}

func TestVerify(t *testing.T) {
	good := sampleBytes(t)
	edit := func(f func(lines [][]byte) [][]byte) []byte {
		return joinL(f(splitL(bytes.Clone(good))))
	}
	tests := []struct {
		name       string
		data       []byte
		wantEvents int
		wantLine   int
		wantKind   string // "" for no problem
		wantTorn   int    // line number of the torn line, 0 for none
	}{
		{name: "intact", data: good, wantEvents: 5},
		{name: "field edited", data: edit(func(l [][]byte) [][]byte {
			l[2] = bytes.Replace(l[2], []byte(`"version":7`), []byte(`"version":6`), 1)
			return l
		}), wantEvents: 2, wantLine: 3, wantKind: ProblemHashMismatch},
		{name: "field edited and rehashed", data: edit(func(l [][]byte) [][]byte {
			l[2] = rehash(bytes.Replace(l[2], []byte(`"version":7`), []byte(`"version":6`), 1))
			return l
		}), wantEvents: 3, wantLine: 4, wantKind: ProblemPrevMismatch},
		{name: "line deleted", data: edit(func(l [][]byte) [][]byte {
			return append(l[:2], l[3:]...)
		}), wantEvents: 2, wantLine: 3, wantKind: ProblemSeqGap},
		{name: "first line deleted", data: edit(func(l [][]byte) [][]byte { return l[1:] }),
			wantLine: 1, wantKind: ProblemSeqGap},
		{name: "lines swapped", data: edit(func(l [][]byte) [][]byte {
			l[1], l[2] = l[2], l[1]
			return l
		}), wantEvents: 1, wantLine: 2, wantKind: ProblemSeqGap},
		{name: "line duplicated", data: edit(func(l [][]byte) [][]byte {
			return append(l[:3], l[2:]...)
		}), wantEvents: 3, wantLine: 4, wantKind: ProblemSeqOrder},
		{name: "torn last line", data: append(bytes.Clone(good), `{"seq":6,"time":"2026-11-2`...),
			wantEvents: 5, wantTorn: 6},
		{name: "torn line of zeros", data: append(bytes.Clone(good), make([]byte, 300)...),
			wantEvents: 5, wantTorn: 6},
		{name: "unparseable last line with newline", data: append(bytes.Clone(good), "{\"seq\":6,\x00\x00\n"...),
			wantEvents: 5, wantTorn: 6},
		{name: "whole last event without its newline", data: bytes.TrimSuffix(good, []byte("\n")),
			wantEvents: 4, wantTorn: 5},
		{name: "torn last line after tampering", data: append(edit(func(l [][]byte) [][]byte {
			l[1] = bytes.Replace(l[1], []byte(`"owner":"ml"`), []byte(`"owner":"me"`), 1)
			return l
		}), `{"seq":6`...), wantEvents: 1, wantLine: 2, wantKind: ProblemHashMismatch, wantTorn: 6},
		{name: "empty file", data: nil, wantKind: ProblemEmpty},
		{name: "not JSON", data: edit(func(l [][]byte) [][]byte {
			l[1] = []byte("hello\n")
			return l
		}), wantEvents: 1, wantLine: 2, wantKind: ProblemNotJSON},
		{name: "JSON but not an object", data: edit(func(l [][]byte) [][]byte {
			l[1] = []byte("[1,2]\n")
			return l
		}), wantEvents: 1, wantLine: 2, wantKind: ProblemNotJSON},
		{name: "hash not last", data: edit(func(l [][]byte) [][]byte {
			l[1] = append(bytes.TrimSuffix(l[1], []byte("}\n")), `,"x":1}`+"\n"...)
			return l
		}), wantEvents: 1, wantLine: 2, wantKind: ProblemMalformed},
		{name: "no seq", data: []byte(`{"time":"2026-11-20T10:00:00Z","type":"x","prev":"","hash":"` + strings.Repeat("0", 64) + `"}` + "\n" + "{}\n"),
			wantLine: 1, wantKind: ProblemMalformed},
		{name: "CRLF line endings", data: bytes.ReplaceAll(good, []byte("\n"), []byte("\r\n")),
			wantLine: 1, wantKind: ProblemMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := verifyBytes(tt.data)
			if r.Events != tt.wantEvents {
				t.Errorf("events = %d, want %d", r.Events, tt.wantEvents)
			}
			switch {
			case tt.wantKind == "" && r.Problem != nil:
				t.Errorf("problem %v, want none", r.Problem)
			case tt.wantKind != "" && r.Problem == nil:
				t.Errorf("no problem, want %s at line %d", tt.wantKind, tt.wantLine)
			case tt.wantKind != "" && (r.Problem.Kind != tt.wantKind || r.Problem.Line != tt.wantLine):
				t.Errorf("problem %v, want %s at line %d", r.Problem, tt.wantKind, tt.wantLine)
			}
			switch {
			case tt.wantTorn == 0 && r.Torn != nil:
				t.Errorf("torn %+v, want none", r.Torn)
			case tt.wantTorn != 0 && (r.Torn == nil || r.Torn.Line != tt.wantTorn):
				t.Errorf("torn %+v, want line %d", r.Torn, tt.wantTorn)
			}
			if r.Intact() != (tt.wantKind == "" && tt.wantTorn == 0) {
				t.Errorf("Intact() = %v", r.Intact())
			}
		})
	}
}

func TestProblemNamesRecord(t *testing.T) {
	p := &Problem{Line: 3, Seq: 3, Kind: ProblemHashMismatch, Detail: "the record was changed after it was written"}
	if got, want := p.Error(), "line 3 (seq 3): hash mismatch: the record was changed after it was written"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestRepair(t *testing.T) {
	good := sampleBytes(t)
	tests := []struct {
		name     string
		data     []byte
		wantErr  error
		wantData []byte // nil: unchanged
	}{
		{name: "torn", data: append(bytes.Clone(good), `{"seq":6,"ti`...), wantData: good},
		{name: "torn with newline", data: append(bytes.Clone(good), "\x00\x00\n"...), wantData: good},
		{name: "intact is left alone", data: good},
		{name: "tampered is left alone", data: append(bytes.Replace(good, []byte(`"ana@host"`), []byte(`"eve@host"`), 1), "{\"seq"...),
			wantErr: ErrTampered},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "r1.jsonl")
			if err := os.WriteFile(path, tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			r, err := Repair(path)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			got, _ := os.ReadFile(path)
			want := tt.wantData
			if want == nil {
				want = tt.data
			}
			if !bytes.Equal(got, want) {
				t.Errorf("file after repair:\n%q\nwant\n%q", got, want)
			}
			if tt.wantErr == nil && (!r.Intact() || r.Events != 5) {
				t.Errorf("report after repair: %+v", r)
			}
		})
	}
}

func TestRepairRefusesLiveTranscript(t *testing.T) {
	w, err := Create(t.TempDir(), "r1")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := appendEvent(w, "e", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := Repair(w.Path()); !errors.Is(err, ErrRunning) {
		t.Fatalf("err = %v, want ErrRunning", err)
	}
	w.Close()
	if _, err := Repair(w.Path()); err != nil {
		t.Fatalf("after Close: %v", err)
	}
}

func TestReadTornAndBad(t *testing.T) {
	good := sampleBytes(t)
	dir := t.TempDir()
	torn := filepath.Join(dir, "torn.jsonl")
	os.WriteFile(torn, append(bytes.Clone(good), `{"se`...), 0o600)
	tr, err := Read(torn)
	if err != nil || len(tr.Events) != 5 || string(tr.Torn) != `{"se` {
		t.Fatalf("torn: %v, %d events, torn %q", err, len(tr.Events), tr.Torn)
	}
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, append([]byte("nonsense\n"), good...), 0o600)
	if _, err := Read(bad); err == nil || !strings.Contains(err.Error(), "line 1: not JSON") {
		t.Fatalf("bad: err = %v", err)
	}
	if _, err := Read(filepath.Join(dir, "missing.jsonl")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing: err = %v", err)
	}
}

func TestStepsUnknownAndInterrupted(t *testing.T) {
	fs := newMemFS()
	w, _ := Create("mem", "r1", WithFS(fs))
	appendEvent(w, TypeRunStarted, map[string]any{"run_id": "r1", "runbook": "rb"})
	appendEvent(w, TypeStepStarted, map[string]any{"step": "a"})
	appendEvent(w, TypeStepFinished, map[string]any{"step": "a", "status": "succeeded", "output": map[string]any{"x": 1}})
	appendEvent(w, TypeStepStarted, map[string]any{"step": "b"})
	appendEvent(w, TypeInterrupted, map[string]any{"step": "b"})
	tr, err := parse(fs.bytes(w.Path()))
	if err != nil {
		t.Fatal(err)
	}
	steps := tr.Steps()
	if len(steps) != 2 || steps[0].Status != "succeeded" || string(steps[0].Output) != `{"x":1}` || steps[1].Status != StepStatusUnknown {
		t.Errorf("steps = %+v %+v", steps[0], steps[1])
	}
	if len(steps[1].Events) != 1 {
		t.Errorf("interrupted counted as a step event: %+v", steps[1].Events)
	}
	if tr.Status() != StatusInterrupted {
		t.Errorf("status = %s", tr.Status())
	}
}
