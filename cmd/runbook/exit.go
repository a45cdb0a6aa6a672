package main

import (
	"fmt"

	"github.com/runbookdev/runbook/engine/exitcode"
)

// Exit codes (engine/exitcode holds the table), the same for every command.
const (
	ExitOK          = exitcode.OK
	ExitFailed      = exitcode.Failed
	ExitBadInput    = exitcode.BadInput
	ExitRefused     = exitcode.Refused
	ExitInterrupted = exitcode.Interrupted
)

// exitError ends a command with a code. A nil-message exitError has already
// told the user what went wrong (diagnostics were printed).
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// ExitCode implements the interface any package's errors can implement to
// choose their exit code.
func (e *exitError) ExitCode() int { return e.code }

// exitf returns an error that ends the command with code and message.
func exitf(code int, format string, args ...any) error {
	return &exitError{code: code, msg: fmt.Sprintf(format, args...)}
}

// silentExit ends the command with code; the problem is already printed.
func silentExit(code int) error { return &exitError{code: code} }

// exitCode maps an error to the process exit code.
func exitCode(err error) int { return exitcode.Of(err) }
