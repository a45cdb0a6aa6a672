package prompt

import (
	"context"
	"errors"
	"maps"
	"slices"

	"github.com/runbookdev/runbook/plugins/sdk"
)

// plannedState is the prompt plugin's predicted state in a dry-run: what
// the changes planned so far would do to the registry, on top of what the
// backend holds, one sdk.Planned key per prompt. The host hands it back
// with every later request of the run (plugins.ActionRequest.Planned), so
// a second rollback of the same label plans from the version the first one
// left, and prompt.status reads the label as the real run will find it.
type plannedState struct{ planned *sdk.Planned }

// plannedPrompt is what planned changes did to one prompt.
type plannedPrompt struct {
	// Labels maps each moved label to the version it will serve.
	Labels map[string]int `json:"labels,omitempty"`
	// Published are the versions planned publishes create.
	Published []int `json:"published,omitempty"`
}

// prompt returns what planned changes did to prompt name, nil when none
// touched it.
func (st plannedState) prompt(name string) (*plannedPrompt, error) {
	var pp *plannedPrompt
	if _, err := st.planned.Get(name, &pp); err != nil {
		return nil, err
	}
	return pp, nil
}

// change records fn's change to prompt name.
func (st plannedState) change(name string, fn func(*plannedPrompt)) error {
	pp, err := st.prompt(name)
	if err != nil {
		return err
	}
	if pp == nil {
		pp = &plannedPrompt{}
	}
	fn(pp)
	return st.planned.Set(name, pp)
}

// moveLabel records a planned move of label to version v.
func (st plannedState) moveLabel(name, label string, v int) error {
	return st.change(name, func(pp *plannedPrompt) { pp.moveLabel(label, v) })
}

// publish records a planned publish of version v, labelled label unless it
// is empty.
func (st plannedState) publish(name string, v int, label string) error {
	return st.change(name, func(pp *plannedPrompt) {
		pp.Published = append(pp.Published, v)
		if label != "" {
			pp.moveLabel(label, v)
		}
	})
}

func (pp *plannedPrompt) moveLabel(label string, v int) {
	if pp.Labels == nil {
		pp.Labels = map[string]int{}
	}
	pp.Labels[label] = v
}

// read returns a prompt as the backend holds it with the planned changes
// made. The backend's value is not modified.
func (p *plugin) read(ctx context.Context, name string, st plannedState) (*Prompt, error) {
	pr, err := p.backend.Read(ctx, name)
	pp, perr := st.prompt(name)
	if perr != nil {
		return nil, perr
	}
	if pp == nil {
		return pr, err
	}
	switch {
	case err == nil:
		pr = &Prompt{Name: pr.Name, Versions: slices.Clone(pr.Versions), Labels: maps.Clone(pr.Labels), LabelsSource: pr.LabelsSource}
	case errors.Is(err, ErrUnknownPrompt) && len(pp.Published) > 0:
		// An earlier step of this dry-run publishes its first version.
		pr = &Prompt{Name: name, LabelsSource: "the labels a planned publish creates"}
	default:
		return nil, err
	}
	if pr.Labels == nil {
		pr.Labels = map[string]int{}
	}
	for _, v := range pp.Published {
		if i, found := slices.BinarySearch(pr.Versions, v); !found {
			pr.Versions = slices.Insert(pr.Versions, i, v)
		}
	}
	maps.Copy(pr.Labels, pp.Labels)
	return pr, nil
}
