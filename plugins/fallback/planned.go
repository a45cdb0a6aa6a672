package fallback

import (
	"context"

	"github.com/runbookdev/runbook/plugins/sdk"
)

// plannedState is the fallback plugin's predicted state in a dry-run: the
// variant each route that earlier steps planned to switch will have
// active, one sdk.Planned key per route. The host hands it back with every
// later request of the run (plugins.ActionRequest.Planned), so a
// deactivate after a planned activate plans the switch back, and
// fallback.status reads the route as the real run will find it.
type plannedState struct{ planned *sdk.Planned }

// switchTo records a planned switch of route to variant.
func (st plannedState) switchTo(route, variant string) error {
	return st.planned.Set(route, variant)
}

// route reads a route with the planned switches made (the SDK marks the
// answer predicted when one touched it). The backend's value is not
// modified.
func (p *plugin) route(ctx context.Context, name string, st plannedState) (*Route, error) {
	r, err := p.backend.Route(ctx, name)
	if err != nil {
		return nil, err
	}
	var variant string
	ok, err := st.planned.Get(name, &variant)
	if err != nil || !ok {
		return r, err
	}
	return r.with(variant), nil
}
