package exitcode

import "errors"

// The exit codes, the same for every command.
const (
	// OK: the command did what was asked.
	OK = 0
	// Failed: a step failed, or the command could not do its work.
	Failed = 1
	// BadInput: the input is wrong (a runbook, a flag, a variable); nothing
	// ran.
	BadInput = 2
	// Refused: the run was refused before anything ran (its lock is held, a
	// saved plan no longer fits).
	Refused = 3
	// Interrupted: Ctrl-C (SIGINT) or SIGTERM stopped the run.
	Interrupted = 130
)

// Coder is an error that chooses the command's exit code.
type Coder interface {
	error
	ExitCode() int
}

// Of is the exit code err asks for: OK for nil, its own code for a Coder
// anywhere in its chain, Failed otherwise.
func Of(err error) int {
	if err == nil {
		return OK
	}
	if c, ok := errors.AsType[Coder](err); ok {
		return c.ExitCode()
	}
	return Failed
}
