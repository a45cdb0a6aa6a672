// Package transcriptcmd is `runbook transcript`: list the recorded runs,
// show one as a person reads it, verify its hash chain (docs/transcript.md).
package transcriptcmd
