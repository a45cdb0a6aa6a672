// Package exitcode is the one table of runbook's exit codes and the
// interface an error implements to choose one (docs/commands.md, "Exit codes"). The
// engine, the lock backends and the command line all take their codes
// from here, and the command line maps any error to a code with Of.
package exitcode
