package prompt

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// Backend is where a prompt registry keeps its prompts. The embedded file
// backend implements it; the Langfuse backend implements the same
// operations: read a prompt's versions and labels, create a version, move a
// label. The rules of each action (which version a rollback picks, what a
// promote may target) live in the plugin, not in the backend, so every
// backend behaves the same.
type Backend interface {
	// Read returns a prompt's versions and labels. An unknown prompt is an
	// error that wraps ErrUnknownPrompt and says where the prompt was looked
	// for.
	Read(ctx context.Context, name string) (*Prompt, error)
	// Publish stores text as a new immutable version, numbered one above the
	// highest existing one, and points label at it when label is not empty.
	// It creates the prompt when it does not exist yet.
	Publish(ctx context.Context, name, text, label string, c Change) (Published, error)
	// MoveLabel points label at the version pick chooses from the prompt as
	// it is at that moment, with no other writer in between: pick decides
	// and the backend writes under the same lock (or compare-and-set), so
	// concurrent moves never lose an update. When pick returns an error or
	// the label's current version, nothing is written.
	MoveLabel(ctx context.Context, name, label string, pick func(*Prompt) (int, error), c Change) (Move, error)
}

// ErrUnknownPrompt is wrapped by the error a backend returns for a prompt
// that does not exist.
var ErrUnknownPrompt = errors.New("unknown prompt")

// Prompt is what a backend knows of one prompt.
type Prompt struct {
	Name string
	// Versions are the existing version numbers, ascending.
	Versions []int
	// Labels map each label to the version it serves.
	Labels map[string]int
	// LabelsSource names where the labels are kept, for messages: the path
	// of labels.json for the file backend.
	LabelsSource string
}

// Has reports whether version v exists.
func (p *Prompt) Has(v int) bool {
	_, found := slices.BinarySearch(p.Versions, v)
	return found
}

// Latest returns the highest version, or 0 when there is none.
func (p *Prompt) Latest() int {
	if len(p.Versions) == 0 {
		return 0
	}
	return p.Versions[len(p.Versions)-1]
}

// Change says which action makes a change, in which run and for whom; the
// backend records it in its history.
type Change struct {
	Action   string
	RunID    string
	Operator string
	// Progress, when set, receives a line per change from a backend whose
	// history is kept by the service rather than by runbook.
	Progress func(line string)
	// Check, when set, is called by Publish with the prompt as it is just
	// before the change (under the same lock, for the file backend); an
	// error stops the publish with nothing changed. A saved plan's basis
	// check uses it (MoveLabel's pick does the same for moves).
	Check func(*Prompt) error
}

// Published is the result of a publish.
type Published struct {
	Version int
	// Previous is the version the label served before, 0 when it was unset
	// or no label was given.
	Previous int
}

// Move is the result of moving a label: From is 0 when the label was unset.
// From == To when nothing changed.
type Move struct {
	From, To int
}

// chooseMove is the move of label on p (prompt name) that pick asks for:
// from the version label is on now to the one pick chooses, which must
// exist. From == To means there is nothing to do.
func chooseMove(p *Prompt, name, label string, pick func(*Prompt) (int, error)) (Move, error) {
	to, err := pick(p)
	if err != nil {
		return Move{}, err
	}
	m := Move{From: p.Labels[label], To: to}
	if m.To != m.From && !p.Has(to) {
		return Move{}, fmt.Errorf("prompt %q has no version %d to point %s at", name, to, label)
	}
	return m, nil
}
