package engine

import (
	"context"
	"errors"
)

// Prompter asks the operator. The CLI implements it on the terminal; it is
// nil when nobody can be asked, and then confirmations are refused unless
// the run was started with --yes.
type Prompter interface {
	// Confirm asks a yes/no question; false means no.
	Confirm(ctx context.Context, question string) (bool, error)
	// Ask asks for a variable's value; sensitive input is not echoed.
	Ask(ctx context.Context, name, description string, sensitive bool) (string, error)
}

// StepPrompter is a Prompter that also wants to know which step asks, as
// `runbook test` does to answer from a test's answers map.
type StepPrompter interface {
	ConfirmStep(ctx context.Context, step, question string) (bool, error)
}

// ErrNoOperator is returned when a confirmation is needed and nobody can
// answer it.
var ErrNoOperator = errors.New("a confirmation is needed, but there is no terminal to ask on; re-run on a terminal, or with --yes to approve every confirmation")
