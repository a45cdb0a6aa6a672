package transcript

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"

	"github.com/runbookdev/runbook/plugins/safefile"
)

// Problem kinds Verify reports.
const (
	ProblemNotJSON      = "not JSON"
	ProblemMalformed    = "malformed event"
	ProblemHashMismatch = "hash mismatch"
	ProblemPrevMismatch = "prev does not match"
	ProblemSeqGap       = "seq gap"
	ProblemSeqOrder     = "seq out of order"
	ProblemEmpty        = "empty transcript"
)

// Problem is the first record that breaks the chain.
type Problem struct {
	Line int   // 1-based line number (0 for an empty file)
	Seq  int64 // the record's seq, 0 when it has none
	Kind string
	// Detail explains Kind for a person.
	Detail string
}

func (p *Problem) Error() string {
	where := fmt.Sprintf("line %d", p.Line)
	if p.Seq > 0 {
		where += fmt.Sprintf(" (seq %d)", p.Seq)
	}
	if p.Line == 0 {
		where = "file"
	}
	if p.Detail == "" {
		return where + ": " + p.Kind
	}
	return where + ": " + p.Kind + ": " + p.Detail
}

// Report is the outcome of Verify.
type Report struct {
	Path string
	// Events is how many records verified before the first problem (all of
	// them when there is none); Head is the last one's hash.
	Events int
	Head   string
	// Finished reports whether the last verified record ends the run
	// (run_finished or interrupted).
	Finished bool
	// Problem is the first bad record, nil when the chain holds.
	Problem *Problem
	// Torn is set when the last line is incomplete, as a crash mid-write
	// leaves it: not tampering, and the records before it are verified.
	Torn *TornLine
	// hashes are the verified records' hashes, in order.
	hashes []string
}

// LineOf returns the line of the verified record whose hash is head, 0
// when no verified record has it. A head printed at the end of a run and
// kept elsewhere is what shows that a transcript was neither cut short nor
// rewritten: the chain alone cannot, since whoever can write the file can
// also re-chain it.
func (r *Report) LineOf(head string) int {
	for i, h := range r.hashes {
		if h == head {
			return i + 1
		}
	}
	return 0
}

// TornLine describes an incomplete last line.
type TornLine struct {
	Line   int   // its line number
	Offset int64 // where it starts: Repair truncates the file there
	Bytes  int   // its length
}

// Intact reports whether every record verified and no line is torn.
func (r *Report) Intact() bool { return r.Problem == nil && r.Torn == nil }

// ErrTampered is returned by Repair when the records before a torn line do
// not verify: the file is left as it is, as evidence.
var ErrTampered = errors.New("transcript fails verification")

// ErrRunning is returned by Repair while a writer still holds the file.
var ErrRunning = errors.New("transcript is still being written (the run is in progress)")

// Verify checks a transcript's chain: every line is an event, seq counts
// 1, 2, …, each prev is the previous record's hash ("" for the first), and
// each hash matches its record. It reports the first bad record and, apart
// from it, a torn last line. An error means the file could not be read.
func Verify(path string) (*Report, error) {
	data, err := safefile.ReadFile(path, MaxSize)
	if err != nil {
		return nil, fmt.Errorf("verify transcript: %w", err)
	}
	r := verifyBytes(data)
	r.Path = path
	return r, nil
}

// hashSuffix is how every line the writer writes ends.
var hashSuffix = regexp.MustCompile(`,"hash":"([0-9a-f]{64})"\}$`)

func verifyBytes(data []byte) *Report {
	r := &Report{}
	lines, torn := splitLines(data)
	if torn != nil {
		r.Torn = &TornLine{Line: len(lines) + 1, Offset: int64(len(data) - len(torn)), Bytes: len(torn)}
	}
	if len(lines) == 0 && torn == nil {
		r.Problem = &Problem{Kind: ProblemEmpty, Detail: "no events"}
		return r
	}
	prev := ""
	for i, raw := range lines {
		lineNo := i + 1
		ev, reason := parseEvent(raw, lineNo)
		bad := func(kind, detail string) *Report {
			r.Problem = &Problem{Line: lineNo, Seq: ev.Seq, Kind: kind, Detail: detail}
			return r
		}
		switch {
		case reason == reasonNotJSON:
			return bad(ProblemNotJSON, "")
		case reason != "":
			return bad(ProblemMalformed, reason[len("malformed event: "):])
		}
		m := hashSuffix.FindSubmatchIndex(raw)
		if m == nil {
			return bad(ProblemMalformed, `"hash" is not the last member`)
		}
		preimage := append(bytes.Clone(raw[:m[0]]), '}')
		if got := hashOf(preimage); got != string(raw[m[2]:m[3]]) {
			return bad(ProblemHashMismatch, "the record was changed after it was written")
		}
		want := int64(lineNo)
		switch {
		case ev.Seq > want:
			return bad(ProblemSeqGap, fmt.Sprintf("expected seq %d, found %d: records are missing", want, ev.Seq))
		case ev.Seq < want:
			return bad(ProblemSeqOrder, fmt.Sprintf("expected seq %d, found %d: records were moved or duplicated", want, ev.Seq))
		}
		if ev.Prev != prev {
			return bad(ProblemPrevMismatch, "the record before it was changed, removed or replaced")
		}
		prev = ev.Hash
		r.Events, r.Head = lineNo, ev.Hash
		r.hashes = append(r.hashes, ev.Hash)
		r.Finished = ev.Type == TypeRunFinished || ev.Type == TypeInterrupted
	}
	return r
}

// Repair truncates a torn last line, when the records before it verify,
// and fsyncs the file. It returns the report after the repair. A file
// without a torn line is left alone; one that fails verification before it
// is left alone too, with ErrTampered; one still being written, with
// ErrRunning.
func Repair(path string) (*Report, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("repair transcript: %w", err)
	}
	defer f.Close()
	unlock, err := lockFile(f, true)
	if errors.Is(err, errLocked) {
		return nil, fmt.Errorf("repair transcript %s: %w", path, ErrRunning)
	}
	if err != nil {
		return nil, fmt.Errorf("repair transcript %s: %w", path, err)
	}
	defer unlock()
	r, err := Verify(path)
	if err != nil {
		return nil, fmt.Errorf("repair transcript: %w", err)
	}
	if r.Torn == nil {
		return r, nil
	}
	if r.Problem != nil {
		return r, fmt.Errorf("repair transcript %s: %w: %s", path, ErrTampered, r.Problem)
	}
	if err := f.Truncate(r.Torn.Offset); err != nil {
		return r, fmt.Errorf("repair transcript %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return r, fmt.Errorf("repair transcript %s: %w", path, err)
	}
	r.Torn = nil
	return r, nil
}
