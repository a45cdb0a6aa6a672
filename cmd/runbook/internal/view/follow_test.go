package view

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbookdev/runbook/cmd/runbook/internal/iostreams"
	"github.com/runbookdev/runbook/engine/transcript"
)

// A run followed event by event reads as transcript show renders it once
// finished: the same header, steps and end, without the chain's line
// (follow checks no chain: the store did, on every append).
func TestFollowerRendersAsShow(t *testing.T) {
	path := filepath.Join("..", "..", "..", "..", "engine", "transcript", "testdata", "every-record.jsonl")
	tr, err := transcript.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	report, err := transcript.Verify(path)
	if err != nil {
		t.Fatal(err)
	}
	// The file holds every record type, several final ones among them:
	// the run is what comes up to the first.
	// the run is its first run_started and what comes up to the first
	// run_finished.
	var run []transcript.Event
	for i, e := range tr.Events {
		if i > 0 && e.Type == transcript.TypeRunStarted {
			continue
		}
		run = append(run, e)
		if e.Type == transcript.TypeRunFinished {
			break
		}
	}
	tr.Events = run
	cs := iostreams.NewColorScheme(false)
	var shown bytes.Buffer
	if err := RenderTranscript(&shown, cs, tr, report); err != nil {
		t.Fatal(err)
	}
	var followed bytes.Buffer
	f := NewFollower(&followed, cs, RunIDOf(path))
	for _, e := range tr.Events {
		if f.Ended() {
			t.Fatalf("event %d rendered after the run's end", e.Seq)
		}
		if err := f.Event(e); err != nil {
			t.Fatal(err)
		}
	}
	if !f.Ended() {
		t.Error("Ended is false after the run's final event")
	}
	want := lines(shown.String(), "chain")
	got := lines(followed.String(), "chain")
	if got != want {
		t.Errorf("followed:\n%s\nshown:\n%s", got, want)
	}
}

// lines drops the lines of s whose first word is skip.
func lines(s, skip string) string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == skip {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}
