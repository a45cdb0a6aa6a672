package grpcplugin

import (
	"context"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/metadata"

	"github.com/runbookdev/runbook/plugins/traceprop"
)

// A call carries the trace context of the span in its context (the engine's
// action attempt) in its gRPC metadata, as traceparent and tracestate; the
// plugin's server makes it the remote parent of the context its handler
// gets, so that the plugin's own spans join the run's trace.

// withTraceContext returns ctx with the trace context of its span added to
// its outgoing metadata; ctx as it is when it has no valid span context.
func withTraceContext(ctx context.Context) context.Context {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx
	}
	md, _ := metadata.FromOutgoingContext(ctx)
	md = md.Copy()
	traceprop.Inject(ctx, metadataCarrier(md))
	return metadata.NewOutgoingContext(ctx, md)
}

// fromTraceContext returns ctx with the span context of its incoming
// metadata as its remote parent; ctx as it is when the metadata holds no
// valid traceparent.
func fromTraceContext(ctx context.Context) context.Context {
	md, ok := metadata.FromIncomingContext(ctx)
	if !ok {
		return ctx
	}
	return traceprop.Extract(ctx, metadataCarrier(md))
}

// metadataCarrier lets a propagator read and write gRPC metadata.
type metadataCarrier metadata.MD

func (c metadataCarrier) Get(key string) string {
	if v := metadata.MD(c).Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}

func (c metadataCarrier) Set(key, value string) { metadata.MD(c).Set(key, value) }

func (c metadataCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}
