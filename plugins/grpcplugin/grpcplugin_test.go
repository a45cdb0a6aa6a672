package grpcplugin_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/grpcplugin"
)

// fake is a plugin written against plugins.Plugin directly, with an action
// for each behaviour the protocol must carry.
type fake struct {
	mu       sync.Mutex
	config   cty.Value
	started  chan struct{} // closed when "block" starts
	stopped  chan error    // what "block" saw when it ended
	progress int           // lines "set" reports
}

var outType = cty.Object(map[string]cty.Type{"name": cty.String, "value": cty.Number, "tags": cty.List(cty.String)})

func fakeSchema() *plugins.Schema {
	return &plugins.Schema{
		Config: []*plugins.Attribute{
			{Name: "url", Type: cty.String, Required: true, Description: "where", Validators: []*plugins.Validator{plugins.URLWithScheme("http", "https")}},
			{Name: "token", Type: cty.String, Sensitive: true},
			{Name: "dir", Type: cty.String, Path: true, Default: cty.StringVal(".")},
		},
		Actions: map[string]*plugins.Action{
			"get": {
				Name: "get", Description: "read it", ReadOnly: true,
				Args:   []*plugins.Attribute{{Name: "name", Type: cty.String, Required: true}},
				Output: outType,
			},
			"set": {
				Name: "set", Description: "change it",
				Args: []*plugins.Attribute{
					{Name: "name", Type: cty.String, Required: true},
					{Name: "value", Type: cty.Number, Default: cty.NumberIntVal(1), Validators: []*plugins.Validator{plugins.AtMost(100)}},
					{Name: "tags", Type: cty.List(cty.String), Default: cty.ListValEmpty(cty.String), Validators: []*plugins.Validator{plugins.LengthBetween(0, 5), plugins.MatchPattern(`[a-z]+`)}},
					{Name: "method", Type: cty.String, Default: cty.StringVal("POST"), Validators: []*plugins.Validator{plugins.OneOfStrings("GET", "HEAD", "POST")}},
				},
				ReadOnlyWhen: &plugins.ReadOnlyRule{Arg: "method", Values: []cty.Value{cty.StringVal("GET"), cty.StringVal("HEAD")}},
				Output:       outType,
			},
			"block":   {Name: "block", Output: cty.EmptyObject},
			"dynamic": {Name: "dynamic", Output: cty.DynamicPseudoType},
			"wrong":   {Name: "wrong", Output: cty.Number},
			"wait": {Name: "wait", Output: cty.EmptyObject, Args: []*plugins.Attribute{
				{Name: "for", Type: cty.String, Validators: []*plugins.Validator{plugins.DurationBetween(time.Second, time.Hour), plugins.DurationBetween(0, 0)}},
			}},
		},
		ChecksPlans: true,
	}
}

func (f *fake) Schema(context.Context) (*plugins.Schema, error) { return fakeSchema(), nil }

func (f *fake) Configure(_ context.Context, config cty.Value) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.config = config
	if config.GetAttr("url").AsString() == "" {
		return &plugins.Error{Path: cty.GetAttrPath("url"), Summary: "Empty url", Detail: "url must not be empty"}
	}
	return nil
}

func (f *fake) Plan(_ context.Context, req *plugins.ActionRequest) (*plugins.PlanResult, error) {
	args := req.Args
	name := args.GetAttr("name")
	value := args.GetAttr("value")
	change := "value: 0 → (known after apply)"
	if value.IsKnown() {
		change = "value: 0 → " + value.AsBigFloat().Text('f', -1)
	}
	var basis []byte
	if name.IsKnown() {
		basis = []byte("value of " + name.AsString() + " was 0")
	}
	return &plugins.PlanResult{
		Changes: []string{change},
		Output:  cty.ObjectVal(map[string]cty.Value{"name": name, "value": value, "tags": cty.UnknownVal(cty.List(cty.String))}),
		Basis:   basis,
	}, nil
}

func (f *fake) Apply(ctx context.Context, req *plugins.ActionRequest) (*plugins.ApplyResult, error) {
	switch req.Action {
	case "get":
		return &plugins.ApplyResult{Output: cty.ObjectVal(map[string]cty.Value{
			"name": req.Args.GetAttr("name"), "value": cty.NumberIntVal(7), "tags": cty.ListValEmpty(cty.String),
		})}, nil
	case "set":
		v := req.Args.GetAttr("value")
		if v.LessThan(cty.Zero).True() {
			return nil, errors.Join(
				&plugins.Error{Path: cty.GetAttrPath("value"), Summary: "Negative value", Detail: "value must be >= 0"},
				&plugins.Error{Path: cty.GetAttrPath("tags").Index(cty.NumberIntVal(1)), Summary: "Bad tag"},
				errors.New("and a plain error"),
			)
		}
		if req.Basis != nil && string(req.Basis) != "value of "+req.Args.GetAttr("name").AsString()+" was 0" {
			return nil, fmt.Errorf("moved since the plan: %s", req.Basis)
		}
		for i := range f.progress {
			req.Progress(fmt.Sprintf("step %d", i+1))
		}
		return &plugins.ApplyResult{Output: cty.ObjectVal(map[string]cty.Value{
			"name": req.Args.GetAttr("name"), "value": v, "tags": req.Args.GetAttr("tags"),
		})}, nil
	case "block":
		close(f.started)
		<-ctx.Done()
		f.stopped <- ctx.Err()
		return nil, fmt.Errorf("block: %w", ctx.Err())
	case "dynamic":
		return &plugins.ApplyResult{Output: cty.MapVal(map[string]cty.Value{"a": cty.True})}, nil
	case "wrong":
		return &plugins.ApplyResult{Output: cty.StringVal("not a number")}, nil
	}
	return nil, fmt.Errorf("no action %s", req.Action)
}

func (f *fake) Close() error { return nil }

var ctyCmp = []cmp.Option{
	cmp.Comparer(func(a, b cty.Type) bool { return a.Equals(b) }),
	cmp.Comparer(func(a, b cty.Value) bool { return a.RawEquals(b) }),
	cmp.Comparer(func(a, b cty.Path) bool { return a.Equals(b) }),
}

func TestSchemaRoundTrip(t *testing.T) {
	c := grpcplugin.TestClient(t, &fake{})
	got, err := c.Schema(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fakeSchema(), got, ctyCmp...); diff != "" {
		t.Errorf("schema (-want +got):\n%s", diff)
	}
	// The rule survives: the host decides read-only-ness from it.
	set := got.Actions["set"]
	if !set.IsReadOnly(cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("x"), "value": cty.NumberIntVal(1), "tags": cty.ListValEmpty(cty.String), "method": cty.StringVal("get")})) {
		t.Error("set with method GET is not read-only after the round trip")
	}
	info, err := c.Info(context.Background())
	if err != nil || info != (grpcplugin.Info{}) {
		t.Errorf("Info of a plugin that does not say = %+v, %v", info, err)
	}
}

func TestConfigure(t *testing.T) {
	f := &fake{}
	c := grpcplugin.TestClient(t, f)
	ctx := context.Background()
	cfg := cty.ObjectVal(map[string]cty.Value{
		"url":   cty.StringVal("http://x"),
		"token": cty.StringVal("s3cret").Mark("sensitive"), // marks stay on the host
		"dir":   cty.StringVal("/tmp"),
	})
	if err := c.Configure(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	want, _ := cfg.UnmarkDeep()
	if !f.config.RawEquals(want) {
		t.Errorf("plugin got config %#v, want %#v", f.config, want)
	}

	err := c.Configure(ctx, cty.ObjectVal(map[string]cty.Value{"url": cty.StringVal(""), "token": cty.NullVal(cty.String), "dir": cty.NullVal(cty.String)}))
	var pe *plugins.Error
	if !errors.As(err, &pe) || !pe.Path.Equals(cty.GetAttrPath("url")) || pe.Summary != "Empty url" || pe.Detail != "url must not be empty" {
		t.Errorf("Configure error = %#v, want a plugins.Error at url", err)
	}

	// A value of the wrong type never leaves the host.
	if err := c.Configure(ctx, cty.StringVal("nope")); err == nil {
		t.Error("Configure with a string: no error")
	}
}

func setArgs(value cty.Value) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{
		"name": cty.StringVal("chat"), "value": value,
		"tags": cty.ListVal([]cty.Value{cty.StringVal("a"), cty.StringVal("b")}), "method": cty.StringVal("POST"),
	})
}

func TestPlanWithUnknowns(t *testing.T) {
	c := grpcplugin.TestClient(t, &fake{})
	res, err := c.Plan(context.Background(), &plugins.ActionRequest{Action: "set", Args: setArgs(cty.UnknownVal(cty.Number))})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"value: 0 → (known after apply)"}, res.Changes); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	want := cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("chat"), "value": cty.UnknownVal(cty.Number), "tags": cty.UnknownVal(cty.List(cty.String))})
	if !res.Output.RawEquals(want) {
		t.Errorf("predicted output = %#v, want %#v", res.Output, want)
	}

	// Wholly unknown arguments cross too.
	if _, err := c.Plan(context.Background(), &plugins.ActionRequest{Action: "set", Args: cty.UnknownVal(fakeSchema().Actions["set"].ArgsType())}); err != nil {
		t.Errorf("plan with unknown arguments: %v", err)
	}
}

// A plan's basis crosses to the host, and back to the plugin when a saved
// plan is applied.
func TestBasisCrosses(t *testing.T) {
	c := grpcplugin.TestClient(t, &fake{})
	ctx := context.Background()
	res, err := c.Plan(ctx, &plugins.ActionRequest{Action: "set", Args: setArgs(cty.NumberIntVal(2))})
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Basis) != "value of chat was 0" {
		t.Fatalf("basis = %q", res.Basis)
	}
	if _, err := c.Apply(ctx, &plugins.ActionRequest{Action: "set", Args: setArgs(cty.NumberIntVal(2)), Basis: res.Basis}); err != nil {
		t.Errorf("apply on the plan's basis: %v", err)
	}
	_, err = c.Apply(ctx, &plugins.ActionRequest{Action: "set", Args: setArgs(cty.NumberIntVal(2)), Basis: []byte("value of chat was 5")})
	if err == nil || !strings.Contains(err.Error(), "moved since the plan: value of chat was 5") {
		t.Errorf("apply on another basis: %v", err)
	}
}

func TestApplyProgress(t *testing.T) {
	c := grpcplugin.TestClient(t, &fake{progress: 3})
	var lines []string
	res, err := c.Apply(context.Background(), &plugins.ActionRequest{
		Action: "set", Args: setArgs(cty.NumberIntVal(6)), RunID: "r1", Operator: "me@host",
		Progress: func(line string) { lines = append(lines, line) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"step 1", "step 2", "step 3"}, lines); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
	want := cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("chat"), "value": cty.NumberIntVal(6), "tags": cty.ListVal([]cty.Value{cty.StringVal("a"), cty.StringVal("b")})})
	if !res.Output.RawEquals(want) {
		t.Errorf("output = %#v, want %#v", res.Output, want)
	}

	// A dynamic output keeps its own type.
	res, err = c.Apply(context.Background(), &plugins.ActionRequest{Action: "dynamic", Args: cty.EmptyObjectVal})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Output.RawEquals(cty.MapVal(map[string]cty.Value{"a": cty.True})) {
		t.Errorf("dynamic output = %#v", res.Output)
	}
}

func TestErrorsCarryPaths(t *testing.T) {
	c := grpcplugin.TestClient(t, &fake{})
	_, err := c.Apply(context.Background(), &plugins.ActionRequest{Action: "set", Args: setArgs(cty.NumberIntVal(-1))})
	if err == nil {
		t.Fatal("no error")
	}
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("error %T is not a joined error", err)
	}
	var got []plugins.Error
	for _, e := range joined.Unwrap() {
		var pe *plugins.Error
		if !errors.As(e, &pe) {
			t.Fatalf("error %T is not a plugins.Error", e)
		}
		got = append(got, *pe)
	}
	want := []plugins.Error{
		{Path: cty.GetAttrPath("value"), Summary: "Negative value", Detail: "value must be >= 0"},
		{Path: cty.GetAttrPath("tags").Index(cty.NumberIntVal(1)), Summary: "Bad tag"},
		{Summary: "and a plain error"},
	}
	if diff := cmp.Diff(want, got, ctyCmp...); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}

	_, err = c.Apply(context.Background(), &plugins.ActionRequest{Action: "wrong", Args: cty.EmptyObjectVal})
	if err == nil || !strings.Contains(err.Error(), "does not match its declared type") {
		t.Errorf("output of the wrong type: err = %v", err)
	}
	_, err = c.Apply(context.Background(), &plugins.ActionRequest{Action: "nope", Args: cty.EmptyObjectVal})
	if err == nil || !strings.Contains(err.Error(), `unknown action "nope"`) {
		t.Errorf("unknown action: err = %v", err)
	}
}

func TestCancelReachesPlugin(t *testing.T) {
	f := &fake{started: make(chan struct{}), stopped: make(chan error, 1)}
	c := grpcplugin.TestClient(t, f)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-f.started
		cancel()
	}()
	_, err := c.Apply(ctx, &plugins.ActionRequest{Action: "block", Args: cty.EmptyObjectVal})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Apply after cancel: err = %v, want context.Canceled", err)
	}
	if got := <-f.stopped; !errors.Is(got, context.Canceled) {
		t.Errorf("plugin's context ended with %v", got)
	}
}

func TestStopCancelsCallsInFlight(t *testing.T) {
	f := &fake{started: make(chan struct{}), stopped: make(chan error, 1)}
	c := grpcplugin.TestClient(t, f)
	errc := make(chan error, 1)
	go func() {
		_, err := c.Apply(context.Background(), &plugins.ActionRequest{Action: "block", Args: cty.EmptyObjectVal})
		errc <- err
	}()
	<-f.started
	if err := c.Stop(context.Background()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if got := <-f.stopped; !errors.Is(got, context.Canceled) {
		t.Errorf("plugin's context ended with %v", got)
	}
	err := <-errc
	var pe *plugins.Error
	if !errors.As(err, &pe) || !strings.Contains(pe.Summary, "context canceled") {
		t.Errorf("Apply stopped: err = %v", err)
	}
	// Nothing in flight: Stop returns at once.
	if err := c.Stop(context.Background()); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}
