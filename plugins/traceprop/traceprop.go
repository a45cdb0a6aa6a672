package traceprop

import (
	"context"
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/stats"
)

// The W3C trace context fields, as they are named in HTTP headers and gRPC
// metadata.
const (
	TraceParent = "traceparent"
	TraceState  = "tracestate"
)

// W3C is the propagator of the W3C trace context, used by everything here
// regardless of the global one.
var W3C propagation.TextMapPropagator = propagation.TraceContext{}

// Fields returns the trace context of ctx's span as the W3C fields:
// traceparent, and tracestate when it is not empty. It returns nil when ctx
// has no valid span context.
func Fields(ctx context.Context) map[string]string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return nil
	}
	c := propagation.MapCarrier{}
	W3C.Inject(ctx, c)
	if len(c) == 0 {
		return nil
	}
	return c
}

// Inject writes the trace context of ctx's span into c (an HTTP header, gRPC
// metadata) with the W3C propagator; it writes nothing when ctx has no valid
// span context.
func Inject(ctx context.Context, c propagation.TextMapCarrier) {
	W3C.Inject(ctx, c)
}

// Extract returns ctx with the span context read from c's W3C fields as its
// remote parent; it returns ctx unchanged when c holds no valid traceparent.
func Extract(ctx context.Context, c propagation.TextMapCarrier) context.Context {
	return W3C.Extract(ctx, c)
}

// Transport returns a RoundTripper that sends each request whose context
// has a valid span context through base as a client span under that span,
// with traceparent (and tracestate) set; other requests go through base
// untouched.
func Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{plain: base, traced: otelhttp.NewTransport(base, otelhttp.WithPropagators(W3C))}
}

type transport struct {
	plain, traced http.RoundTripper
}

func (t *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	if trace.SpanContextFromContext(r.Context()).IsValid() {
		return t.traced.RoundTrip(r)
	}
	return t.plain.RoundTrip(r)
}

// GRPCStatsHandler returns a gRPC client stats handler (for
// grpc.WithStatsHandler) that makes each call whose context has a valid span
// context a client span under that span, sending the W3C trace context in
// the call's metadata; other calls (a client's own background calls, say)
// are left alone.
func GRPCStatsHandler() stats.Handler {
	return &parentOnly{Handler: otelgrpc.NewClientHandler(otelgrpc.WithPropagators(W3C))}
}

// parentOnly passes to its Handler only the calls that have a parent span.
type parentOnly struct {
	stats.Handler
}

// untraced marks the context of a call parentOnly leaves alone.
type untraced struct{}

func (h *parentOnly) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return context.WithValue(ctx, untraced{}, true)
	}
	return h.Handler.TagRPC(ctx, info)
}

func (h *parentOnly) HandleRPC(ctx context.Context, s stats.RPCStats) {
	if ctx.Value(untraced{}) != nil {
		return
	}
	h.Handler.HandleRPC(ctx, s)
}
