package grpcplugin_test

import (
	"context"
	"testing"

	"github.com/zclconf/go-cty/cty"
	"go.opentelemetry.io/otel/trace"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/grpcplugin"
	"github.com/runbookdev/runbook/plugins/internal/spantest"
	"github.com/runbookdev/runbook/plugins/sdk"
)

// spanSeer is a plugin whose handlers report the span context of the
// context they get, as "TRACEID-SPANID-remote" ("none" without one).
func spanSeer(t *testing.T) plugins.Plugin {
	t.Helper()
	seen := func(ctx context.Context) string {
		sc := trace.SpanContextFromContext(ctx)
		if !sc.IsValid() {
			return "none"
		}
		s := sc.TraceID().String() + "-" + sc.SpanID().String() + "-" + sc.TraceState().String()
		if sc.IsRemote() {
			s += "-remote"
		}
		return s
	}
	var configured string
	p, err := sdk.New(sdk.Plugin{
		Name: "seer",
		Configure: func(ctx context.Context, _ sdk.Values) error {
			configured = seen(ctx)
			return nil
		},
		Actions: []*sdk.Action{{
			Name:   "see",
			Output: cty.Object(map[string]cty.Type{"apply": cty.String, "configure": cty.String}),
			Plan: func(ctx context.Context, _ *sdk.Request) (*sdk.Plan, error) {
				return &sdk.Plan{Changes: []string{seen(ctx)}}, nil
			},
			Apply: func(ctx context.Context, _ *sdk.Request) (any, error) {
				return map[string]any{"apply": seen(ctx), "configure": configured}, nil
			},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTraceContextReachesHandlers(t *testing.T) {
	sc := spantest.Fixed(t, "vendor=abc")
	withSpan := sc.TraceID().String() + "-" + sc.SpanID().String() + "-vendor=abc-remote"
	tests := []struct {
		name string
		ctx  context.Context
		want string
	}{
		{"no span", context.Background(), "none"},
		{"local span", trace.ContextWithSpanContext(context.Background(), sc), withSpan},
		{"remote span", trace.ContextWithRemoteSpanContext(context.Background(), sc), withSpan},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := grpcplugin.TestClient(t, spanSeer(t))
			if err := c.Configure(tt.ctx, cty.EmptyObjectVal); err != nil {
				t.Fatal(err)
			}
			req := &plugins.ActionRequest{Action: "see", Args: cty.EmptyObjectVal}
			plan, err := c.Plan(tt.ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if len(plan.Changes) != 1 || plan.Changes[0] != tt.want {
				t.Errorf("plan saw %q, want %q", plan.Changes, tt.want)
			}
			res, err := c.Apply(tt.ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			for _, call := range []string{"apply", "configure"} {
				if got := res.Output.GetAttr(call).AsString(); got != tt.want {
					t.Errorf("%s saw %q, want %q", call, got, tt.want)
				}
			}
		})
	}
}
