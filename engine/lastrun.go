// Package engine runs decoded runbooks: it resolves variables, evaluates
// expressions, drives each step through its lifecycle (when, preconditions,
// confirmation, action, expectations), rehearses runs as dry-runs, takes
// locks, and records transcripts. It never prints: it reports through hooks.
package engine

import (
	"github.com/runbookdev/runbook/engine/transcript"
)

// RunSummary is what `runbook list` shows of a runbook's latest run.
type RunSummary = transcript.Summary

// TranscriptDir is where transcripts live under a state folder.
func TranscriptDir(stateDir string) string { return transcript.Dir(stateDir) }

// LastRuns returns the latest real (not dry-run) run of each runbook, from
// the transcripts under stateDir. A missing transcript folder means no runs.
func LastRuns(stateDir string) (map[string]RunSummary, error) {
	runs, err := transcript.List(TranscriptDir(stateDir))
	if err != nil {
		return nil, err
	}
	last := map[string]RunSummary{}
	for _, s := range runs {
		if s.Mode == "dry-run" {
			continue
		}
		if prev, seen := last[s.Runbook]; !seen || s.Started.After(prev.Started) {
			last[s.Runbook] = s
		}
	}
	return last, nil
}
