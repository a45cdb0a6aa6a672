// Package telemetry sets up OpenTelemetry for a command from the standard
// environment (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL,
// OTEL_EXPORTER_OTLP_HEADERS, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES,
// OTEL_SDK_DISABLED): an OTLP trace exporter behind a bounded batch queue,
// which never delays or fails a run (docs/telemetry.md).
package telemetry
