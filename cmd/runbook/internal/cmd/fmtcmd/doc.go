// Package fmtcmd is `runbook fmt`: runbook files rewritten in the canonical
// format, checked (-check) or shown as a unified diff (-diff).
package fmtcmd
