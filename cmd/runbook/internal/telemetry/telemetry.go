package telemetry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// ShutdownTimeout bounds how long a command waits at its end for the
// spans still queued to be exported.
const ShutdownTimeout = 2 * time.Second

// MaxQueueSize bounds the spans waiting for export; beyond it, spans are
// dropped rather than held.
const MaxQueueSize = 4096

// InstrumentationName names runbook's tracer.
const InstrumentationName = "github.com/runbookdev/runbook"

// Telemetry is a command's tracing: a no-op when it is not configured.
type Telemetry struct {
	tp *sdktrace.TracerProvider
	// errs keeps the export errors: the first, and how many.
	mu    sync.Mutex
	first error
	count int
}

// Options are what Setup reads: the environment and who exports.
type Options struct {
	// Getenv looks up the environment (os.Getenv).
	Getenv func(string) string
	// Version is runbook's, the resource's service.version.
	Version string
	// IDs, when set, generates the trace and span ids (transcript export
	// gives a past run its recorded trace id).
	IDs sdktrace.IDGenerator
}

// Enabled reports whether the environment asks for traces: an OTLP
// endpoint is set, and OTEL_SDK_DISABLED and OTEL_TRACES_EXPORTER do not
// turn them off. Nothing is exported, not even to the default local
// collector, unless an endpoint is named.
func Enabled(getenv func(string) string) bool {
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return false
	}
	if e := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")); e != "" && e != "otlp" {
		return false
	}
	return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// Setup configures tracing from the environment. Without an endpoint it
// returns a Telemetry whose tracer makes nothing. It also sets the global
// tracer provider and the W3C propagators, so that the HTTP and gRPC
// clients of the built-in plugins join the run's trace.
func Setup(ctx context.Context, o Options) (*Telemetry, error) {
	t := &Telemetry{}
	if !Enabled(o.Getenv) {
		return t, nil
	}
	exp, err := exporter(ctx, o.Getenv)
	if err != nil {
		return t, err
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName("runbook"), semconv.ServiceVersion(o.Version)),
		resource.WithTelemetrySDK(),
		// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, over the above.
		resource.WithFromEnv(),
	)
	if err != nil && res == nil {
		return t, fmt.Errorf("OpenTelemetry resource: %w", err)
	}
	opts := []sdktrace.TracerProviderOption{
		sdktrace.WithResource(res),
		sdktrace.WithBatcher(exp, sdktrace.WithMaxQueueSize(MaxQueueSize), sdktrace.WithExportTimeout(ShutdownTimeout),
			sdktrace.WithBatchTimeout(time.Second)),
	}
	if o.IDs != nil {
		opts = append(opts, sdktrace.WithIDGenerator(o.IDs))
	}
	t.tp = sdktrace.NewTracerProvider(opts...)
	otel.SetErrorHandler(otel.ErrorHandlerFunc(t.record))
	otel.SetTracerProvider(t.tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	return t, nil
}

// exporter is the OTLP exporter OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL
// names: http/protobuf (the default) or grpc. Each reads its endpoint,
// headers, timeout and TLS settings from the environment itself; retries
// are bounded by the shutdown's timeout.
func exporter(ctx context.Context, getenv func(string) string) (sdktrace.SpanExporter, error) {
	protocol := getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if protocol == "" {
		protocol = getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	switch strings.TrimSpace(protocol) {
	case "", "http/protobuf":
		return otlptracehttp.New(ctx, otlptracehttp.WithRetry(otlptracehttp.RetryConfig{
			Enabled: true, InitialInterval: 100 * time.Millisecond, MaxInterval: time.Second, MaxElapsedTime: ShutdownTimeout,
		}))
	case "grpc":
		return otlptracegrpc.New(ctx, otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{
			Enabled: true, InitialInterval: 100 * time.Millisecond, MaxInterval: time.Second, MaxElapsedTime: ShutdownTimeout,
		}))
	}
	return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL=%q: runbook exports traces over \"http/protobuf\" or \"grpc\"", protocol)
}

// Tracer is runbook's tracer: a no-op one when tracing is off.
func (t *Telemetry) Tracer() trace.Tracer {
	if t == nil || t.tp == nil {
		return noop.NewTracerProvider().Tracer(InstrumentationName)
	}
	return t.tp.Tracer(InstrumentationName)
}

// Enabled reports whether spans are exported.
func (t *Telemetry) Enabled() bool { return t != nil && t.tp != nil }

func (t *Telemetry) record(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.first == nil {
		t.first = err
	}
	t.count++
}

// Shutdown exports what is still queued, waiting at most ShutdownTimeout,
// and returns one warning that sums up what could not be exported, or
// nil.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	if !t.Enabled() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer cancel()
	if err := t.tp.Shutdown(ctx); err != nil {
		t.record(err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.count == 0:
		return nil
	case errors.Is(t.first, context.DeadlineExceeded):
		return fmt.Errorf("traces not exported within %s: the collector did not answer (%d errors); the run is not affected", ShutdownTimeout, t.count)
	}
	return fmt.Errorf("traces not exported: %v (%d errors); the run is not affected", t.first, t.count)
}

// FromEnvironment returns ctx with the W3C trace context that TRACEPARENT
// (and TRACESTATE) carry, as a CI job or a script that runs runbook passes
// it: the run's trace then continues theirs. Without it, ctx as it is.
func FromEnvironment(ctx context.Context, getenv func(string) string) context.Context {
	if getenv("TRACEPARENT") == "" {
		return ctx
	}
	carrier := propagation.MapCarrier{"traceparent": getenv("TRACEPARENT"), "tracestate": getenv("TRACESTATE")}
	return propagation.TraceContext{}.Extract(ctx, carrier)
}
