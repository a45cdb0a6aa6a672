package sdktest_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/zclconf/go-cty/cty"
	"go.opentelemetry.io/otel/trace"

	"github.com/runbookdev/runbook/plugins/sdk"
	"github.com/runbookdev/runbook/plugins/sdk/sdktest"
)

// counter is a small plugin: a configured step, a mutating action with a
// plan, a read-only one.
func counter() sdk.Plugin {
	count := 0
	out := cty.Object(map[string]cty.Type{"count": cty.Number, "by": cty.String})
	return sdk.Plugin{
		Name: "counter", Version: "1.0.0",
		Config: []*sdk.Attribute{
			{Name: "step", Type: cty.Number, Default: cty.NumberIntVal(1)},
			{Name: "who", Type: cty.String, Default: cty.StringVal("nobody")},
		},
		Configure: func(_ context.Context, cfg sdk.Values) error {
			if cfg.Int("step") <= 0 {
				return sdk.ArgError("step", "Invalid step", "must be positive")
			}
			return nil
		},
		Actions: []*sdk.Action{{
			Name:   "add",
			Args:   []*sdk.Attribute{{Name: "times", Type: cty.Number, Required: true}, {Name: "note", Type: cty.String, Validators: []*sdk.Validator{sdk.LengthBetween(-1, 5)}}},
			Output: out,
			Plan: func(_ context.Context, req *sdk.Request) (*sdk.Plan, error) {
				if !req.Args.Known("times") {
					return &sdk.Plan{Changes: []string{fmt.Sprintf("count: %d → ?", count)}, Output: cty.ObjectVal(map[string]cty.Value{
						"count": cty.UnknownVal(cty.Number), "by": cty.StringVal(req.Config.String("who")),
					})}, nil
				}
				next := count + int(req.Args.Int("times")*req.Config.Int("step"))
				return &sdk.Plan{Changes: []string{fmt.Sprintf("count: %d → %d", count, next)}, Output: map[string]any{"count": next, "by": req.Config.String("who")}}, nil
			},
			Apply: func(_ context.Context, req *sdk.Request) (any, error) {
				if req.Args.Int("times") < 0 {
					return nil, sdk.ArgError("times", "Negative", "counters only go up")
				}
				req.Progress("adding")
				count += int(req.Args.Int("times") * req.Config.Int("step"))
				return map[string]any{"count": count, "by": req.Config.String("who")}, nil
			},
		}},
	}
}

func TestDrivingAPlugin(t *testing.T) {
	p := sdktest.New(t, counter())
	// Not configured: the first action configures with the defaults.
	res := p.MustApply("add", sdktest.Args{"times": 2})
	res.Want(map[string]any{"count": 2, "by": "nobody"})
	if got := res.Value().(map[string]any)["count"]; got != int64(2) {
		t.Errorf("Value count = %#v", got)
	}
	if strings.Join(res.Progress, ";") != "adding" {
		t.Errorf("progress %q", res.Progress)
	}

	if err := p.Configure(sdktest.Args{"step": 0}); sdktest.WantArgError(t, err, "step") == nil {
		t.Fatal("step 0 accepted")
	}
	p.MustConfigure(sdktest.Args{"step": 10, "who": "alice"})
	plan := p.MustPlan("add", sdktest.Args{"times": 3})
	plan.WantChanges("count: 2 → 32")
	plan.WantOutput(map[string]any{"count": 32, "by": "alice"})

	plan = p.MustPlan("add", sdktest.Args{"times": sdktest.Unknown})
	plan.WantChanges("count: 2 → ?")
	plan.WantOutput(map[string]any{"count": sdktest.Unknown, "by": "alice"})

	_, err := p.Apply("add", sdktest.Args{"times": -1})
	if pe := sdktest.WantArgError(t, err, "times"); pe == nil || pe.Detail != "counters only go up" {
		t.Errorf("negative times: %v", err)
	}
}

// fakeT records what the helpers report; Fatalf ends the goroutine, as
// testing's does.
type fakeT struct {
	testing.TB
	mu     sync.Mutex
	failed []string
}

func (f *fakeT) Helper() {}
func (f *fakeT) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failed = append(f.failed, fmt.Sprintf(format, args...))
}
func (f *fakeT) Fatalf(format string, args ...any) {
	f.Errorf(format, args...)
	runtime.Goexit()
}

// failures runs fn with a fakeT and returns what it reported.
func failures(t *testing.T, fn func(tb testing.TB, p *sdktest.Plugin)) string {
	f := &fakeT{TB: t}
	q := sdktest.New(f, counter())
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f, q)
	}()
	<-done
	return strings.Join(f.failed, "\n")
}

func TestHelpersFail(t *testing.T) {
	for name, tc := range map[string]struct {
		fn   func(tb testing.TB, p *sdktest.Plugin)
		want string
	}{
		"unknown argument": {func(_ testing.TB, p *sdktest.Plugin) { p.MustApply("add", sdktest.Args{"times": 1, "tims": 2}) },
			`sdktest: no argument "tims" (the schema has times, note)`},
		"missing required": {func(_ testing.TB, p *sdktest.Plugin) { p.MustApply("add", sdktest.Args{}) },
			`sdktest: argument "times" is required`},
		"mistyped argument": {func(_ testing.TB, p *sdktest.Plugin) { p.MustApply("add", sdktest.Args{"times": "3"}) },
			`sdktest: args.times: a number is required, got a string`},
		"validator": {func(_ testing.TB, p *sdktest.Plugin) {
			p.MustApply("add", sdktest.Args{"times": 1, "note": "too long"})
		},
			`sdktest: args.note: 8 characters is more than the maximum, 5 characters. (runbook validate refuses it; the plugin never sees it)`},
		"unknown action": {func(_ testing.TB, p *sdktest.Plugin) { p.MustApply("sub", nil) },
			`sdktest: plugin has no action "sub" (it has add)`},
		"unknown config": {func(_ testing.TB, p *sdktest.Plugin) { p.MustConfigure(sdktest.Args{"stp": 1}) },
			`sdktest: no configuration "stp" (the schema has step, who)`},
		"apply error": {func(_ testing.TB, p *sdktest.Plugin) { p.MustApply("add", sdktest.Args{"times": -1}) },
			`sdktest: apply add: Negative: counters only go up`},
		"output differs": {func(_ testing.TB, p *sdktest.Plugin) {
			p.MustApply("add", sdktest.Args{"times": 1}).Want(map[string]any{"count": 2, "by": "nobody"})
		}, "output:\n  {by = \"nobody\", count = 1}\nwant:\n  {by = \"nobody\", count = 2}"},
		"want incomplete": {func(_ testing.TB, p *sdktest.Plugin) {
			p.MustApply("add", sdktest.Args{"times": 1}).Want(map[string]any{"count": 1})
		}, "sdktest: the expected output: want.by: attribute is missing"},
		"changes differ": {func(_ testing.TB, p *sdktest.Plugin) {
			p.MustPlan("add", sdktest.Args{"times": 1}).WantChanges("count: 0 → 2")
		}, "plan changes:\n  \"count: 0 → 1\"\nwant:\n  \"count: 0 → 2\""},
		"known where unknown wanted": {func(_ testing.TB, p *sdktest.Plugin) {
			p.MustPlan("add", sdktest.Args{"times": 1}).WantOutput(map[string]any{"count": sdktest.Unknown, "by": "nobody"})
		}, "count = (known after apply)"},
		"no error": {func(tb testing.TB, p *sdktest.Plugin) {
			_, err := p.Apply("add", sdktest.Args{"times": 1})
			sdktest.WantArgError(tb, err, "times")
		}, `no error; want one about "times"`},
		"error elsewhere": {func(tb testing.TB, p *sdktest.Plugin) {
			err := p.Configure(sdktest.Args{"step": -1})
			sdktest.WantArgError(tb, err, "who")
		}, `is not about "who"`},
	} {
		if got := failures(t, tc.fn); !strings.Contains(got, tc.want) {
			t.Errorf("%s: reported %q, want %q", name, got, tc.want)
		}
	}
}

// traced is a plugin whose action answers with the span context its
// handler got, and whose plan names it.
func traced() sdk.Plugin {
	out := cty.Object(map[string]cty.Type{"trace_id": cty.String, "parent": cty.String, "remote": cty.Bool})
	seen := func(ctx context.Context) map[string]any {
		sc := trace.SpanContextFromContext(ctx)
		return map[string]any{"trace_id": sc.TraceID().String(), "parent": sc.SpanID().String(), "remote": sc.IsRemote()}
	}
	return sdk.Plugin{
		Name: "traced", Version: "1.0.0",
		Actions: []*sdk.Action{{
			Name: "look", Output: out,
			Plan: func(ctx context.Context, _ *sdk.Request) (*sdk.Plan, error) {
				return &sdk.Plan{Changes: []string{"under " + trace.SpanContextFromContext(ctx).TraceID().String()}, Output: seen(ctx)}, nil
			},
			Apply: func(ctx context.Context, _ *sdk.Request) (any, error) { return seen(ctx), nil },
		}},
	}
}

// WithContext carries the span of the caller's context across the protocol:
// the handler's context has it as its remote parent. Without it, the
// handler has no span context.
func TestWithContext(t *testing.T) {
	p := sdktest.New(t, traced())
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
		TraceFlags: trace.FlagsSampled,
	})
	ctx := trace.ContextWithSpanContext(context.Background(), sc)

	p.MustApply("look", nil, sdktest.WithContext(ctx)).Want(map[string]any{
		"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "parent": "00f067aa0ba902b7", "remote": true,
	})
	p.MustPlan("look", nil, sdktest.WithContext(ctx)).WantChanges("under 4bf92f3577b34da6a3ce929d0e0e4736")
	p.MustApply("look", nil).Want(map[string]any{
		"trace_id": "00000000000000000000000000000000", "parent": "0000000000000000", "remote": false,
	})

	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Apply("look", nil, sdktest.WithContext(canceled)); err == nil {
		t.Error("a call under a canceled context succeeded")
	}
}
