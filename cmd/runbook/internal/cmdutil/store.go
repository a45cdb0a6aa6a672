package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/runbookdev/runbook/engine"
	"github.com/runbookdev/runbook/engine/exitcode"
	"github.com/runbookdev/runbook/engine/store"
)

// DefaultStoreURL is --store's default: transcripts only in the state
// folder.
const DefaultStoreURL = "file://"

// CheckStoreURL refuses a --store that names neither the state folder
// (file://) nor PostgreSQL (docs/commands.md, "Global flags"): exit 2.
func CheckStoreURL(raw string) error {
	switch {
	case raw == "" || raw == DefaultStoreURL:
		return nil
	case strings.HasPrefix(raw, "postgres://") || strings.HasPrefix(raw, "postgresql://"):
		return nil
	case strings.HasPrefix(raw, "file:"):
		return Exitf(exitcode.BadInput, "--store %s: file:// takes no path (transcripts stay under --state-dir)", raw)
	}
	scheme, _, _ := strings.Cut(raw, "://")
	if len(scheme) > 20 {
		scheme = scheme[:20] + "…"
	}
	return Exitf(exitcode.BadInput, "--store: unknown scheme %q: want file:// or postgres://USER@HOST:PORT/DATABASE", scheme)
}

// Store opens the transcript store --store names, once per command
// (docs/store.md): nil for file://. A bad URL is exit 2, a store that
// cannot be reached a *store.UnreachableError (exit 3).
func (f *Factory) Store(ctx context.Context) (*store.Store, error) {
	if f.store != nil || f.storeErr != nil {
		return f.store, f.storeErr
	}
	raw := f.Global.StoreURL
	if err := CheckStoreURL(raw); err != nil {
		return nil, err
	}
	if raw == "" || raw == DefaultStoreURL {
		return nil, nil
	}
	if ctx == nil {
		ctx = context.Background()
	}
	s, err := store.Open(ctx, raw)
	if err != nil {
		if _, bad := errors.AsType[*store.URLError](err); bad {
			err = Exitf(exitcode.BadInput, "--store: %s", err)
		}
		f.storeErr = err
		return nil, err
	}
	f.store = s
	return s, nil
}

// CloseStore closes the store Store opened, if any.
func (f *Factory) CloseStore() {
	if f.store != nil {
		f.store.Close()
		f.store = nil
	}
}

// Exercises says, for each runbook, when it last ran, was last rehearsed
// and last succeeded: from the transcripts under --state-dir and, with a
// store, from every machine's runs in it, the newest winning (`list`,
// `validate --max-unrehearsed`).
func (f *Factory) Exercises(ctx context.Context) (map[string]*engine.Exercise, error) {
	local, err := engine.Exercises(f.Global.StateDir)
	if err != nil {
		return nil, fmt.Errorf("read transcripts in %s: %w", f.Global.StateDir, err)
	}
	s, err := f.Store(ctx)
	if err != nil || s == nil {
		return local, err
	}
	stored, err := s.Exercises(ctx)
	if err != nil {
		return nil, err
	}
	return MergeExercises(local, stored), nil
}

// MergeExercises merges two views of the runbooks' latest runs: for each,
// the newer run of each mode and the later success.
func MergeExercises(a, b map[string]*engine.Exercise) map[string]*engine.Exercise {
	out := map[string]*engine.Exercise{}
	for _, m := range []map[string]*engine.Exercise{a, b} {
		for name, e := range m {
			if e == nil {
				continue
			}
			have := out[name]
			if have == nil {
				c := *e
				out[name] = &c
				continue
			}
			have.LastRun = newer(have.LastRun, e.LastRun)
			have.LastDryRun = newer(have.LastDryRun, e.LastDryRun)
			if e.LastSucceeded.After(have.LastSucceeded) {
				have.LastSucceeded = e.LastSucceeded
			}
		}
	}
	return out
}

// newer is the later-started of two runs (nil for none); a tie goes to
// the first.
func newer(a, b *engine.RunSummary) *engine.RunSummary {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case b.Started.After(a.Started):
		return b
	}
	return a
}
