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

func TestToValueIsStrict(t *testing.T) {
	blocked := cty.Object(map[string]cty.Type{"blocked": cty.Bool, "count": cty.Number})
	nested := cty.Object(map[string]cty.Type{"items": cty.List(blocked), "labels": cty.Map(cty.String)})
	type tagged struct {
		Blocked bool `cty:"blocked"`
	}
	for name, tc := range map[string]struct {
		in   any
		ty   cty.Type
		want string // the error; "" for none
	}{
		"exact":              {map[string]any{"blocked": true, "count": 3}, blocked, ""},
		"missing":            {map[string]any{"count": 3}, blocked, "output.blocked: attribute is missing"},
		"extra":              {map[string]any{"blocked": true, "count": 3, "by": "x"}, blocked, "output.by: unexpected attribute: the type has only blocked, count"},
		"string for number":  {map[string]any{"blocked": true, "count": "3"}, blocked, "output.count: a number is required, got a string"},
		"string for bool":    {map[string]any{"blocked": "true", "count": 3}, blocked, "output.blocked: a bool is required, got a string"},
		"number for string":  {3, cty.String, "output: a string is required, got a number"},
		"several":            {map[string]any{"by": 1}, blocked, "output.blocked: attribute is missing; output.count: attribute is missing; output.by: unexpected attribute"},
		"nested":             {map[string]any{"items": []any{map[string]any{"blocked": true, "count": 1}, map[string]any{"blocked": 1, "count": 1}}, "labels": map[string]any{}}, nested, "output.items[1].blocked: a bool is required, got a number"},
		"map keys are free":  {map[string]any{"items": []any{}, "labels": map[string]any{"a": "x", "b": "y"}}, nested, ""},
		"map element":        {map[string]any{"items": []any{}, "labels": map[string]any{"env": 1}}, nested, `output.labels["env"]: a string is required, got a number`},
		"null attribute":     {map[string]any{"blocked": nil, "count": 3}, blocked, ""},
		"object for list":    {map[string]any{"items": map[string]any{}, "labels": nil}, nested, "output.items: a list is required, got an object"},
		"dynamic takes all":  {map[string]any{"anything": []any{1, "x"}}, cty.DynamicPseudoType, ""},
		"cty value checked":  {cty.ObjectVal(map[string]cty.Value{"blocked": cty.True}), blocked, "output.count: attribute is missing"},
		"cty unknown passes": {cty.ObjectVal(map[string]cty.Value{"blocked": cty.UnknownVal(cty.Bool), "count": cty.NumberIntVal(1)}), blocked, ""},
		"tagged struct":      {tagged{true}, blocked, "output.count: attribute is missing"},
		"json struct": {struct {
			Blocked bool   `json:"blocked"`
			Count   string `json:"count"`
		}{true, "3"}, blocked, "output.count: a number is required, got a string"},
	} {
		_, err := sdk.ToValue(tc.in, tc.ty)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want %q", name, err, tc.want)
		}
	}
}

// What a handler returns is held to its output type, through the
// protocol; so are the attributes its errors name.
func TestHandlersAreHeldToTheSchema(t *testing.T) {
	out := cty.Object(map[string]cty.Type{"blocked": cty.Bool})
	var ret any
	var retErr error
	p, err := sdk.New(sdk.Plugin{
		Name:   "litellm",
		Config: []*sdk.Attribute{{Name: "api_key", Type: cty.String, Sensitive: true}},
		Configure: func(context.Context, sdk.Values) error {
			return retErr
		},
		Actions: []*sdk.Action{{
			Name:   "block_model",
			Args:   []*sdk.Attribute{{Name: "model", Type: cty.String, Required: true}},
			Output: out,
			Apply:  func(context.Context, *sdk.Request) (any, error) { return ret, retErr },
			Plan: func(context.Context, *sdk.Request) (*sdk.Plan, error) {
				return &sdk.Plan{Output: ret}, retErr
			},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := grpcplugin.TestClient(t, p)
	ctx := context.Background()
	args := cty.ObjectVal(map[string]cty.Value{"model": cty.StringVal("gpt")})
	apply := func(r any, e error) error {
		ret, retErr = r, e
		_, err := c.Apply(ctx, &plugins.ActionRequest{Action: "block_model", Args: args})
		return err
	}
	for name, tc := range map[string]struct {
		ret      any
		err      error
		want     string
		path     string
		isConfig bool
	}{
		"nil, nil":                {nil, nil, "block_model returned no output (nil, nil); its output must be an object", "", false},
		"missing":                 {map[string]any{}, nil, "block_model returned an output that does not match its type: output.blocked: attribute is missing", "", false},
		"argument error":          {nil, sdk.ArgError("model", "No such model", "gpt"), "No such model: gpt", "model", false},
		"config error":            {nil, sdk.ArgError("api_key", "Rejected key", "401"), "Rejected key: 401", "api_key", true},
		"unknown name":            {nil, sdk.ArgError("modle", "No such model", ""), `the plugin reported an error about "modle", which is not an argument of block_model nor a configuration attribute of plugin "litellm" (a bug in the plugin): No such model`, "", false},
		"config, but an argument": {nil, sdk.ConfigError("model", "x", ""), `"model", which is not a configuration attribute`, "", false},
		"joined":                  {nil, errors.Join(sdk.ArgError("model", "a", ""), sdk.ArgError("nope", "b", "")), `"nope"`, "", false},
	} {
		err := apply(tc.ret, tc.err)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", name, err, tc.want)
			continue
		}
		var pe *plugins.Error
		got := ""
		if errors.As(err, &pe) && len(pe.Path) > 0 && tc.path != "" {
			got = pe.Path[0].(cty.GetAttrStep).Name
			if pe.Config != tc.isConfig {
				t.Errorf("%s: config %v", name, pe.Config)
			}
		} else if errors.As(err, &pe) && len(pe.Path) > 0 && name != "joined" {
			t.Errorf("%s: an error with a path: %#v", name, pe)
		}
		if got != tc.path {
			t.Errorf("%s: path %q, want %q", name, got, tc.path)
		}
	}

	ret, retErr = map[string]any{"blocked": "yes"}, nil
	if _, err := c.Plan(ctx, &plugins.ActionRequest{Action: "block_model", Args: args}); err == nil || !strings.Contains(err.Error(), "block_model predicted an output that does not match its type: output.blocked: a bool is required, got a string") {
		t.Errorf("plan with a mistyped output: %v", err)
	}

	retErr = sdk.ArgError("model", "Bad", "")
	err = c.Configure(ctx, cty.ObjectVal(map[string]cty.Value{"api_key": cty.StringVal("k")}))
	if err == nil || !strings.Contains(err.Error(), `"model", which is not a configuration attribute of plugin "litellm"`) {
		t.Errorf("configure naming an argument: %v", err)
	}
	retErr = sdk.ArgError("api_key", "Bad key", "")
	err = c.Configure(ctx, cty.ObjectVal(map[string]cty.Value{"api_key": cty.StringVal("k")}))
	var pe *plugins.Error
	if !errors.As(err, &pe) || !pe.Path.Equals(cty.GetAttrPath("api_key")) {
		t.Errorf("configure: %v", err)
	}
}
