//go:build unix

package shell

import (
	"context"
	"testing"

	"github.com/zclconf/go-cty/cty"
	"go.opentelemetry.io/otel/trace"

	"github.com/runbookdev/runbook/plugins/internal/spantest"
)

// The command's environment carries the trace context of the action's
// span, unless the runbook sets it itself.
func TestRunTraceContext(t *testing.T) {
	rec := spantest.Install(t)
	spanCtx, span := rec.Start(context.Background(), "attempt")
	defer span.End()
	traceparent := spantest.TraceParent(span.SpanContext())
	withState := spantest.Fixed(t, "vendor=abc")
	const unset = "(unset)"
	tests := []struct {
		name   string
		ctx    context.Context
		env    map[string]string
		parent string // $TRACEPARENT as the command sees it
		state  string // $TRACESTATE
	}{
		{"no span", context.Background(), nil, unset, unset},
		{"span", spanCtx, nil, traceparent, unset},
		{"remote span with tracestate", trace.ContextWithRemoteSpanContext(context.Background(), withState), nil,
			"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "vendor=abc"},
		{"the runbook's traceparent wins", spanCtx, map[string]string{"TRACEPARENT": "mine"}, "mine", unset},
		{"the runbook's tracestate wins, alone", trace.ContextWithRemoteSpanContext(context.Background(), withState),
			map[string]string{"TRACESTATE": "mine=1"}, unset, "mine=1"},
		{"other variables change nothing", spanCtx, map[string]string{"OTHER": "x"}, traceparent, unset},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []func(map[string]cty.Value)
			if tt.env != nil {
				opts = append(opts, withEnv(tt.env))
			}
			out, err := apply(t, tt.ctx, args(`echo "${TRACEPARENT-(unset)}"; echo "${TRACESTATE-(unset)}"`, opts...), nil)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.parent + "\n" + tt.state + "\n"
			if got := out.GetAttr("stdout").AsString(); got != want {
				t.Errorf("stdout = %q, want %q", got, want)
			}
		})
	}
}
