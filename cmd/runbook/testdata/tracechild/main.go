// Command tracechild is a command a runbook's shell.run step runs in the
// telemetry tests: it continues the trace TRACEPARENT names with a span of
// its own, "tracechild work", exported over OTLP/HTTP to the endpoint the
// environment names, as a traced script or service would.
package main

import (
	"context"
	"fmt"
	"os"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "tracechild:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx := context.Background()
	traceparent := os.Getenv("TRACEPARENT")
	if traceparent == "" {
		// An untraced run: there is no trace to continue.
		fmt.Println("no TRACEPARENT: nothing to continue")
		return nil
	}
	ctx = propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier{"traceparent": traceparent, "tracestate": os.Getenv("TRACESTATE")})
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return err
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp),
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName("tracechild"))))
	_, span := tp.Tracer("tracechild").Start(ctx, "tracechild work")
	span.SetAttributes(attribute.String("tracechild.parent", traceparent))
	span.End()
	fmt.Println("traced under", traceparent)
	return tp.Shutdown(ctx)
}
