package main

import (
	"errors"
	"fmt"
)

// Exit codes (README, "Commands"), the same for every command.
const (
	ExitOK          = 0
	ExitFailed      = 1
	ExitBadInput    = 2
	ExitRefused     = 3
	ExitInterrupted = 130
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

// exitCode maps an error to the process exit code, in one place.
func exitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var coded interface{ ExitCode() int }
	if errors.As(err, &coded) {
		return coded.ExitCode()
	}
	return ExitFailed
}
