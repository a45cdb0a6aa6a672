package index

import (
	"fmt"
	"slices"
	"strings"

	"github.com/runbookdev/runbook/plugins"
)

// basis is what a plan of rebuild or rollback was made against
// (plugins.PlanResult.Basis): the index's live build and kept builds as the
// plan saw them, the changes planned before it included. A build that an
// earlier step only planned has no version yet (plannedMark); it stands for
// the build in the same place, in version order, when the plan is applied.
type basis struct {
	Name     string   `json:"name"`
	Live     string   `json:"live"`
	Versions []string `json:"versions"`
}

func basisOf(st *State) []byte {
	return plugins.EncodeBasis(basis{Name: st.Name, Live: st.Live, Versions: st.Versions})
}

// decodeBasis reads a saved plan's basis for a change of index name.
func decodeBasis(raw []byte, name string) (*basis, error) {
	b, err := plugins.DecodeBasis[basis](raw, "index")
	if err != nil || b == nil {
		return nil, err
	}
	if b.Name != name {
		return nil, fmt.Errorf("index: the plan was made for index %q, and this step now changes index %q", b.Name, name)
	}
	return b, nil
}

// check refuses st when it no longer matches the basis: another build is
// live, or builds were added or removed. The plugin calls it with the
// index's lock held, before it changes anything.
func (b *basis) check(st *State) error {
	if b == nil {
		return nil
	}
	want := slices.Clone(b.Versions)
	slices.Sort(want)
	got := slices.Clone(st.Versions)
	slices.Sort(got)
	live := b.Live
	if len(got) == len(want) {
		// Planned builds sort last: each stands for the real build in its
		// place.
		for i, v := range want {
			if isPlanned(v) {
				if v == b.Live {
					live = got[i]
				}
				want[i] = got[i]
			}
		}
	}
	if live != st.Live {
		return &movedError{name: st.Name, from: b.Live, to: st.Live}
	}
	if !slices.Equal(want, got) {
		return &movedError{name: st.Name, builds: true, from: strings.Join(b.Versions, ", "), to: strings.Join(st.Versions, ", ")}
	}
	return nil
}

// movedError refuses a change whose index moved since the plan.
type movedError struct {
	name, from, to string
	// builds: the kept builds changed, not the live one.
	builds bool
}

func (e *movedError) Error() string {
	if e.builds {
		return fmt.Sprintf("the builds of index %s changed since the plan (%s, now %s); nothing was changed: make a new plan", e.name, orNone(e.from), orNone(e.to))
	}
	return fmt.Sprintf("index %s moved from %s to %s since the plan; nothing was changed: make a new plan", e.name, liveName(e.from), liveName(e.to))
}

func liveName(v string) string {
	if v == "" {
		return "no live build"
	}
	return buildName(v)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
