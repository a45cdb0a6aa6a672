package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/grpcplugin"
	"github.com/runbookdev/runbook/plugins/sdk"
)

var counterOut = cty.Object(map[string]cty.Type{"name": cty.String, "count": cty.Number, "previous": cty.Number})

type counterOutput struct {
	Name     string `cty:"name"`
	Count    int    `cty:"count"`
	Previous int    `cty:"previous"`
}

// counter is a plugin as an author writes it: a read-only action, a
// mutating one with a Plan handler and one without.
func counter(t *testing.T) (*grpcplugin.Client, *int) {
	count := 0
	p, err := sdk.New(sdk.Plugin{
		Name:    "counter",
		Version: "2.0.0",
		Config:  []*sdk.Attribute{{Name: "step", Type: cty.Number, Default: cty.NumberIntVal(1)}},
		Configure: func(_ context.Context, cfg sdk.Values) error {
			if cfg.Int("step") <= 0 {
				return sdk.ArgError("step", "Invalid step", "step must be positive")
			}
			return nil
		},
		Actions: []*sdk.Action{
			{
				Name: "get", ReadOnly: true,
				Args:   []*sdk.Attribute{{Name: "name", Type: cty.String, Required: true}},
				Output: counterOut,
				Apply: func(_ context.Context, req *sdk.Request) (any, error) {
					return counterOutput{Name: req.Args.String("name"), Count: count, Previous: count}, nil
				},
			},
			{
				Name: "add",
				Args: []*sdk.Attribute{
					{Name: "name", Type: cty.String, Required: true},
					{Name: "times", Type: cty.Number, Default: cty.NumberIntVal(1)},
				},
				Output: counterOut,
				Plan: func(_ context.Context, req *sdk.Request) (*sdk.Plan, error) {
					if !req.Args.Known("times") {
						return &sdk.Plan{
							Changes: []string{fmt.Sprintf("count: %d → (known after apply)", count)},
							Output: cty.ObjectVal(map[string]cty.Value{
								"name": req.Args.Get("name"), "count": cty.UnknownVal(cty.Number), "previous": cty.NumberIntVal(int64(count)),
							}),
						}, nil
					}
					next := count + int(req.Args.Int("times")*req.Config.Int("step"))
					return &sdk.Plan{
						Changes: []string{fmt.Sprintf("count: %d → %d", count, next)},
						Output:  map[string]any{"name": req.Args.String("name"), "count": next, "previous": count},
					}, nil
				},
				Apply: func(ctx context.Context, req *sdk.Request) (any, error) {
					times := req.Args.Int("times")
					if times < 0 {
						return nil, sdk.ArgError("times", "Negative times", "counters only go up")
					}
					prev := count
					for i := range times {
						req.Progress("adding %d of %d", i+1, times)
						count += int(req.Config.Int("step"))
					}
					return map[string]any{"name": req.Args.String("name"), "count": count, "previous": prev}, nil
				},
			},
			{
				Name: "reset", Output: cty.DynamicPseudoType,
				Apply: func(context.Context, *sdk.Request) (any, error) {
					count = 0
					return map[string]any{"reset": true, "by": []string{"test"}}, nil
				},
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return grpcplugin.TestClient(t, p), &count
}

func addArgs(times cty.Value) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("c"), "times": times})
}

func TestPluginThroughTheProtocol(t *testing.T) {
	c, count := counter(t)
	ctx := context.Background()

	info, err := c.Info(ctx)
	if err != nil || info != (grpcplugin.Info{Name: "counter", Version: "2.0.0"}) {
		t.Errorf("info = %+v, %v", info, err)
	}

	err = c.Configure(ctx, cty.ObjectVal(map[string]cty.Value{"step": cty.NumberIntVal(0)}))
	var pe *plugins.Error
	if !errors.As(err, &pe) || !pe.Path.Equals(cty.GetAttrPath("step")) {
		t.Fatalf("configure with step 0: %v", err)
	}
	if err := c.Configure(ctx, cty.ObjectVal(map[string]cty.Value{"step": cty.NumberIntVal(2)})); err != nil {
		t.Fatal(err)
	}

	plan, err := c.Plan(ctx, &plugins.ActionRequest{Action: "add", Args: addArgs(cty.NumberIntVal(3))})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(plan.Changes, "; "); got != "count: 0 → 6" {
		t.Errorf("changes %q", got)
	}
	if got := plan.Output.GetAttr("count"); !got.RawEquals(cty.NumberIntVal(6)) {
		t.Errorf("predicted count %#v", got)
	}

	plan, err = c.Plan(ctx, &plugins.ActionRequest{Action: "add", Args: addArgs(cty.UnknownVal(cty.Number))})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Output.GetAttr("count").IsKnown() || !plan.Output.GetAttr("previous").IsKnown() {
		t.Errorf("predicted output with unknowns: %#v", plan.Output)
	}

	var lines []string
	res, err := c.Apply(ctx, &plugins.ActionRequest{Action: "add", Args: addArgs(cty.NumberIntVal(3)), Progress: func(l string) { lines = append(lines, l) }})
	if err != nil {
		t.Fatal(err)
	}
	if *count != 6 || !res.Output.GetAttr("count").RawEquals(cty.NumberIntVal(6)) {
		t.Errorf("count %d, output %#v", *count, res.Output)
	}
	if got := strings.Join(lines, "; "); got != "adding 1 of 3; adding 2 of 3; adding 3 of 3" {
		t.Errorf("progress %q", got)
	}

	res, err = c.Apply(ctx, &plugins.ActionRequest{Action: "get", Args: cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("c")})})
	if err != nil || !res.Output.GetAttr("previous").RawEquals(cty.NumberIntVal(6)) {
		t.Errorf("get (a struct output): %#v, %v", res, err)
	}

	_, err = c.Apply(ctx, &plugins.ActionRequest{Action: "add", Args: addArgs(cty.NumberIntVal(-1))})
	if !errors.As(err, &pe) || !pe.Path.Equals(cty.GetAttrPath("times")) || pe.Detail != "counters only go up" {
		t.Errorf("negative times: %v", err)
	}

	res, err = c.Apply(ctx, &plugins.ActionRequest{Action: "reset", Args: cty.EmptyObjectVal})
	if err != nil {
		t.Fatal(err)
	}
	want := cty.ObjectVal(map[string]cty.Value{"reset": cty.True, "by": cty.TupleVal([]cty.Value{cty.StringVal("test")})})
	if !res.Output.RawEquals(want) {
		t.Errorf("dynamic output %#v, want %#v", res.Output, want)
	}

	// Without a Plan handler: no prediction, output unknown.
	plan, err = c.Plan(ctx, &plugins.ActionRequest{Action: "reset", Args: cty.EmptyObjectVal})
	if err != nil || len(plan.Changes) != 0 || plan.Output.IsKnown() {
		t.Errorf("default plan: %#v, %v", plan, err)
	}
}

func TestNewRefusesBadPlugins(t *testing.T) {
	apply := func(context.Context, *sdk.Request) (any, error) { return nil, nil }
	for name, p := range map[string]sdk.Plugin{
		"no apply":     {Actions: []*sdk.Action{{Name: "a", Output: cty.String}}},
		"duplicate":    {Actions: []*sdk.Action{{Name: "a", Output: cty.String, Apply: apply}, {Name: "a", Output: cty.String, Apply: apply}}},
		"bad name":     {Actions: []*sdk.Action{{Name: "Bad", Output: cty.String, Apply: apply}}},
		"no output":    {Actions: []*sdk.Action{{Name: "a", Apply: apply}}},
		"bad argument": {Actions: []*sdk.Action{{Name: "a", Output: cty.String, Apply: apply, Args: []*sdk.Attribute{{Name: "x"}}}}},
	} {
		if _, err := sdk.New(p); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestValues(t *testing.T) {
	v := sdk.NewValues(cty.ObjectVal(map[string]cty.Value{
		"s":   cty.StringVal("x"),
		"n":   cty.NumberFloatVal(2.5),
		"b":   cty.True,
		"l":   cty.ListVal([]cty.Value{cty.StringVal("a"), cty.StringVal("b")}),
		"m":   cty.MapVal(map[string]cty.Value{"k": cty.StringVal("v")}),
		"nul": cty.NullVal(cty.String),
		"unk": cty.UnknownVal(cty.String),
	}))
	if v.String("s") != "x" || v.Float("n") != 2.5 || v.Int("n") != 2 || !v.Bool("b") || v.Number("n").Cmp(big.NewFloat(2.5)) != 0 {
		t.Error("primitive readers")
	}
	if got := v.Strings("l"); len(got) != 2 || got[1] != "b" {
		t.Errorf("Strings = %q", got)
	}
	if got := v.StringMap("m"); got["k"] != "v" {
		t.Errorf("StringMap = %v", got)
	}
	if !v.Null("nul") || !v.Null("absent") || v.Null("unk") || v.Known("unk") || !v.Known("s") {
		t.Error("Null/Known")
	}
	if v.String("unk") != "" || v.String("n") != "" || v.Int("s") != 0 || v.Strings("s") != nil {
		t.Error("readers of the wrong type or unknown must return zero values")
	}
	whole := sdk.NewValues(cty.UnknownVal(cty.Object(map[string]cty.Type{"s": cty.String})))
	if whole.Known("s") || whole.String("s") != "" {
		t.Error("wholly unknown object")
	}
	var into struct {
		S string `cty:"s"`
	}
	if err := sdk.NewValues(cty.ObjectVal(map[string]cty.Value{"s": cty.StringVal("y")})).Decode(&into); err != nil || into.S != "y" {
		t.Errorf("Decode: %v, %+v", err, into)
	}
}

func TestToValue(t *testing.T) {
	obj := cty.Object(map[string]cty.Type{"a": cty.Number, "b": cty.List(cty.String)})
	for name, tc := range map[string]struct {
		in   any
		ty   cty.Type
		want cty.Value
	}{
		"nil": {nil, cty.String, cty.NullVal(cty.String)},
		"cty": {cty.StringVal("x"), cty.String, cty.StringVal("x")},
		"map": {map[string]any{"a": 1, "b": []string{"x"}}, obj, cty.ObjectVal(map[string]cty.Value{"a": cty.NumberIntVal(1), "b": cty.ListVal([]cty.Value{cty.StringVal("x")})})},
		"json": {struct {
			A int      `json:"a"`
			B []string `json:"b"`
		}{2, nil}, obj, cty.ObjectVal(map[string]cty.Value{"a": cty.NumberIntVal(2), "b": cty.NullVal(cty.List(cty.String))})},
		"dynamic": {[]any{"x", 1}, cty.DynamicPseudoType, cty.TupleVal([]cty.Value{cty.StringVal("x"), cty.NumberIntVal(1)})},
	} {
		got, err := sdk.ToValue(tc.in, tc.ty)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !got.RawEquals(tc.want) {
			t.Errorf("%s: got %#v, want %#v", name, got, tc.want)
		}
	}
	if _, err := sdk.ToValue(map[string]any{"a": "not a number"}, obj); err == nil {
		t.Error("a string for a number: no error")
	}
}

// A predicting plugin written with the SDK: a light that plans from, and
// reads, the state its earlier plans left, through the protocol.
func TestPredictedStateThroughTheProtocol(t *testing.T) {
	live := "off"
	light := cty.Object(map[string]cty.Type{"state": cty.String})
	p, err := sdk.New(sdk.Plugin{
		Name: "light", Version: "1.0.0", Predicts: true,
		Actions: []*sdk.Action{
			{
				Name: "status", ReadOnly: true, Output: light,
				Apply: func(_ context.Context, req *sdk.Request) (any, error) {
					state := live
					if _, err := req.Planned.Get("light", &state); err != nil {
						return nil, err
					}
					return map[string]any{"state": state}, nil
				},
			},
			{
				Name: "toggle", Output: light,
				Apply: func(context.Context, *sdk.Request) (any, error) { return nil, errors.New("not in this test") },
				Plan: func(_ context.Context, req *sdk.Request) (*sdk.Plan, error) {
					from := live
					if _, err := req.Planned.Get("light", &from); err != nil {
						return nil, err
					}
					to := map[string]string{"on": "off", "off": "on"}[from]
					if err := req.Planned.Set("light", to); err != nil {
						return nil, err
					}
					return &sdk.Plan{Changes: []string{from + " → " + to}, Output: map[string]any{"state": to}}, nil
				},
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := grpcplugin.TestClient(t, p)
	ctx := context.Background()
	s, err := c.Schema(ctx)
	if err != nil || !s.Predicts {
		t.Fatalf("schema predicts = %v, %v", s != nil && s.Predicts, err)
	}

	first, err := c.Plan(ctx, &plugins.ActionRequest{Action: "toggle", Args: cty.EmptyObjectVal})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(first.Changes, ";"); got != "off → on" || len(first.Planned) == 0 {
		t.Fatalf("first plan: %q, planned %q", got, first.Planned)
	}
	second, err := c.Plan(ctx, &plugins.ActionRequest{Action: "toggle", Args: cty.EmptyObjectVal, Planned: first.Planned})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(second.Changes, ";"); got != "on → off" {
		t.Errorf("second plan, from the first one's state: %q", got)
	}

	for _, tt := range []struct {
		planned   []byte
		state     string
		predicted bool
	}{
		{nil, "off", false},
		{first.Planned, "on", true},
		{second.Planned, "off", true},
	} {
		res, err := c.Apply(ctx, &plugins.ActionRequest{Action: "status", Args: cty.EmptyObjectVal, Planned: tt.planned})
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Output.GetAttr("state").AsString(); got != tt.state || res.Predicted != tt.predicted {
			t.Errorf("status with planned %q: %s, predicted %v; want %s, %v", tt.planned, got, res.Predicted, tt.state, tt.predicted)
		}
	}
	if _, err := c.Apply(ctx, &plugins.ActionRequest{Action: "status", Args: cty.EmptyObjectVal, Planned: []byte("{not json")}); err == nil {
		t.Error("a broken planned state was accepted")
	}
}

// A plugin that checks plans: its plan's basis comes back, encoded, when
// the plan is applied, and its Apply refuses when the object moved.
func TestSavedPlanBasisThroughTheProtocol(t *testing.T) {
	live := "off"
	light := cty.Object(map[string]cty.Type{"state": cty.String})
	type basis struct {
		State string `json:"state"`
	}
	p, err := sdk.New(sdk.Plugin{
		Name: "light", Version: "1.0.0", ChecksPlans: true,
		Actions: []*sdk.Action{{
			Name: "toggle", Output: light,
			Plan: func(context.Context, *sdk.Request) (*sdk.Plan, error) {
				return &sdk.Plan{Changes: []string{live + " → toggled"}, Basis: basis{live}}, nil
			},
			Apply: func(_ context.Context, req *sdk.Request) (any, error) {
				var b basis
				if ok, err := req.DecodeBasis(&b); err != nil {
					return nil, err
				} else if ok && b.State != live {
					return nil, fmt.Errorf("the light moved %s → %s since the plan", b.State, live)
				}
				live = map[string]string{"on": "off", "off": "on"}[live]
				return map[string]any{"state": live}, nil
			},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := grpcplugin.TestClient(t, p)
	ctx := context.Background()
	if s, err := c.Schema(ctx); err != nil || !s.ChecksPlans {
		t.Fatalf("schema checks plans = %v, %v", s != nil && s.ChecksPlans, err)
	}
	plan, err := c.Plan(ctx, &plugins.ActionRequest{Action: "toggle", Args: cty.EmptyObjectVal})
	if err != nil || string(plan.Basis) != `{"state":"off"}` {
		t.Fatalf("plan basis = %q, %v", plan.Basis, err)
	}
	live = "on"
	_, err = c.Apply(ctx, &plugins.ActionRequest{Action: "toggle", Args: cty.EmptyObjectVal, Basis: plan.Basis})
	if err == nil || !strings.Contains(err.Error(), "the light moved off → on since the plan") || live != "on" {
		t.Errorf("apply after a move = %v (light %s)", err, live)
	}
	live = "off"
	if _, err := c.Apply(ctx, &plugins.ActionRequest{Action: "toggle", Args: cty.EmptyObjectVal, Basis: plan.Basis}); err != nil || live != "on" {
		t.Errorf("apply unchanged = %v (light %s)", err, live)
	}
}
