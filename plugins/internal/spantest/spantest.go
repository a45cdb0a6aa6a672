package spantest

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Fixed is a sampled span context with fixed ids and the given tracestate
// (W3C list syntax, "" for none).
func Fixed(t testing.TB, state string) trace.SpanContext {
	t.Helper()
	ts, err := trace.ParseTraceState(state)
	if err != nil {
		t.Fatalf("tracestate %q: %v", state, err)
	}
	return trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
		TraceFlags: trace.FlagsSampled,
		TraceState: ts,
	})
}

// TraceParent is the W3C traceparent of sc.
func TraceParent(sc trace.SpanContext) string {
	return "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-" + sc.TraceFlags().String()
}

// Recorder is an SDK TracerProvider installed as the global one for a
// test, with the spans it ended.
type Recorder struct {
	*tracetest.SpanRecorder
	Provider *sdktrace.TracerProvider
}

// Install makes a TracerProvider that samples every span and records it,
// sets it as the global provider until the test ends, and returns it.
// Tests that install one must not run in parallel.
func Install(t testing.TB) *Recorder {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSpanProcessor(rec))
	otel.SetTracerProvider(tp)
	t.Cleanup(func() {
		// Back to a provider that does nothing, as a program starts.
		otel.SetTracerProvider(noop.NewTracerProvider())
		_ = tp.Shutdown(context.Background())
	})
	return &Recorder{SpanRecorder: rec, Provider: tp}
}

// Start starts a span of r's provider under ctx; the caller ends it.
func (r *Recorder) Start(ctx context.Context, name string) (context.Context, trace.Span) {
	return r.Provider.Tracer("spantest").Start(ctx, name)
}

// Children returns the ended spans whose parent is parent.
func (r *Recorder) Children(parent trace.SpanContext) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range r.Ended() {
		if s.Parent().SpanID() == parent.SpanID() && s.Parent().TraceID() == parent.TraceID() {
			out = append(out, s)
		}
	}
	return out
}
