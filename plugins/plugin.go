package plugins

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/zclconf/go-cty/cty"
)

// Plugin is the transport-agnostic interface the engine drives. The gRPC
// client of an external plugin, a built-in plugin served in process, and the
// mocks of `runbook test` all implement it.
type Plugin interface {
	// Schema reports the plugin's configuration and actions.
	Schema(ctx context.Context) (*Schema, error)
	// Configure receives the plugin block's attributes, as an object of the
	// schema's config type, once before any Plan or Apply.
	Configure(ctx context.Context, config cty.Value) error
	// Plan predicts what an action would change without changing anything.
	// Arguments may hold unknown values; so may the predicted output.
	Plan(ctx context.Context, req *ActionRequest) (*PlanResult, error)
	// Apply carries the action out and returns its output.
	Apply(ctx context.Context, req *ActionRequest) (*ApplyResult, error)
	// Close ends the plugin (its process, for an external one).
	Close() error
}

// ActionRequest names an action and carries its arguments, an object of the
// action's argument type with defaults applied.
type ActionRequest struct {
	Action string
	Args   cty.Value
	// RunID and Operator are recorded by plugins that keep a history.
	RunID    string
	Operator string
	// Progress, when set, receives human-readable lines while a long action runs.
	Progress func(line string)
	// Planned is, in a dry-run, the PlanResult.Planned of the plugin's latest
	// plan in this run: the state its earlier planned changes would leave.
	// A plugin whose Schema.Predicts is set answers Plan and read-only Apply
	// from it, as if those changes were made. The host never reads it; it is
	// nil in a real run and before the first plan.
	Planned []byte
	// Basis is set only when a run applies a saved plan, on the mutating
	// Apply of a step the plan planned: the PlanResult.Basis of that plan.
	// A plugin whose Schema.ChecksPlans is set refuses to act, with an
	// error naming what moved, when the object no longer matches it, and
	// checks and changes in one atomic operation where its backend allows.
	Basis []byte
}

// PlanResult is what an action would do.
type PlanResult struct {
	// Changes are human-readable lines ("production: v7 → v6").
	Changes []string
	// Output is the predicted output; unknown where it cannot be known.
	Output cty.Value
	// Planned is the plugin's predicted state once this change is made
	// (ActionRequest.Planned plus this change), in a form of its own
	// choosing. A plan that changes nothing returns nil, and the state stays
	// as it was; a plan with Changes and no Planned is a change the plugin
	// could not predict, and the host no longer trusts what is read after
	// it.
	Planned []byte
	// Basis is what the plan was made against: the object it changes and
	// the version of it the plan saw (after the changes in
	// ActionRequest.Planned), in a form of the plugin's own choosing. A
	// saved plan keeps it and hands it back as ActionRequest.Basis when it
	// is applied. Nil when the plugin does not check plans.
	Basis []byte
}

// ApplyResult is what an action did.
type ApplyResult struct {
	Output cty.Value
	// Predicted is set when the output of a read-only action was computed
	// from ActionRequest.Planned: what the real run will read, not what the
	// system holds now.
	Predicted bool
}

// Error is an error a plugin attributes to one argument (or configuration
// attribute), so the host can point at its source range.
type Error struct {
	Path    cty.Path
	Summary string
	Detail  string
	// Config says that Path names an attribute of the plugin block, not an
	// argument of the action, in an error from Plan or Apply. (An error
	// from Configure is always about the configuration.)
	Config bool
}

func (e *Error) Error() string {
	if e.Detail == "" {
		return e.Summary
	}
	return e.Summary + ": " + e.Detail
}

// Builtin is a plugin compiled into the runbook binary.
type Builtin struct {
	Name string
	// Schema is the plugin's schema, available without starting the plugin,
	// so `validate` never launches a process for a built-in.
	Schema *Schema
	// New creates an instance of the plugin, to be served over the plugin
	// protocol. Nil while a plugin exists only as a schema.
	New func() Plugin
}

// Registry holds the built-in plugins by name.
type Registry struct {
	mu       sync.RWMutex
	builtins map[string]*Builtin
}

// NewRegistry returns a registry holding the given built-in plugins. It
// refuses duplicate names and schemas that do not validate.
func NewRegistry(builtins ...*Builtin) (*Registry, error) {
	r := &Registry{builtins: make(map[string]*Builtin, len(builtins))}
	for _, b := range builtins {
		if err := r.Register(b); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Register adds a built-in plugin.
func (r *Registry) Register(b *Builtin) error {
	if b == nil || !validName(b.Name) {
		return fmt.Errorf("register plugin: invalid name")
	}
	if b.Schema == nil {
		return fmt.Errorf("register plugin %q: no schema", b.Name)
	}
	if err := b.Schema.Validate(); err != nil {
		return fmt.Errorf("register plugin %q: %w", b.Name, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.builtins[b.Name]; dup {
		return fmt.Errorf("register plugin %q: already registered", b.Name)
	}
	r.builtins[b.Name] = b
	return nil
}

// Builtin returns the built-in plugin named name, or nil.
func (r *Registry) Builtin(name string) *Builtin {
	if r == nil {
		return nil
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.builtins[name]
}

// Names returns the names of the registered plugins, sorted.
func (r *Registry) Names() []string {
	if r == nil {
		return nil
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Sorted(maps.Keys(r.builtins))
}
