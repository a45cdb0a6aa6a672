package prompt

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"

	"github.com/runbookdev/runbook/plugins"
)

// plannedState is the prompt plugin's predicted state in a dry-run: what
// the changes planned so far would do to the registry, on top of what the
// backend holds. The host hands it back with every later request of the
// run (plugins.ActionRequest.Planned), so a second rollback of the same
// label plans from the version the first one left, and prompt.status reads
// the label as the real run will find it.
type plannedState struct {
	Prompts map[string]*plannedPrompt `json:"prompts,omitempty"`
}

// plannedPrompt is what planned changes did to one prompt.
type plannedPrompt struct {
	// Labels maps each moved label to the version it will serve.
	Labels map[string]int `json:"labels,omitempty"`
	// Published are the versions planned publishes create.
	Published []int `json:"published,omitempty"`
}

// decodePlanned reads the state a request carries (none before the first
// plan of a dry-run, and in a real run).
func decodePlanned(b []byte) (*plannedState, error) {
	st := &plannedState{}
	if err := plugins.DecodePlanned("prompt", b, st); err != nil {
		return nil, err
	}
	return st, nil
}

func (st *plannedState) encode() []byte {
	b, _ := json.Marshal(st) // maps of strings and ints always encode
	return b
}

func (st *plannedState) prompt(name string) *plannedPrompt {
	if st.Prompts == nil {
		st.Prompts = map[string]*plannedPrompt{}
	}
	pp := st.Prompts[name]
	if pp == nil {
		pp = &plannedPrompt{}
		st.Prompts[name] = pp
	}
	return pp
}

// moveLabel records a planned move of label to version v.
func (st *plannedState) moveLabel(name, label string, v int) {
	pp := st.prompt(name)
	if pp.Labels == nil {
		pp.Labels = map[string]int{}
	}
	pp.Labels[label] = v
}

// publish records a planned new version v, labelled label when not empty.
func (st *plannedState) publish(name string, v int, label string) {
	pp := st.prompt(name)
	pp.Published = append(pp.Published, v)
	if label != "" {
		st.moveLabel(name, label, v)
	}
}

// read returns a prompt as the backend holds it with the planned changes
// made, and whether planned changes touched it. The backend's value is not
// modified.
func (p *plugin) read(ctx context.Context, name string, st *plannedState) (*Prompt, bool, error) {
	pr, err := p.backend.Read(ctx, name)
	pp := st.Prompts[name]
	if pp == nil {
		return pr, false, err
	}
	switch {
	case err == nil:
		pr = &Prompt{Name: pr.Name, Versions: slices.Clone(pr.Versions), Labels: maps.Clone(pr.Labels), LabelsSource: pr.LabelsSource}
	case errors.Is(err, ErrUnknownPrompt) && len(pp.Published) > 0:
		// An earlier step of this dry-run publishes its first version.
		pr = &Prompt{Name: name, LabelsSource: "the labels a planned publish creates"}
	default:
		return nil, false, err
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
	return pr, true, nil
}
