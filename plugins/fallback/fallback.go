package fallback

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/sdk"
)

// The variants activate and deactivate switch to by default (docs/builtins.md, "fallback.activate").
const (
	primaryVariant  = "primary"
	fallbackVariant = "fallback"
)

// Backend is where routes live. The file backend keeps them in a flagd flag
// file; a service backend keeps each route's flag object under its own key
// and switches it with compare-and-swap. Route and variant errors are
// *RouteNotFoundError, *VariantNotFoundError and *NotModelRouteError, which
// the plugin attributes to the action's arguments.
type Backend interface {
	// Route reads one route.
	Route(ctx context.Context, name string) (*Route, error)
	// Switch makes variant the route's active one and records the change,
	// atomically with respect to every other writer. When variant is
	// already active it writes and records nothing.
	Switch(ctx context.Context, name, variant string, c Change) (*Switched, error)
	Close() error
}

// Change says who switches a route and why, for the history.
type Change struct {
	Action   string // "activate" or "deactivate"
	RunID    string
	Operator string
	// Check, when set, is called by Switch with the route as it is just
	// before the switch, atomically with it (under the flag file's lock;
	// before the etcd transaction that compares the key's revision): an
	// error stops the switch with nothing written. A saved plan's basis
	// check uses it.
	Check func(*Route) error
}

// Switched is the outcome of Backend.Switch.
type Switched struct {
	Before, After *Route
	// Changed is false when the variant was already active.
	Changed bool
}

// New returns a fallback plugin; it needs Configure before any action.
func New() plugins.Plugin { return compiled.New() }

type plugin struct {
	backend Backend
}

func (p *plugin) configure(_ context.Context, cfg sdk.Values) error {
	config, _ := cfg.Value().UnmarkDeep()
	if !config.IsWhollyKnown() {
		return fmt.Errorf("fallback: configuration must be known")
	}
	backend := "file"
	if v := plugins.Attr(config, "backend"); !v.IsNull() {
		backend = v.AsString()
	}
	switch backend {
	case "file":
		path := plugins.Attr(config, "path")
		if path.IsNull() || strings.TrimSpace(path.AsString()) == "" {
			return &plugins.Error{Path: cty.GetAttrPath("path"), Summary: "Missing flag file", Detail: `The file backend needs the flagd flag file: set path = "routes.flagd.json" in the plugin "fallback" block.`}
		}
		abs, err := filepath.Abs(path.AsString())
		if err != nil {
			return &plugins.Error{Path: cty.GetAttrPath("path"), Summary: "Invalid flag file path", Detail: err.Error()}
		}
		p.setBackend(NewFileBackend(abs))
		return nil
	case "etcd":
		cfg, err := etcdConfig(config)
		if err != nil {
			return err
		}
		p.setBackend(NewEtcdBackend(cfg))
		return nil
	default:
		return &plugins.Error{Path: cty.GetAttrPath("backend"), Summary: "Unknown fallback backend", Detail: fmt.Sprintf(`%q is not a backend of the fallback plugin; it has "file" (a flagd flag file) and "etcd" (one key per route).`, backend)}
	}
}

func (p *plugin) setBackend(b Backend) {
	if p.backend != nil {
		_ = p.backend.Close()
	}
	p.backend = b
}

func (p *plugin) close() error {
	if p.backend == nil {
		return nil
	}
	err := p.backend.Close()
	p.backend = nil
	return err
}

// A target is the variant a mutating action switches to, given its
// arguments, and whether it is known yet.
type target func(args cty.Value) (string, bool)

// activateTarget is activate's variant: its target argument, "fallback"
// when empty.
func activateTarget(args cty.Value) (string, bool) {
	t := plugins.Attr(args, "target")
	if !t.IsKnown() {
		return "", false
	}
	if t.IsNull() || t.AsString() == "" {
		return fallbackVariant, true
	}
	return t.AsString(), true
}

// primaryTarget is deactivate's variant: always the primary.
func primaryTarget(cty.Value) (string, bool) { return primaryVariant, true }

// plannedRoute reads the route a plan is about, as the changes planned so
// far leave it, and its name; nil when the route is not known yet.
func (p *plugin) plannedRoute(ctx context.Context, req *sdk.Request) (*Route, string, error) {
	args, _ := req.Args.Value().UnmarkDeep()
	route := plugins.Attr(args, "route")
	if !args.IsKnown() || !route.IsKnown() {
		return nil, "", nil
	}
	name, err := routeName(route)
	if err != nil {
		return nil, "", err
	}
	if err := p.configured(req.Action); err != nil {
		return nil, "", err
	}
	r, err := p.route(ctx, name, plannedState{req.Planned})
	if err != nil {
		return nil, "", p.attribute(req.Action, err)
	}
	return r, name, nil
}

// planStatus reads the route as the planned changes leave it.
func (p *plugin) planStatus(ctx context.Context, req *sdk.Request) (*sdk.Plan, error) {
	r, _, err := p.plannedRoute(ctx, req)
	if r == nil {
		return nil, err
	}
	return &sdk.Plan{Output: output(r)}, nil
}

// planSwitch reads the route and predicts the switch to the variant to
// names exactly; it changes nothing. An unknown route or variant is an
// error here already.
func (p *plugin) planSwitch(to target) func(context.Context, *sdk.Request) (*sdk.Plan, error) {
	return func(ctx context.Context, req *sdk.Request) (*sdk.Plan, error) {
		r, name, err := p.plannedRoute(ctx, req)
		if err != nil {
			return nil, err
		}
		if r == nil {
			return &sdk.Plan{Changes: []string{"(route known after apply)"}}, nil
		}
		args, _ := req.Args.Value().UnmarkDeep()
		variant, known := to(args)
		if !known {
			return &sdk.Plan{Changes: []string{fmt.Sprintf("%s: %s → (target known after apply)", name, describeActive(r))}}, nil
		}
		if err := r.checkVariant(variant); err != nil {
			return nil, p.attribute(req.Action, err)
		}
		after := r.with(variant)
		plan := &sdk.Plan{Output: output(after), Changes: []string{describeSwitch(r, after, r.Active != variant)}, Basis: basisOf(r)}
		if note := disabledNote(r); note != "" {
			plan.Changes = append(plan.Changes, note)
		}
		if r.Active == variant {
			// Nothing moves: what is read after it is still predicted.
			req.Planned.Keep()
		} else if err := (plannedState{req.Planned}).switchTo(name, variant); err != nil {
			return nil, err
		}
		return plan, nil
	}
}

// configured fails an action of a plugin that has no backend yet.
func (p *plugin) configured(action string) error {
	if p.backend == nil {
		return fmt.Errorf("fallback.%s: the plugin is not configured", action)
	}
	return nil
}

// appliedRoute is the route an action is carried out on: its arguments
// must be wholly known.
func (p *plugin) appliedRoute(req *sdk.Request) (string, error) {
	args, _ := req.Args.Value().UnmarkDeep()
	if !args.IsWhollyKnown() || args.IsNull() {
		return "", fmt.Errorf("fallback.%s: arguments must be known to run", req.Action)
	}
	name, err := routeName(plugins.Attr(args, "route"))
	if err != nil {
		return "", err
	}
	return name, p.configured(req.Action)
}

// applyStatus reads the route; in a dry-run, as the planned changes leave
// it.
func (p *plugin) applyStatus(ctx context.Context, req *sdk.Request) (any, error) {
	name, err := p.appliedRoute(req)
	if err != nil {
		return nil, err
	}
	r, err := p.route(ctx, name, plannedState{req.Planned})
	if err != nil {
		return nil, p.attribute(req.Action, err)
	}
	return output(r), nil
}

// applySwitch switches the route to the variant to names, against the
// saved plan's basis when there is one.
func (p *plugin) applySwitch(to target) func(context.Context, *sdk.Request) (any, error) {
	return func(ctx context.Context, req *sdk.Request) (any, error) {
		name, err := p.appliedRoute(req)
		if err != nil {
			return nil, err
		}
		args, _ := req.Args.Value().UnmarkDeep()
		variant, _ := to(args)
		c := Change{Action: req.Action, RunID: req.RunID, Operator: req.Operator}
		b, err := decodeBasis(req.Basis, name)
		if err != nil {
			return nil, fmt.Errorf("fallback.%s: %w", req.Action, err)
		}
		if b != nil {
			c.Check = b.check
		}
		sw, err := p.backend.Switch(ctx, name, variant, c)
		if err != nil {
			return nil, p.attribute(req.Action, p.whoMoved(ctx, err))
		}
		line := describeSwitch(sw.Before, sw.After, sw.Changed)
		if !sw.Changed {
			line += "; nothing written"
		}
		req.Progress("%s", line)
		if note := disabledNote(sw.After); note != "" {
			req.Progress("%s", note)
		}
		return output(sw.After), nil
	}
}

// routeName checks the route argument.
func routeName(v cty.Value) (string, error) {
	if v.IsNull() || v.AsString() == "" {
		return "", &plugins.Error{Path: cty.GetAttrPath("route"), Summary: "Empty route", Detail: "Name the route: the flag's key in the flag file."}
	}
	return v.AsString(), nil
}

// attribute turns the backend's route and variant errors into plugin errors
// that point at the argument at fault; others get the action as context.
func (p *plugin) attribute(action string, err error) error {
	var (
		noRoute   *RouteNotFoundError
		noVariant *VariantNotFoundError
		notModel  *NotModelRouteError
	)
	switch {
	case errors.As(err, &noRoute):
		return &plugins.Error{Path: cty.GetAttrPath("route"), Summary: "Unknown route", Detail: err.Error()}
	case errors.As(err, &noVariant):
		path := cty.GetAttrPath("target")
		if action == "deactivate" {
			path = cty.GetAttrPath("route")
		}
		return &plugins.Error{Path: path, Summary: "Unknown variant", Detail: err.Error()}
	case errors.As(err, &notModel):
		return &plugins.Error{Path: cty.GetAttrPath("route"), Summary: "Not a model route", Detail: err.Error()}
	}
	return fmt.Errorf("fallback.%s: %w", action, err)
}

// output is a route as the actions' output. active and model are empty
// strings, not null, when the flag has no default variant (or one it does
// not define): runbooks interpolate them in messages, where a null fails.
func output(r *Route) cty.Value {
	model, _ := r.Model()
	variants := cty.MapValEmpty(cty.String)
	if len(r.Variants) > 0 {
		vs := make(map[string]cty.Value, len(r.Variants))
		for k, v := range r.Variants {
			vs[k] = cty.StringVal(v)
		}
		variants = cty.MapVal(vs)
	}
	return cty.ObjectVal(map[string]cty.Value{
		"route":    cty.StringVal(r.Name),
		"active":   cty.StringVal(r.Active),
		"model":    cty.StringVal(model),
		"variants": variants,
	})
}

// describeActive names a route's active variant for a change line.
func describeActive(r *Route) string {
	if r.Active == "" {
		return "(no default variant)"
	}
	return r.Active
}

// describeSwitch is the change line: "chat: primary → fallback
// (anthropic/claude-sonnet-4)", or that the variant is already active.
func describeSwitch(before, after *Route, changed bool) string {
	model, _ := after.Model()
	if !changed {
		return fmt.Sprintf("%s: %s already active (%s)", after.Name, after.Active, model)
	}
	return fmt.Sprintf("%s: %s → %s (%s)", after.Name, describeActive(before), after.Active, model)
}

// disabledNote warns that flagd ignores a disabled flag, whatever it serves.
func disabledNote(r *Route) string {
	if r.State != "DISABLED" {
		return ""
	}
	return fmt.Sprintf("note: flag %s is DISABLED: flagd serves none of its variants until it is ENABLED", r.Name)
}
