// Package sdktest is the test helper of plugin authors: it serves a plugin
// written with plugins/sdk in process, over the real plugin protocol
// (go-plugin's gRPC test connection, its debug logs kept quiet), and drives
// it with Go values as a runbook would:
//
//	func TestBlock(t *testing.T) {
//		p := sdktest.New(t, litellm())
//		p.MustConfigure(sdktest.Args{"url": srv.URL}) // defaults applied
//
//		plan := p.MustPlan("block_model", sdktest.Args{"model": "gpt-4.1"})
//		plan.WantChanges("block openai/gpt-4.1 (3 deployments)")
//
//		p.MustApply("block_model", sdktest.Args{"model": "gpt-4.1"}).
//			Want(map[string]any{"blocked": true, "deployments": 3})
//
//		_, err := p.Apply("block_model", sdktest.Args{"model": ""})
//		sdktest.WantArgError(t, err, "model")
//	}
//
// Configuration and arguments are Go maps: each value converts strictly to
// its attribute's type (sdk.ToValue), an attribute left out gets its
// default, and a missing required one or a name the schema does not have
// fails the test, as runbook validate would refuse the runbook; so does a
// value that fails the attribute's validators. Unknown
// stands for a value known only after earlier steps run (Plan sees it). An
// action called before Configure runs after a Configure with every
// default, as runbook always configures a plugin first.
//
// Outputs come back as cty values, as Go values (Result.Value), and are
// compared with Want, which converts its argument to the output type first
// (so a missing attribute in the expectation is a test error, not a
// silent pass) and prints both sides when they differ.
package sdktest

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/grpcplugin"
	"github.com/runbookdev/runbook/plugins/sdk"
)

// Args are configuration attributes or action arguments by name.
type Args = map[string]any

type unknown struct{}

func (unknown) String() string { return "(known after apply)" }

// Unknown, as a value in Args or in what Want and WantOutput expect, is a
// value known only once earlier steps have run.
var Unknown any = unknown{}

// Plugin is a plugin served for one test.
type Plugin struct {
	t          testing.TB
	client     *grpcplugin.Client
	schema     *plugins.Schema
	configured bool
}

// New serves def in process for the test (it ends with the test). A
// description that sdk.New refuses fails the test.
func New(t testing.TB, def sdk.Plugin) *Plugin {
	t.Helper()
	impl, err := sdk.New(def)
	if err != nil {
		t.Fatalf("sdktest: plugin %q: %v", def.Name, err)
	}
	c := grpcplugin.TestClient(t, impl)
	s, err := c.Schema(context.Background())
	if err != nil {
		t.Fatalf("sdktest: plugin %q: schema: %v", def.Name, err)
	}
	return &Plugin{t: t, client: c, schema: s}
}

// Schema is the schema the plugin reports through the protocol.
func (p *Plugin) Schema() *plugins.Schema { return p.schema }

// Client is the protocol client, for what the helpers do not cover.
func (p *Plugin) Client() *grpcplugin.Client { return p.client }

// Configure configures the plugin with config, defaults applied, and
// returns the plugin's error.
func (p *Plugin) Configure(config Args) error {
	p.t.Helper()
	v := p.object("configuration", "config", p.schema.Config, config)
	p.configured = true
	return p.client.Configure(context.Background(), v)
}

// MustConfigure is Configure, failing the test on an error.
func (p *Plugin) MustConfigure(config Args) {
	p.t.Helper()
	if err := p.Configure(config); err != nil {
		p.t.Fatalf("sdktest: configure: %v", err)
	}
}

// Option sets what an action call gets besides its arguments.
type Option func(*call)

// call is one action call: the context it is made under and its request.
type call struct {
	ctx context.Context
	req *plugins.ActionRequest
}

// WithPlanned hands the action the planned state of an earlier plan
// (Plan.Planned), as a dry-run does for a plugin that predicts.
func WithPlanned(state []byte) Option {
	return func(c *call) { c.req.Planned = state }
}

// WithBasis hands a mutating Apply the basis of a saved plan (Plan.Basis).
func WithBasis(basis []byte) Option {
	return func(c *call) { c.req.Basis = basis }
}

// WithRun sets the run's ID and operator.
func WithRun(runID, operator string) Option {
	return func(c *call) { c.req.RunID, c.req.Operator = runID, operator }
}

// WithContext makes the call under ctx, as a traced run makes it under the
// action's attempt: the span context in ctx crosses the protocol, and the
// handler's ctx has it as its remote parent (docs/plugins.md#tracing). A
// deadline or cancellation of ctx bounds the call.
func WithContext(ctx context.Context) Option {
	return func(c *call) { c.ctx = ctx }
}

func (p *Plugin) request(action string, args Args, opts []Option) (*plugins.Action, *call) {
	p.t.Helper()
	a := p.schema.Actions[action]
	if a == nil {
		p.t.Fatalf("sdktest: plugin has no action %q (it has %s)", action, strings.Join(p.schema.ActionNames(), ", "))
	}
	if !p.configured {
		p.MustConfigure(nil)
	}
	c := &call{ctx: context.Background(), req: &plugins.ActionRequest{Action: action, Args: p.object("argument", "args", a.Args, args)}}
	for _, o := range opts {
		o(c)
	}
	return a, c
}

// Result is what an Apply returned.
type Result struct {
	t       testing.TB
	outType cty.Type
	Output  cty.Value
	// Predicted is set when a read-only action answered from planned state.
	Predicted bool
	// Progress holds the lines the action reported while it ran.
	Progress []string
}

// Apply calls the action's Apply with args, defaults applied.
func (p *Plugin) Apply(action string, args Args, opts ...Option) (*Result, error) {
	p.t.Helper()
	a, c := p.request(action, args, opts)
	res := &Result{t: p.t, outType: a.Output}
	c.req.Progress = func(line string) { res.Progress = append(res.Progress, line) }
	out, err := p.client.Apply(c.ctx, c.req)
	if err != nil {
		return nil, err
	}
	res.Output, res.Predicted = out.Output, out.Predicted
	return res, nil
}

// MustApply is Apply, failing the test on an error.
func (p *Plugin) MustApply(action string, args Args, opts ...Option) *Result {
	p.t.Helper()
	res, err := p.Apply(action, args, opts...)
	if err != nil {
		p.t.Fatalf("sdktest: apply %s: %v", action, err)
	}
	return res
}

// Plan is what a Plan returned.
type Plan struct {
	t       testing.TB
	outType cty.Type
	Changes []string
	// Output is the predicted output, unknown where the plugin cannot know.
	Output cty.Value
	// Planned is the plugin's planned state, for WithPlanned.
	Planned []byte
	// Basis is what the plan was made against, for WithBasis.
	Basis []byte
}

// Plan calls the action's Plan with args, defaults applied; a value in
// args may be Unknown.
func (p *Plugin) Plan(action string, args Args, opts ...Option) (*Plan, error) {
	p.t.Helper()
	a, c := p.request(action, args, opts)
	res, err := p.client.Plan(c.ctx, c.req)
	if err != nil {
		return nil, err
	}
	return &Plan{t: p.t, outType: a.Output, Changes: res.Changes, Output: res.Output, Planned: res.Planned, Basis: res.Basis}, nil
}

// MustPlan is Plan, failing the test on an error.
func (p *Plugin) MustPlan(action string, args Args, opts ...Option) *Plan {
	p.t.Helper()
	res, err := p.Plan(action, args, opts...)
	if err != nil {
		p.t.Fatalf("sdktest: plan %s: %v", action, err)
	}
	return res
}

// WantChanges reports an error unless the plan's lines are exactly lines.
func (pl *Plan) WantChanges(lines ...string) {
	pl.t.Helper()
	if !slices.Equal(pl.Changes, lines) {
		pl.t.Errorf("plan changes:\n  %s\nwant:\n  %s", strings.Join(quoteAll(pl.Changes), "\n  "), strings.Join(quoteAll(lines), "\n  "))
	}
}

// WantOutput reports an error unless the predicted output is want (see
// Result.Want); Unknown in want stands for an unknown part.
func (pl *Plan) WantOutput(want any) {
	pl.t.Helper()
	wantOutput(pl.t, "predicted output", pl.Output, pl.outType, want)
}

// Value is the output as Go values (see Value).
func (r *Result) Value() any { return Value(r.Output) }

// Want reports an error unless the output is want: a Go value (maps,
// slices, primitives, structs) or a cty.Value, converted to the output's
// type first, as the SDK converts what a handler returns.
func (r *Result) Want(want any) {
	r.t.Helper()
	wantOutput(r.t, "output", r.Output, r.outType, want)
}

func wantOutput(t testing.TB, what string, got cty.Value, ty cty.Type, want any) {
	t.Helper()
	w, err := withUnknowns(want)
	var wv cty.Value
	if err == nil {
		wv, err = sdk.ToValueAt(w, ty, "want")
	}
	if err != nil {
		t.Errorf("sdktest: the expected %s: %v", what, err)
		return
	}
	if g, w := Render(got), Render(wv); g != w {
		t.Errorf("%s:\n  %s\nwant:\n  %s", what, g, w)
	}
}

// WantArgError reports an error unless err is about argument (or
// configuration attribute) name, and returns it.
func WantArgError(t testing.TB, err error, name string) *plugins.Error {
	t.Helper()
	var pe *plugins.Error
	if err == nil {
		t.Errorf("no error; want one about %q", name)
		return nil
	}
	if !errors.As(err, &pe) || !pe.Path.Equals(cty.GetAttrPath(name)) {
		t.Errorf("error %q is not about %q", err, name)
		return nil
	}
	return pe
}

// object is the object value of attrs from vals, defaults applied; what
// names the attributes in failures ("argument"), root their paths.
func (p *Plugin) object(what, root string, attrs []*plugins.Attribute, vals Args) cty.Value {
	p.t.Helper()
	known := map[string]bool{}
	names := make([]string, 0, len(attrs))
	for _, a := range attrs {
		known[a.Name] = true
		names = append(names, a.Name)
	}
	for name := range vals {
		if !known[name] {
			p.t.Fatalf("sdktest: no %s %q (the schema has %s)", what, name, orNone(names))
		}
	}
	out := make(map[string]cty.Value, len(attrs))
	for _, a := range attrs {
		v, ok := vals[a.Name]
		switch {
		case !ok && a.Required:
			p.t.Fatalf("sdktest: %s %q is required", what, a.Name)
		case !ok && a.Default != cty.NilVal:
			out[a.Name] = a.Default
		case !ok:
			out[a.Name] = cty.NullVal(a.Type)
		case v == Unknown:
			out[a.Name] = cty.UnknownVal(a.Type)
		default:
			w, err := withUnknowns(v)
			var cv cty.Value
			if err == nil {
				cv, err = sdk.ToValueAt(w, a.Type, root+"."+a.Name)
			}
			if err != nil {
				p.t.Fatalf("sdktest: %v", err)
			}
			for _, e := range a.Validate(cv) {
				p.t.Fatalf("sdktest: %s.%s: %s (runbook validate refuses it; the plugin never sees it)", root, a.Name, e.Detail)
			}
			out[a.Name] = cv
		}
	}
	return cty.ObjectVal(out)
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// withUnknowns is v as a cty value of its own types when it holds Unknown
// in a map or slice of any, else v as it is.
func withUnknowns(v any) (any, error) {
	if !holdsUnknown(v) {
		return v, nil
	}
	return toCty(v)
}

func holdsUnknown(v any) bool {
	switch v := v.(type) {
	case unknown:
		return true
	case map[string]any:
		for _, e := range v {
			if holdsUnknown(e) {
				return true
			}
		}
	case []any:
		return slices.ContainsFunc(v, holdsUnknown)
	}
	return false
}

func toCty(v any) (cty.Value, error) {
	switch v := v.(type) {
	case unknown:
		return cty.DynamicVal, nil
	case map[string]any:
		attrs := make(map[string]cty.Value, len(v))
		for k, e := range v {
			cv, err := toCty(e)
			if err != nil {
				return cty.NilVal, err
			}
			attrs[k] = cv
		}
		return cty.ObjectVal(attrs), nil
	case []any:
		elems := make([]cty.Value, len(v))
		for i, e := range v {
			cv, err := toCty(e)
			if err != nil {
				return cty.NilVal, err
			}
			elems[i] = cv
		}
		return cty.TupleVal(elems), nil
	}
	return sdk.ToValueAt(v, cty.DynamicPseudoType, "value")
}

// Value converts v to Go values: an object or map to map[string]any, a
// list, set or tuple to []any, a string, a bool, a number to int64 when it
// is a whole number that fits and else to float64, null to nil, and an
// unknown value to Unknown.
func Value(v cty.Value) any {
	if v == cty.NilVal {
		return nil
	}
	v, _ = v.UnmarkDeep()
	switch {
	case !v.IsKnown():
		return Unknown
	case v.IsNull():
		return nil
	}
	ty := v.Type()
	switch {
	case ty == cty.String:
		return v.AsString()
	case ty == cty.Bool:
		return v.True()
	case ty == cty.Number:
		f := v.AsBigFloat()
		if i, acc := f.Int64(); acc == big.Exact {
			return i
		}
		x, _ := f.Float64()
		return x
	case ty.IsObjectType() || ty.IsMapType():
		out := map[string]any{}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			out[k.AsString()] = Value(e)
		}
		return out
	case ty.IsListType() || ty.IsSetType() || ty.IsTupleType():
		out := []any{}
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			out = append(out, Value(e))
		}
		return out
	}
	return fmt.Sprintf("%#v", v)
}

// Render writes v in the runbook language's notation, keys sorted and
// unknown parts as (known after apply): what Want compares and prints.
func Render(v cty.Value) string {
	var b strings.Builder
	render(&b, v)
	return b.String()
}

func render(b *strings.Builder, v cty.Value) {
	v, _ = v.UnmarkDeep()
	switch {
	case v == cty.NilVal:
		b.WriteString("null")
		return
	case !v.IsKnown():
		b.WriteString("(known after apply)")
		return
	case v.IsNull():
		b.WriteString("null")
		return
	}
	ty := v.Type()
	switch {
	case ty == cty.String:
		fmt.Fprintf(b, "%q", v.AsString())
	case ty == cty.Bool:
		fmt.Fprint(b, v.True())
	case ty == cty.Number:
		b.WriteString(v.AsBigFloat().Text('g', -1))
	case ty.IsObjectType() || ty.IsMapType():
		elems := map[string]cty.Value{}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			elems[k.AsString()] = e
		}
		keys := make([]string, 0, len(elems))
		for k := range elems {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteString("{")
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(b, "%s = ", k)
			render(b, elems[k])
		}
		b.WriteString("}")
	case ty.IsListType() || ty.IsSetType() || ty.IsTupleType():
		b.WriteString("[")
		i := 0
		for it := v.ElementIterator(); it.Next(); i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			_, e := it.Element()
			render(b, e)
		}
		b.WriteString("]")
	default:
		fmt.Fprintf(b, "%#v", v)
	}
}

func quoteAll(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = fmt.Sprintf("%q", l)
	}
	return out
}
