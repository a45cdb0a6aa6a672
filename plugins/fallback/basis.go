package fallback

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/filestate"
)

// basis is what a plan of activate or deactivate was made against
// (plugins.PlanResult.Basis): the route's active variant and its variants
// as the plan saw them, the switches planned before it included. Applying
// a saved plan hands it back, and the switch is refused when the route
// moved since.
type basis struct {
	Route    string            `json:"route"`
	Active   string            `json:"active"`
	Variants map[string]string `json:"variants"`
}

func basisOf(r *Route) basis {
	return basis{Route: r.Name, Active: r.Active, Variants: r.Variants}
}

// decodeBasis reads a saved plan's basis for a switch of route name.
func decodeBasis(raw []byte, name string) (*basis, error) {
	b, err := plugins.DecodeBasis[basis](raw, "fallback")
	if err != nil || b == nil {
		return nil, err
	}
	if b.Route != name {
		return nil, fmt.Errorf("the plan was made for route %q, and this step now switches route %q", b.Route, name)
	}
	return b, nil
}

// check refuses r when it no longer matches the basis. The backends call
// it with the route as they read it for the switch: under the flag file's
// lock, or before the etcd transaction that compares the key's revision.
func (b *basis) check(r *Route) error {
	if b == nil {
		return nil
	}
	if r.Active != b.Active {
		return &movedError{route: r.Name, from: b.Active, to: r.Active}
	}
	if !maps.Equal(r.Variants, b.Variants) {
		return &movedError{route: r.Name, variants: true}
	}
	return nil
}

// movedError refuses a switch whose route moved since the plan.
type movedError struct {
	route, from, to string
	// variants: the route's variants (their models) changed, not its
	// active one.
	variants bool
	// by says who moved it ("by run … of …"), when the history says.
	by string
}

func (e *movedError) Error() string {
	msg := fmt.Sprintf("route %s moved %s → %s since the plan", e.route, orNone(e.from), orNone(e.to))
	if e.variants {
		msg = fmt.Sprintf("the variants of route %s changed since the plan", e.route)
	}
	if e.by != "" {
		msg += ", " + e.by
	}
	return msg + "; nothing was changed: make a new plan"
}

func orNone(active string) string {
	if active == "" {
		return "(no default variant)"
	}
	return active
}

// historian is a backend that records who switched what.
type historian interface {
	// lastSwitch is the last recorded switch of route, if any.
	lastSwitch(ctx context.Context, route string) (filestate.HistoryEntry, bool)
}

// whoMoved adds to a movedError who made the move, from the backend's
// history: its last switch of the route, when that switched to what the
// route serves now.
func (p *plugin) whoMoved(ctx context.Context, err error) error {
	var me *movedError
	h, ok := p.backend.(historian)
	if !ok || !errors.As(err, &me) || me.variants {
		return err
	}
	if e, found := h.lastSwitch(ctx, me.route); found && fmt.Sprint(e.To) == me.to {
		me.by = e.Who()
	} else {
		me.by = "not by a runbook run (the history has no record of it)"
	}
	return err
}

// lastSwitch implements historian from FILE.history.jsonl.
func (b *FileBackend) lastSwitch(_ context.Context, route string) (filestate.HistoryEntry, bool) {
	return filestate.LastHistory(b.historyPath(), func(e filestate.HistoryEntry) bool { return e.Subject == route })
}

// lastSwitch implements historian from the route's history keys.
func (b *EtcdBackend) lastSwitch(ctx context.Context, route string) (filestate.HistoryEntry, bool) {
	cli, err := b.client(ctx)
	if err != nil {
		return filestate.HistoryEntry{}, false
	}
	ctx, cancel := context.WithTimeout(ctx, etcdCallTimeout)
	defer cancel()
	resp, err := cli.Get(ctx, b.historyPrefix(route), clientv3.WithLastKey()...)
	if err != nil || len(resp.Kvs) == 0 {
		return filestate.HistoryEntry{}, false
	}
	var e etcdHistoryEntry
	if json.Unmarshal(resp.Kvs[0].Value, &e) != nil {
		return filestate.HistoryEntry{}, false
	}
	return e.HistoryEntry, true
}
