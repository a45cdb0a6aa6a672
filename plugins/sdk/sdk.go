// Package sdk is what a third party imports to write a runbook plugin: it
// owns the author-facing description of a plugin (its configuration and
// actions, each with a plain Go handler) and turns it into a plugins.Plugin
// served over the runbook plugin protocol. A whole plugin is one main.go:
//
//	func main() {
//		sdk.Serve(sdk.Plugin{
//			Name:    "echo",
//			Version: "1.0.0",
//			Actions: []*sdk.Action{{
//				Name:        "say",
//				Description: "Return the message it is given.",
//				ReadOnly:    true,
//				Args:        []*sdk.Attribute{{Name: "message", Type: cty.String, Required: true}},
//				Output:      cty.Object(map[string]cty.Type{"message": cty.String}),
//				Apply: func(ctx context.Context, req *sdk.Request) (any, error) {
//					return map[string]any{"message": req.Args.String("message")}, nil
//				},
//			}},
//		})
//	}
//
// Test it with package sdktest, which serves it in process and drives it
// with Go maps. Build it as runbook-plugin-NAME and declare it in a runbook directory with
// plugin "NAME" { source = "PATH", sha256 = "…" }.
//
// Arguments arrive decoded and checked against the action's schema, with
// defaults applied. What Apply returns is held to the action's Output type
// strictly (see ToValue): a missing or unexpected attribute, or a value of
// another type, fails the action with the attribute's path, and so does
// nil, nil for a typed output. ArgError points at an argument or a
// configuration attribute in the runbook's source; naming one the schema
// does not have is an error (docs/plugins.md, "Outputs and errors").
// Checks of a value that need no code (one of, a pattern, a URL's scheme,
// a range, a length, a duration) are Attribute.Validators: runbook
// validate makes them without running the plugin (see Validator). Read-only actions are really run in dry-runs; a
// mutating action is only planned there, with its Plan handler when it has
// one ("no prediction, output unknown" when it does not).
//
// A dry-run that changes an object and then reads it, or changes it twice,
// is exact only if the plugin predicts: set Plugin.Predicts, record each
// planned change with req.Planned.Set in Plan handlers, and read
// req.Planned first in Plan and read-only Apply handlers (see Planned, and
// docs/plugins.md, "Predicted state"). A plugin that does not is still
// safe: what is read after its planned changes is shown as stale and the
// checks on it as pending. A planned change that leaves every object as it
// is (a switch to what is already active) calls req.Planned.Keep, so that
// what is read after it is still predicted.
//
// When the run is traced, the ctx of every handler has the span of the
// action's attempt as its remote parent (trace.SpanContextFromContext):
// spans started from ctx with the OpenTelemetry API join the run's trace
// (docs/plugins.md, "Tracing").
//
// The plugins compiled into runbook (package builtin) are declared on the
// same action table: Compile describes one once, for `runbook validate`,
// and its New makes the instances runbook calls in process, each with its
// own state. Plugin.Close releases what an instance holds.
package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/grpcplugin"
)

// Attribute describes an argument or a configuration attribute: its name,
// cty type, whether it is required, its default, and whether it is
// sensitive or names a path.
type Attribute = plugins.Attribute

// ReadOnlyRule makes a mutating action read-only for some argument values.
type ReadOnlyRule = plugins.ReadOnlyRule

// Plugin describes a plugin.
type Plugin struct {
	// Name is the plugin's name, the PLUGIN in `action "PLUGIN.ACTION"`.
	Name    string
	Version string
	// Config lists the attributes the plugin's `plugin` block accepts.
	Config []*Attribute
	// Configure, when set, checks the configuration once before any action
	// runs; every handler also gets it in Request.Config.
	Configure func(ctx context.Context, config Values) error
	Actions   []*Action
	// Predicts declares that the plugin's dry-runs are exact across steps:
	// its Plan handlers record what they change in Request.Planned, and its
	// Plan and read-only Apply handlers read from it first. Without it,
	// runbook treats whatever is read after one of its planned changes as
	// stale, and the checks on it as pending.
	Predicts bool
	// ChecksPlans declares that a saved plan can be applied through the
	// plugin: the Plan handlers of its mutating actions set Plan.Basis (the
	// object and the version of it they planned against), and their Apply
	// handlers, given Request.Basis, return an error naming what moved,
	// changing nothing, when the object no longer matches it (see
	// docs/plugins.md, "Saved plans").
	ChecksPlans bool
	// Close, when set, releases what the plugin holds (idle connections,
	// files) when runbook is done with it.
	Close func() error
}

// Action describes one action and the code that carries it out.
type Action struct {
	// Name is the ACTION in `action "PLUGIN.ACTION"`.
	Name        string
	Description string
	// ReadOnly actions change nothing: dry-runs run them for real and
	// `expect { within = … }` re-runs them while polling.
	ReadOnly     bool
	ReadOnlyWhen *ReadOnlyRule
	Args         []*Attribute
	// Output is the type of what Apply returns; cty.DynamicPseudoType when
	// it cannot be known in advance.
	Output cty.Type
	// Apply carries the action out. It returns a cty.Value or any Go value
	// that converts to Output (see ToValue: a map, a slice, a struct by its
	// `cty:"name"` tags or else its JSON encoding), and an error; use
	// ArgError to point at an argument.
	Apply func(ctx context.Context, req *Request) (any, error)
	// Plan, optional, predicts what Apply would change without changing
	// anything. Arguments may be unknown (see Values.Known) when they depend
	// on steps that have not run.
	Plan func(ctx context.Context, req *Request) (*Plan, error)
}

// Plan is what a Plan handler predicts.
type Plan struct {
	// Changes are human-readable lines ("production: v7 → v6").
	Changes []string
	// Output is the predicted output, as Apply returns it; nil means
	// unknown. A cty.Value may hold unknown parts.
	Output any
	// Basis is what the plan was made against, with Plugin.ChecksPlans:
	// any value that encodes as JSON. It comes back, encoded, as
	// Request.Basis when the plan is applied.
	Basis any
}

// Request is one call of an action.
type Request struct {
	Action string
	// Args holds the arguments, defaults applied.
	Args Values
	// Config holds the plugin block's attributes.
	Config Values
	// RunID and Operator identify the run, for plugins that keep a history.
	RunID    string
	Operator string
	// Planned is the plugin's predicted state in a dry-run (see Planned and
	// Plugin.Predicts); empty in a real run.
	Planned *Planned
	// Basis is set only when a run applies a saved plan, on the Apply of
	// a mutating action: the JSON of the Plan.Basis its Plan handler
	// returned. Decode it with DecodeBasis.
	Basis []byte

	progress func(string)
}

// DecodeBasis decodes Request.Basis into v (a pointer); ok is false, and v
// untouched, when the run does not apply a saved plan.
func (r *Request) DecodeBasis(v any) (ok bool, err error) {
	if r.Basis == nil {
		return false, nil
	}
	if err := json.Unmarshal(r.Basis, v); err != nil {
		return false, fmt.Errorf("the saved plan's basis cannot be read: %w", err)
	}
	return true, nil
}

// Progress reports a human-readable line while a long action runs. It may
// be called from any goroutine; lines after the handler returned are dropped.
func (r *Request) Progress(format string, args ...any) {
	if r.progress != nil {
		r.progress(fmt.Sprintf(format, args...))
	}
}

// ArgError is an error about argument (or configuration attribute) name:
// runbook shows it at the attribute's place in the runbook's source. From
// an Apply or Plan handler, name is an argument of the action, or else an
// attribute of the plugin's configuration; from Configure, a configuration
// attribute. A name that the schema does not have fails the action with an
// error saying so: the mistake is the plugin's.
func ArgError(name, summary, detail string) error {
	return &plugins.Error{Path: cty.GetAttrPath(name), Summary: summary, Detail: detail}
}

// ConfigError is an error about configuration attribute name, from any
// handler: runbook shows it at the attribute's place in the plugin block,
// even when the action has an argument of the same name.
func ConfigError(name, summary, detail string) error {
	return &plugins.Error{Path: cty.GetAttrPath(name), Summary: summary, Detail: detail, Config: true}
}

// placeErrors checks that the errors of a handler that name an attribute
// name one the schema has: an argument (args, nil for Configure) or a
// configuration attribute, which it marks as such. An error naming neither
// becomes one that says so, without a path.
func (p *plugin) placeErrors(err error, action string, args []*Attribute) error {
	if err == nil {
		return nil
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		errs := joined.Unwrap()
		out := make([]error, len(errs))
		for i, e := range errs {
			out[i] = p.placeErrors(e, action, args)
		}
		return errors.Join(out...)
	}
	var pe *plugins.Error
	if !errors.As(err, &pe) || len(pe.Path) == 0 {
		return err
	}
	step, ok := pe.Path[0].(cty.GetAttrStep)
	if !ok {
		return err
	}
	has := func(attrs []*Attribute) bool {
		for _, a := range attrs {
			if a.Name == step.Name {
				return true
			}
		}
		return false
	}
	switch {
	case !pe.Config && has(args):
		return err
	case has(p.schema.Config):
		pe.Config = true
		return err
	}
	what := fmt.Sprintf("an argument of %s nor a configuration attribute of plugin %q", action, p.def.Name)
	if args == nil {
		what = fmt.Sprintf("a configuration attribute of plugin %q", p.def.Name)
	} else if pe.Config {
		what = fmt.Sprintf("a configuration attribute of plugin %q", p.def.Name)
	}
	// The message only: the error must not carry a path the host would
	// place.
	return fmt.Errorf("the plugin reported an error about %q, which is not %s (a bug in the plugin): %s", step.Name, what, err.Error())
}

// Serve serves the plugin; a plugin's main calls it and nothing else. A
// plugin description that does not hold together is reported on stderr
// and the process exits 1.
func Serve(p Plugin) {
	impl, err := New(p)
	if err != nil {
		fmt.Fprintf(os.Stderr, "runbook plugin %q: %s\n", p.Name, err)
		os.Exit(1)
	}
	grpcplugin.Serve(impl)
}

// New returns the plugin as a plugins.Plugin without serving it: for tests,
// which drive it with package sdktest, or in process.
func New(p Plugin) (plugins.Plugin, error) {
	s, handlers, err := describe(p)
	if err != nil {
		return nil, err
	}
	return &plugin{def: p, schema: s, handlers: handlers, config: Values{cty.NullVal(s.ConfigType())}}, nil
}

// Compiled is a plugin compiled into the runbook binary (a built-in),
// declared on the same action table as an external one and called in
// process: its schema is described once, for `runbook validate` to read
// without making the plugin, and every instance New makes reports that
// very schema.
type Compiled struct {
	// Schema is the plugin's schema.
	Schema *plugins.Schema
	define func() Plugin
}

// Compile describes the plugin that define returns. New calls define
// again for every instance, so that each holds its own state (its
// handlers are bound to it). A definition that does not describe a valid
// plugin panics: it is part of the binary, and the built-ins' tests catch
// it.
func Compile(define func() Plugin) *Compiled {
	def := define()
	s, _, err := describe(def)
	if err != nil {
		panic(fmt.Sprintf("plugin %q: %s", def.Name, err))
	}
	return &Compiled{Schema: s, define: define}
}

// New returns a new instance of the plugin, ready to be configured.
func (c *Compiled) New() plugins.Plugin {
	def := c.define()
	_, handlers, err := describe(def)
	if err != nil {
		panic(fmt.Sprintf("plugin %q: %s", def.Name, err))
	}
	return &plugin{def: def, schema: c.Schema, handlers: handlers, config: Values{cty.NullVal(c.Schema.ConfigType())}}
}

func describe(p Plugin) (*plugins.Schema, map[string]*Action, error) {
	s := &plugins.Schema{Config: p.Config, Actions: make(map[string]*plugins.Action, len(p.Actions)), Predicts: p.Predicts, ChecksPlans: p.ChecksPlans}
	handlers := make(map[string]*Action, len(p.Actions))
	for _, a := range p.Actions {
		if a == nil {
			return nil, nil, fmt.Errorf("nil action")
		}
		if a.Apply == nil {
			return nil, nil, fmt.Errorf("action %q has no Apply handler", a.Name)
		}
		if _, dup := handlers[a.Name]; dup {
			return nil, nil, fmt.Errorf("action %q declared twice", a.Name)
		}
		handlers[a.Name] = a
		s.Actions[a.Name] = &plugins.Action{
			Name:         a.Name,
			Description:  a.Description,
			ReadOnly:     a.ReadOnly,
			ReadOnlyWhen: a.ReadOnlyWhen,
			Args:         a.Args,
			Output:       a.Output,
		}
	}
	if err := s.Validate(); err != nil {
		return nil, nil, err
	}
	return s, handlers, nil
}

type plugin struct {
	def      Plugin
	schema   *plugins.Schema
	handlers map[string]*Action

	mu     sync.RWMutex
	config Values
}

var (
	_ plugins.Plugin      = (*plugin)(nil)
	_ grpcplugin.Informer = (*plugin)(nil)
)

func (p *plugin) PluginInfo() grpcplugin.Info {
	return grpcplugin.Info{Name: p.def.Name, Version: p.def.Version}
}

func (p *plugin) Schema(context.Context) (*plugins.Schema, error) { return p.schema, nil }

func (p *plugin) Configure(ctx context.Context, config cty.Value) error {
	cfg := Values{config}
	if p.def.Configure != nil {
		if err := p.def.Configure(ctx, cfg); err != nil {
			return p.placeErrors(err, "", nil)
		}
	}
	p.mu.Lock()
	p.config = cfg
	p.mu.Unlock()
	return nil
}

func (p *plugin) request(req *plugins.ActionRequest) (*Action, *Request, error) {
	a := p.handlers[req.Action]
	if a == nil {
		return nil, nil, fmt.Errorf("unknown action %q", req.Action)
	}
	planned, err := newPlanned(req.Planned)
	if err != nil {
		return nil, nil, err
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	return a, &Request{
		Action:   req.Action,
		Args:     Values{req.Args},
		Config:   p.config,
		RunID:    req.RunID,
		Operator: req.Operator,
		Planned:  planned,
		Basis:    req.Basis,
		progress: req.Progress,
	}, nil
}

func (p *plugin) Plan(ctx context.Context, req *plugins.ActionRequest) (*plugins.PlanResult, error) {
	a, r, err := p.request(req)
	if err != nil {
		return nil, err
	}
	if a.Plan == nil {
		return &plugins.PlanResult{Output: cty.UnknownVal(a.Output)}, nil
	}
	plan, err := a.Plan(ctx, r)
	if err != nil {
		return nil, p.placeErrors(err, a.Name, nonNil(a.Args))
	}
	res := &plugins.PlanResult{Output: cty.UnknownVal(a.Output)}
	if plan == nil {
		return res, nil
	}
	res.Changes = plan.Changes
	res.Planned = r.Planned.encode()
	if plan.Basis != nil {
		if res.Basis, err = json.Marshal(plan.Basis); err != nil {
			return nil, fmt.Errorf("%s: basis: %w", a.Name, err)
		}
	}
	if plan.Output != nil {
		if res.Output, err = ToValue(plan.Output, a.Output); err != nil {
			return nil, fmt.Errorf("%s predicted an output that does not match its type: %w", a.Name, err)
		}
	}
	return res, nil
}

func (p *plugin) Apply(ctx context.Context, req *plugins.ActionRequest) (*plugins.ApplyResult, error) {
	a, r, err := p.request(req)
	if err != nil {
		return nil, err
	}
	out, err := a.Apply(ctx, r)
	if err != nil {
		return nil, p.placeErrors(err, a.Name, nonNil(a.Args))
	}
	if out == nil && a.Output != cty.DynamicPseudoType {
		return nil, fmt.Errorf("%s returned no output (nil, nil); its output must be %s", a.Name, friendly(a.Output))
	}
	v, err := ToValue(out, a.Output)
	if err != nil {
		return nil, fmt.Errorf("%s returned an output that does not match its type: %w", a.Name, err)
	}
	r.Planned.mu.Lock()
	predicted := r.Planned.used
	r.Planned.mu.Unlock()
	return &plugins.ApplyResult{Output: v, Predicted: predicted}, nil
}

func (p *plugin) Close() error {
	if p.def.Close != nil {
		return p.def.Close()
	}
	return nil
}

// nonNil is args, or an empty list: nil means "no action" to placeErrors.
func nonNil(args []*Attribute) []*Attribute {
	if args == nil {
		return []*Attribute{}
	}
	return args
}
