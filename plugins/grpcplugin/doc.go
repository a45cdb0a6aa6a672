// Package grpcplugin owns the runbook plugin protocol on the wire: the
// go-plugin handshake, the gRPC server that serves any plugins.Plugin in a
// plugin process (Serve), and the client that implements plugins.Plugin in
// the host by calling that server (Client). Launching and supervising plugin
// processes belongs to plugins/host; writing a plugin, to plugins/sdk.
//
// A call carries the W3C trace context of the span in the caller's context
// in its metadata (traceparent, tracestate); the server makes that span the
// remote parent of the context the plugin is called with.
package grpcplugin
