// Package list is `runbook list`: the catalogue of the runbook directory,
// with each runbook's last run and last rehearsal.
package list
