// Package grpcplugin owns the runbook plugin protocol on the wire: the
// go-plugin handshake, the gRPC server that serves any plugins.Plugin in a
// plugin process (Serve), and the client that implements plugins.Plugin in
// the host by calling that server (Client). Launching and supervising plugin
// processes belongs to plugins/host; writing a plugin, to plugins/sdk.
package grpcplugin
