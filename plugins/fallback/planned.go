package fallback

import (
	"context"
	"encoding/json"

	"github.com/runbookdev/runbook/plugins"
)

// plannedState is the fallback plugin's predicted state in a dry-run: the
// variant each route that earlier steps planned to switch will have active.
// The host hands it back with every later request of the run
// (plugins.ActionRequest.Planned), so a deactivate after a planned activate
// plans the switch back, and fallback.status reads the route as the real
// run will find it.
type plannedState struct {
	Routes map[string]string `json:"routes,omitempty"`
}

func decodePlanned(b []byte) (*plannedState, error) {
	st := &plannedState{}
	if err := plugins.DecodePlanned("fallback", b, st); err != nil {
		return nil, err
	}
	return st, nil
}

func (st *plannedState) encode() []byte {
	b, _ := json.Marshal(st) // a map of strings always encodes
	return b
}

func (st *plannedState) switchTo(route, variant string) {
	if st.Routes == nil {
		st.Routes = map[string]string{}
	}
	st.Routes[route] = variant
}

// route reads a route with the planned switches made, and whether one
// touched it. The backend's value is not modified.
func (p *plugin) route(ctx context.Context, name string, st *plannedState) (*Route, bool, error) {
	r, err := p.backend.Route(ctx, name)
	if err != nil {
		return nil, false, err
	}
	variant, ok := st.Routes[name]
	if !ok {
		return r, false, nil
	}
	return r.with(variant), true, nil
}
