package engine

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/runbookdev/runbook/engine/exitcode"
)

// InputError is bad input: variables that are missing, malformed or fail
// their validation. Exit code 2. Problems in a var file also come as HCL
// diagnostics (file, line, column), with the files for their snippets.
type InputError struct {
	Msg   string
	Diags hcl.Diagnostics
	Files map[string]*hcl.File
}

func (e *InputError) Error() string { return e.Msg }

// ExitCode implements the CLI's exit-code interface.
func (e *InputError) ExitCode() int { return exitcode.BadInput }

func inputErrorf(format string, args ...any) error {
	return &InputError{Msg: fmt.Sprintf(format, args...)}
}
