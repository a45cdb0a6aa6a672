// Package jaegertest runs a real Jaeger v2 for tests and reads traces back
// from it.
//
// Start runs the jaeger binary (Binary: $RUNBOOK_JAEGER, or jaeger on
// $PATH; .ci/run builds the version pinned in .ci/jaeger into its cache and
// sets $RUNBOOK_JAEGER) as the test's child, with a configuration of its
// own: an OTLP receiver for gRPC and HTTP, in-memory storage, and the query
// service, each on a free port of 127.0.0.1. The process, in a process group
// of its own, is killed with the test process on Linux (Pdeathsig) and
// stopped when the test ends.
//
// A test exports spans to Jaeger.OTLPHTTP or Jaeger.OTLPGRPC and reads them
// back with WaitTrace, which polls the query service's JSON API,
// GET /api/traces/{traceID}, until the trace has the spans it expects:
// export is asynchronous, so a trace appears some time after its spans end.
//
// Without a binary a test is skipped, unless RUNBOOK_REQUIRE_SERVICES=1
// (CI), where it fails.
package jaegertest
