package cmdutil

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/runbookdev/runbook/engine/exitcode"
)

// ExitError ends a command with a code (engine/exitcode holds the table,
// the same for every command). An ExitError without a message has already
// told the user what went wrong (diagnostics were printed).
type ExitError struct {
	Code int
	Msg  string
}

func (e *ExitError) Error() string { return e.Msg }

// ExitCode implements exitcode.Coder.
func (e *ExitError) ExitCode() int { return e.Code }

// Exitf returns an error that ends the command with code and message.
func Exitf(code int, format string, args ...any) error {
	return &ExitError{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// SilentExit ends the command with code; the problem is already printed.
func SilentExit(code int) error { return &ExitError{Code: code} }

// RunE adapts a command's run function: errors that carry no exit code
// are failures (exit 1), not usage errors.
func RunE(fn func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		err := fn(cmd, args)
		if _, coded := errors.AsType[exitcode.Coder](err); err != nil && !coded {
			return &ExitError{Code: exitcode.Failed, Msg: err.Error()}
		}
		return err
	}
}

// UsageArgs wraps a cobra argument check so that a wrong count is bad input.
func UsageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return Exitf(exitcode.BadInput, "%s: %s\nUsage: %s", cmd.Name(), err, cmd.UseLine())
		}
		return nil
	}
}

// Run runs run on opts, or runF when a test gave one: the last step of
// every command's RunE (docs in ARCHITECTURE.md, "The command line").
func Run[O any](opts O, runF, run func(O) error) error {
	if runF != nil {
		return runF(opts)
	}
	return run(opts)
}
