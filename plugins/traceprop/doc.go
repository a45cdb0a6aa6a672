// Package traceprop carries a run's trace context from the context a plugin
// is called with to the systems the plugin touches, so that their spans join
// the run's trace.
//
// The engine calls Plan and Apply with a context holding the span of the
// action's attempt. What leaves the process carries that span's W3C trace
// context (traceparent and tracestate): Fields gives it as the two keys, for
// a command's environment or a message's metadata; Transport makes each HTTP
// request a client span under it; GRPCStatsHandler does the same for gRPC
// calls. The W3C propagator is always used explicitly, whatever propagator
// the program installs globally.
//
// A context without a valid span context changes nothing: no field, no
// header, no span. The spans made here come from the global TracerProvider,
// which does nothing until a program sets one.
package traceprop
