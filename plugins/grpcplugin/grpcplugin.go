package grpcplugin

import (
	"context"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/runbookdev/runbook/plugins"
	pb "github.com/runbookdev/runbook/plugins/proto/runbookplugin/v1"
)

// ProtocolVersion is the version of the protocol this package speaks. A
// host offers every version it knows (VersionedPlugins) and go-plugin picks
// the highest one the plugin also knows, so a v2 can be added next to v1.
const ProtocolVersion = 1

// PluginName is the name the runbook plugin is dispensed under.
const PluginName = "runbook"

// Handshake is the go-plugin handshake of runbook plugins. The cookie is not
// a secret: it only keeps a plugin binary from starting its server when a
// person runs it by hand, and a host from talking to a binary that is some
// other kind of plugin.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "RUNBOOK_PLUGIN",
	MagicCookieValue: "7b389a2a88972f43368f25b4540dc0a594a7eb36f64ddd1a41bb83a6a38ffd6e",
}

// MaxMessageSize bounds one message either way (an action's arguments or
// output): shell.run's stdout or an http.request body can be large, and
// gRPC's default of 4 MiB would fail them.
const MaxMessageSize = 64 << 20

// Info names a plugin and its version, as its author gives them.
type Info struct {
	Name    string
	Version string
}

// Informer is implemented by plugins that know their name and version (the
// SDK's do); Serve reports them in GetSchema.
type Informer interface {
	PluginInfo() Info
}

// GRPCPlugin is the go-plugin plugin.GRPCPlugin of the protocol: Impl is
// served in the plugin process; in the host, it dispenses a *Client.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	// Impl is the plugin to serve; nil in the host.
	Impl plugins.Plugin

	service pb.PluginServer
}

// GRPCServer implements plugin.GRPCPlugin.
func (p *GRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	if p.service == nil {
		p.service = newServer(p.Impl)
	}
	pb.RegisterPluginServer(s, p.service)
	return nil
}

// GRPCClient implements plugin.GRPCPlugin.
func (p *GRPCPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return NewClient(conn), nil
}

// PluginSets returns the plugin sets by protocol version, for a host's
// plugin.ClientConfig.VersionedPlugins.
func PluginSets() map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		1: {PluginName: &GRPCPlugin{}},
	}
}

// DialOptions are the gRPC options a host uses for plugin connections.
func DialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageSize), grpc.MaxCallSendMsgSize(MaxMessageSize)),
	}
}

func newGRPCServer(opts []grpc.ServerOption) *grpc.Server {
	opts = append(opts, grpc.MaxRecvMsgSize(MaxMessageSize), grpc.MaxSendMsgSize(MaxMessageSize))
	return grpc.NewServer(opts...)
}

// Serve serves p as a runbook plugin over go-plugin and returns when the
// host ends the plugin. It is what a plugin binary's main calls (through
// the SDK). Run by hand, outside a host, it says so and exits 1.
//
// The plugin also ends when its host dies: the host sets a parent-death
// signal on Linux, and Serve watches for being re-parented (the portable
// check), stopping the calls in flight before it exits.
func Serve(p plugins.Plugin) {
	srv := newServer(p)
	serve(srv, srv.stopAll)
}

func serve(service pb.PluginServer, stopAll func(context.Context) error) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		watchParent(done, stopAll)
	}()
	defer func() {
		close(done)
		wg.Wait()
	}()
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{
			1: {PluginName: &GRPCPlugin{service: service}},
		},
		GRPCServer: newGRPCServer,
		// go-plugin's own logging goes to the real stderr, which the host
		// keeps for crash reports: errors only, so that a crash report
		// shows the crash rather than the handshake.
		Logger: hclog.New(&hclog.LoggerOptions{
			Name:   "plugin",
			Level:  hclog.Error,
			Output: os.Stderr,
		}),
	})
}

// parentPollInterval is how often a plugin checks that its host is alive.
const parentPollInterval = 500 * time.Millisecond

// stopGrace is how long a plugin whose host died gives its calls in flight
// to return before it exits.
const stopGrace = 5 * time.Second

// watchParent exits the process when it is re-parented, that is when the
// host that started it has died, until done is closed.
func watchParent(done <-chan struct{}, stopAll func(context.Context) error) {
	parent := os.Getppid()
	t := time.NewTicker(parentPollInterval)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		if os.Getppid() == parent {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), stopGrace)
		_ = stopAll(ctx)
		cancel()
		os.Exit(1)
	}
}
