// Package show is `runbook show`: a runbook as a person reads it (steps,
// owners, checks, what each step changes), or a saved plan for review.
package show
