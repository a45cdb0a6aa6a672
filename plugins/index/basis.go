package index

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/filestate"
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

func basisOf(st *State) basis {
	return basis{Name: st.Name, Live: st.Live, Versions: st.Versions}
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
	// by says who made the live build live ("by run … of …"), from the
	// backend's history.
	by string
}

func (e *movedError) Error() string {
	if e.builds {
		return fmt.Sprintf("the builds of index %s changed since the plan (%s, now %s); nothing was changed: make a new plan", e.name, orNone(e.from), orNone(e.to))
	}
	msg := fmt.Sprintf("index %s moved from %s to %s since the plan", e.name, liveName(e.from), liveName(e.to))
	if e.by != "" {
		msg += ", " + e.by
	}
	return msg + "; nothing was changed: make a new plan"
}

// historian is a backend that records who changed an index.
type historian interface {
	// lastChange returns the last recorded change of index name, nil
	// when there is none; an error when the history cannot be read.
	lastChange(ctx context.Context, name string) (*filestate.HistoryEntry, error)
	// history names where the history is kept, for messages.
	history() string
}

// attribute adds to a movedError of the live build who made the move, from
// the backend's history: the index's last recorded change, when it made
// today's live build live. A move made by hand leaves no record, and is
// said to be one.
func (p *plugin) attribute(ctx context.Context, err error) error {
	var me *movedError
	h, ok := p.backend.(historian)
	if !ok || !errors.As(err, &me) || me.builds || me.by != "" {
		return err
	}
	e, herr := h.lastChange(ctx, me.name)
	switch {
	case herr != nil:
		// Who moved it is unknown; what moved is said all the same.
	case e != nil && me.to != "" && fmt.Sprint(e.To) == me.to:
		me.by = e.Who()
	default:
		me.by = "not by a runbook run (" + h.history() + " has no record of it)"
	}
	return err
}

// lastChange implements historian from the index's history.jsonl.
func (b *fileBackend) lastChange(_ context.Context, name string) (*filestate.HistoryEntry, error) {
	e, ok := filestate.LastHistory(filepath.Join(b.indexDir(name), historyFile), func(filestate.HistoryEntry) bool { return true })
	if !ok {
		return nil, nil
	}
	return &e, nil
}

func (b *fileBackend) history() string { return historyFile }

// lastChange implements historian from the schema's history table.
func (b *postgresBackend) lastChange(ctx context.Context, name string) (*filestate.HistoryEntry, error) {
	var last *filestate.HistoryEntry
	err := b.read(ctx, func(tx pgx.Tx) error {
		if has, err := b.hasMeta(ctx, tx); err != nil || !has {
			return err
		}
		var e filestate.HistoryEntry
		var to *string
		err := tx.QueryRow(ctx, `SELECT time, action, to_version, operator, run_id FROM `+b.qualified(pgHistoryTable)+`
			WHERE name = $1 ORDER BY id DESC LIMIT 1`, name).Scan(&e.Time, &e.Action, &to, &e.Operator, &e.RunID)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if to != nil {
			e.To = *to
		}
		last = &e
		return nil
	})
	return last, err
}

func (b *postgresBackend) history() string { return b.display(pgHistoryTable) }

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
