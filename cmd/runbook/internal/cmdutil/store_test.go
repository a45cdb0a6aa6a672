package cmdutil

import (
	"errors"
	"testing"
	"time"

	"github.com/runbookdev/runbook/engine"
	"github.com/runbookdev/runbook/engine/exitcode"
)

func TestCheckStoreURL(t *testing.T) {
	tests := []struct {
		url  string
		code int // 0: accepted
	}{
		{"", 0},
		{"file://", 0},
		{"postgres://runbook@127.0.0.1:5432/runbook", 0},
		{"postgresql://runbook@db/runbook?sslmode=disable", 0},
		{"file:///tmp/x", exitcode.BadInput},
		{"etcd://127.0.0.1:2379/runbook", exitcode.BadInput},
		{"db.internal", exitcode.BadInput},
	}
	for _, tt := range tests {
		err := CheckStoreURL(tt.url)
		if tt.code == 0 {
			if err != nil {
				t.Errorf("CheckStoreURL(%q) = %v, want nil", tt.url, err)
			}
			continue
		}
		var ee *ExitError
		if !errors.As(err, &ee) || ee.Code != tt.code {
			t.Errorf("CheckStoreURL(%q) = %v, want exit %d", tt.url, err, tt.code)
		}
	}
}

func TestMergeExercises(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	run := func(id string, at time.Duration) *engine.RunSummary {
		return &engine.RunSummary{RunID: id, Started: t0.Add(at)}
	}
	local := map[string]*engine.Exercise{
		"a": {LastRun: run("a-local", 2*time.Hour), LastDryRun: run("a-dry-local", 0), LastSucceeded: t0.Add(2 * time.Hour)},
		"b": {LastRun: run("b-local", 0)},
	}
	stored := map[string]*engine.Exercise{
		"a": {LastRun: run("a-stored", time.Hour), LastDryRun: run("a-dry-stored", 3*time.Hour), LastSucceeded: t0.Add(3 * time.Hour)},
		"c": {LastDryRun: run("c-stored", 0), LastSucceeded: t0},
	}
	got := MergeExercises(local, stored)
	tests := []struct {
		runbook, lastRun, lastDry string
		succeeded                 time.Time
	}{
		{"a", "a-local", "a-dry-stored", t0.Add(3 * time.Hour)},
		{"b", "b-local", "", time.Time{}},
		{"c", "", "c-stored", t0},
	}
	id := func(s *engine.RunSummary) string {
		if s == nil {
			return ""
		}
		return s.RunID
	}
	for _, tt := range tests {
		e := got[tt.runbook]
		if e == nil {
			t.Errorf("%s: missing", tt.runbook)
			continue
		}
		if id(e.LastRun) != tt.lastRun || id(e.LastDryRun) != tt.lastDry || !e.LastSucceeded.Equal(tt.succeeded) {
			t.Errorf("%s: last run %q, dry-run %q, succeeded %v; want %q, %q, %v", tt.runbook, id(e.LastRun), id(e.LastDryRun), e.LastSucceeded, tt.lastRun, tt.lastDry, tt.succeeded)
		}
	}
	if len(got) != 3 {
		t.Errorf("merged %d runbooks, want 3", len(got))
	}
	// The inputs are left as they were.
	if local["a"].LastDryRun.RunID != "a-dry-local" || !local["a"].LastSucceeded.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("MergeExercises changed its input: %+v", local["a"])
	}
}
