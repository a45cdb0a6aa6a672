// Package exec is `runbook exec`: run a runbook, rehearse it (--dry-run,
// --out saves the plan), apply a saved plan (--plan) or resume a run
// (--resume), with the live view on the terminal and the transcript under
// the state directory (docs/commands.md, docs/execution.md).
package exec
