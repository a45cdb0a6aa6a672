//go:build unix

package host

import (
	"context"
	"testing"

	"github.com/zclconf/go-cty/cty"
	"go.opentelemetry.io/otel/trace"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/internal/spantest"
)

// The span of the context a plugin is called with reaches its handlers: an
// external plugin's as the remote parent sent over the protocol, a
// built-in's as it is.
func TestSpanReachesHandlers(t *testing.T) {
	l := testLauncher(t)
	external := launch(t, l, modeSpec(t, "echo"))
	builtin, _ := inProcess(t, l, "echo")
	sc := spantest.Fixed(t, "")
	ids := sc.TraceID().String() + "-" + sc.SpanID().String()
	tests := []struct {
		name string
		p    plugins.Plugin
		ctx  context.Context
		want string
	}{
		{"external, no span", external, context.Background(), "none"},
		{"external", external, trace.ContextWithSpanContext(context.Background(), sc), ids + "-remote"},
		{"built-in, no span", builtin, context.Background(), "none"},
		{"built-in", builtin, trace.ContextWithSpanContext(context.Background(), sc), ids},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := tt.p.Plan(tt.ctx, &plugins.ActionRequest{Action: "span", Args: cty.EmptyObjectVal})
			if err != nil {
				t.Fatal(err)
			}
			if len(plan.Changes) != 1 || plan.Changes[0] != tt.want {
				t.Errorf("plan saw %q, want %q", plan.Changes, tt.want)
			}
			out, _, err := apply(tt.ctx, tt.p, "span")
			if err != nil {
				t.Fatal(err)
			}
			if got := out.AsString(); got != tt.want {
				t.Errorf("apply saw %q, want %q", got, tt.want)
			}
		})
	}
}
