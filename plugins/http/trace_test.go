package http

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/zclconf/go-cty/cty"
	"go.opentelemetry.io/otel/trace"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/internal/spantest"
)

// A request carries the trace context of the action's span, unless the
// runbook sends one of its own.
func TestRequestTraceContext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Seen-Traceparent", r.Header.Get("traceparent"))
		w.Header().Set("Seen-Tracestate", r.Header.Get("tracestate"))
	}))
	t.Cleanup(srv.Close)

	rec := spantest.Install(t)
	spanCtx, span := rec.Start(context.Background(), "attempt")
	defer span.End()
	remote := trace.ContextWithRemoteSpanContext(context.Background(), spantest.Fixed(t, "vendor=abc"))
	headers := func(h map[string]string) func(map[string]cty.Value) {
		vals := map[string]cty.Value{}
		for k, v := range h {
			vals[k] = cty.StringVal(v)
		}
		return set("headers", cty.MapVal(vals))
	}
	tests := []struct {
		name          string
		ctx           context.Context
		headers       map[string]string
		parent, state string // what the server sees
	}{
		{"no span", context.Background(), nil, "", ""},
		{"span", spanCtx, nil, spantest.TraceParent(span.SpanContext()), ""},
		{"remote span with tracestate", remote, nil, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "vendor=abc"},
		{"the runbook's traceparent wins", spanCtx, map[string]string{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
			"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", ""},
		{"the runbook's tracestate wins, alone", remote, map[string]string{"TraceState": "mine=1"}, "", "mine=1"},
		{"other headers change nothing", spanCtx, map[string]string{"X-Other": "1"}, spantest.TraceParent(span.SpanContext()), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []func(map[string]cty.Value)
			if tt.headers != nil {
				opts = append(opts, headers(tt.headers))
			}
			p := New()
			t.Cleanup(func() { _ = p.Close() })
			res, err := p.Apply(tt.ctx, &plugins.ActionRequest{Action: "request", Args: args(srv.URL, opts...)})
			if err != nil {
				t.Fatal(err)
			}
			h := res.Output.GetAttr("headers")
			if got := h.Index(cty.StringVal("Seen-Traceparent")).AsString(); got != tt.parent {
				t.Errorf("server saw traceparent %q, want %q", got, tt.parent)
			}
			if got := h.Index(cty.StringVal("Seen-Tracestate")).AsString(); got != tt.state {
				t.Errorf("server saw tracestate %q, want %q", got, tt.state)
			}
		})
	}
}
