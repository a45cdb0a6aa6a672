package transcriptcmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/runbookdev/runbook/cmd/runbook/internal/cmdutil"
	"github.com/runbookdev/runbook/engine/exitcode"
	"github.com/runbookdev/runbook/engine/store"
	"github.com/runbookdev/runbook/engine/transcript"
)

// located is a run as found for show, verify and follow: its local
// transcript (Path, "" without one) and whether to look in the store.
type located struct {
	RunID string
	Path  string
	Store *store.Store
}

// locate resolves a run id or unique prefix among the local transcripts
// and, with a store, among the stored runs (docs/store.md, "Reading"). An
// unknown or ambiguous id is bad input.
func locate(ctx context.Context, f *cmdutil.Factory, id string) (*located, error) {
	s, err := f.Store(ctx)
	if err != nil {
		return nil, err
	}
	path, err := transcript.Find(transcript.Dir(f.Global.StateDir), id)
	switch {
	case err == nil:
		return &located{RunID: strings.TrimSuffix(filepath.Base(path), ".jsonl"), Path: path, Store: s}, nil
	case s == nil || !errors.Is(err, transcript.ErrNotFound):
		_, err = findTranscript(f, id)
		return nil, err
	}
	runID, err := findStored(ctx, s, id)
	if err != nil {
		return nil, err
	}
	return &located{RunID: runID, Store: s}, nil
}

// findStored resolves id among the stored runs (store.Find): an unknown
// or ambiguous one is bad input.
func findStored(ctx context.Context, s *store.Store, id string) (string, error) {
	runID, err := s.Find(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", storedNotFound(s, id)
	case errors.Is(err, store.ErrAmbiguous):
		return "", cmdutil.Exitf(exitcode.BadInput, "%s\nGive more of the run id.", err)
	}
	return runID, err
}

// storedNotFound is the error for a run neither here nor in the store.
func storedNotFound(s *store.Store, id string) error {
	return cmdutil.Exitf(exitcode.BadInput, "%s %q: not in --state-dir nor in the transcript store %s\nRun 'runbook transcript list' for the recorded runs.", transcript.ErrNotFound, id, s.Service())
}

// readStored writes run runID's stored lines to a transcript file in a
// temporary folder, so that the transcript reader and verifier read them
// as they read a local one; cleanup removes it.
func readStored(ctx context.Context, s *store.Store, runID string) (path string, cleanup func(), err error) {
	data, err := s.Read(ctx, runID)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil, storedNotFound(s, runID)
	}
	if err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp("", "runbook-stored-*")
	if err != nil {
		return "", nil, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	path = filepath.Join(dir, transcript.FileName(runID))
	if err := os.WriteFile(path, data, 0o600); err != nil {
		cleanup()
		return "", nil, err
	}
	return path, cleanup, nil
}

// needStore is the store a command cannot do without.
func needStore(ctx context.Context, f *cmdutil.Factory, command string) (*store.Store, error) {
	s, err := f.Store(ctx)
	if err == nil && s == nil {
		err = cmdutil.Exitf(exitcode.BadInput, "%s needs a transcript store: --store postgres://USER@HOST:PORT/DATABASE or RUNBOOK_STORE", command)
	}
	return s, err
}

// sinceDays is a --since duration in days: 7d.
var sinceDays = regexp.MustCompile(`^(\d+)d$`)

// parseSince reads --since: a duration back from now (90m, 24h, 7d) or a
// date (2026-12-01, or RFC 3339).
func parseSince(now time.Time, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if m := sinceDays.FindStringSubmatch(s); m != nil {
		n, err := strconv.Atoi(m[1])
		if err == nil && n <= 100000 {
			return now.Add(-time.Duration(n) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, cmdutil.Exitf(exitcode.BadInput, "--since %q: want a duration back from now (24h, 7d) or a date (2026-12-01, 2026-12-01T14:00:00Z)", s)
}

// runFilter selects runs by --runbook, --operator, --status and --since.
type runFilter struct {
	Runbook, Operator, Status string
	Since                     time.Time
}

// keeps reports whether the filter selects s.
func (f runFilter) keeps(s transcript.Summary) bool {
	return (f.Runbook == "" || s.Runbook == f.Runbook) &&
		(f.Operator == "" || s.Operator == f.Operator) &&
		(f.Status == "" || s.Status == f.Status) &&
		(f.Since.IsZero() || !s.Started.Before(f.Since))
}

// listedRun is a run `transcript list` shows; LocalOnly marks a local run
// the store does not have.
type listedRun struct {
	transcript.Summary
	LocalOnly bool
}

// listRuns lists the local runs the filter selects and, with a store, the
// stored ones merged with the local ones it does not have yet, newest
// first.
func listRuns(ctx context.Context, f *cmdutil.Factory, flt runFilter) ([]listedRun, bool, error) {
	local, err := transcript.List(transcript.Dir(f.Global.StateDir))
	if err != nil {
		return nil, false, err
	}
	s, err := f.Store(ctx)
	if err != nil {
		return nil, false, err
	}
	var out []listedRun
	if s == nil {
		for _, r := range local {
			if flt.keeps(r) {
				out = append(out, listedRun{Summary: r})
			}
		}
		return out, false, nil
	}
	stored, err := s.List(ctx, store.Filter{Runbook: flt.Runbook, Operator: flt.Operator, Status: flt.Status, Since: flt.Since})
	if err != nil {
		return nil, true, err
	}
	have := map[string]bool{}
	for _, r := range stored {
		have[r.RunID] = true
		out = append(out, listedRun{Summary: r.Summary()})
	}
	// A full page of stored runs says nothing of those older than its
	// last: local runs from before it are left out, as stored ones are.
	var cutoff time.Time
	if len(stored) >= store.DefaultLimit {
		cutoff = stored[len(stored)-1].Started
	}
	for _, r := range local {
		if !have[r.RunID] && flt.keeps(r) && !r.Started.Before(cutoff) {
			out = append(out, listedRun{Summary: r, LocalOnly: true})
		}
	}
	slices.SortStableFunc(out, func(a, b listedRun) int {
		if c := b.Started.Compare(a.Started); c != 0 {
			return c
		}
		return strings.Compare(b.RunID, a.RunID)
	})
	return out, true, nil
}

// pushRun ships one local transcript and says what was done; false when it
// was not shipped.
func pushRun(ctx context.Context, opts *PushOptions, s *store.Store, path string) bool {
	id := strings.TrimSuffix(filepath.Base(path), ".jsonl")
	p, err := s.Push(ctx, path)
	if err != nil {
		fmt.Fprintf(opts.IO.ErrOut, "%s: not shipped: %s\n", id, err)
		return false
	}
	torn := ""
	if p.Torn {
		torn = " (its torn last line is not shipped)"
	}
	if p.Shipped == 0 {
		fmt.Fprintf(opts.IO.Out, "%s: already in the store (%d events)%s\n", p.RunID, p.Stored, torn)
	} else {
		fmt.Fprintf(opts.IO.Out, "%s: shipped %d events (%d stored)%s\n", p.RunID, p.Shipped, p.Stored, torn)
	}
	return true
}
