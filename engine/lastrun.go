package engine

import (
	"time"

	"github.com/runbookdev/runbook/engine/transcript"
)

// RunSummary is what `runbook list` shows of a run.
type RunSummary = transcript.Summary

// Exercise is how recently a runbook was run and rehearsed.
type Exercise struct {
	// LastRun and LastDryRun are the latest of each mode; nil when none.
	LastRun, LastDryRun *RunSummary
	// LastSucceeded is when the latest run or dry-run that succeeded
	// started; zero when none did.
	LastSucceeded time.Time
}

// Exercises reads every transcript under stateDir and says, for each
// runbook, when it last ran, was last rehearsed, and last succeeded.
func Exercises(stateDir string) (map[string]*Exercise, error) {
	runs, err := transcript.List(transcript.Dir(stateDir))
	if err != nil {
		return nil, err
	}
	out := map[string]*Exercise{}
	for _, s := range runs {
		e := out[s.Runbook]
		if e == nil {
			e = &Exercise{}
			out[s.Runbook] = e
		}
		latest := &e.LastRun
		if s.Mode == ModeDryRun {
			latest = &e.LastDryRun
		}
		if *latest == nil || s.Started.After((*latest).Started) {
			run := s
			*latest = &run
		}
		if s.Status == StatusSucceeded && s.Started.After(e.LastSucceeded) {
			e.LastSucceeded = s.Started
		}
	}
	return out, nil
}
