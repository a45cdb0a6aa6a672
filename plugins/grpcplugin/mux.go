package grpcplugin

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "github.com/runbookdev/runbook/plugins/proto/runbookplugin/v1"
)

// MetadataKey is the gRPC metadata key that names, in a call to a process
// serving several plugins (ServeMany: runbook's built-ins share one
// process), which plugin the call is for. A process serving one plugin
// (Serve, every external plugin) ignores it, so the protocol stays the same
// for plugin authors.
const MetadataKey = "runbook-plugin"

// mux is the gRPC service of a process that serves several plugins: it
// hands each call to the plugin the call's metadata names.
type mux struct {
	pb.UnimplementedPluginServer
	servers map[string]*server
}

func newMux(servers map[string]*server) *mux { return &mux{servers: servers} }

func (m *mux) names() []string {
	names := make([]string, 0, len(m.servers))
	for n := range m.servers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// route returns the server of the plugin ctx's metadata names.
func (m *mux) route(ctx context.Context) (*server, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	names := md.Get(MetadataKey)
	if len(names) != 1 {
		return nil, status.Errorf(codes.InvalidArgument, "this process serves the plugins %s: a call must name one in its %q metadata (got %d)", strings.Join(m.names(), ", "), MetadataKey, len(names))
	}
	s := m.servers[names[0]]
	if s == nil {
		return nil, status.Errorf(codes.NotFound, "this process serves no plugin %q (it serves %s)", names[0], strings.Join(m.names(), ", "))
	}
	return s, nil
}

// stopAll cancels the calls in flight of every plugin.
func (m *mux) stopAll(ctx context.Context) error {
	var errs []error
	for _, n := range m.names() {
		if err := m.servers[n].stopAll(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", n, err))
		}
	}
	return errors.Join(errs...)
}

// GetSchema implements pb.PluginServer.
func (m *mux) GetSchema(ctx context.Context, req *pb.GetSchemaRequest) (*pb.GetSchemaResponse, error) {
	s, err := m.route(ctx)
	if err != nil {
		return nil, err
	}
	return s.GetSchema(ctx, req)
}

// Configure implements pb.PluginServer.
func (m *mux) Configure(ctx context.Context, req *pb.ConfigureRequest) (*pb.ConfigureResponse, error) {
	s, err := m.route(ctx)
	if err != nil {
		return nil, err
	}
	return s.Configure(ctx, req)
}

// Plan implements pb.PluginServer.
func (m *mux) Plan(ctx context.Context, req *pb.PlanRequest) (*pb.PlanResponse, error) {
	s, err := m.route(ctx)
	if err != nil {
		return nil, err
	}
	return s.Plan(ctx, req)
}

// Apply implements pb.PluginServer.
func (m *mux) Apply(req *pb.ApplyRequest, stream pb.Plugin_ApplyServer) error {
	s, err := m.route(stream.Context())
	if err != nil {
		return err
	}
	return s.Apply(req, stream)
}

// Stop implements pb.PluginServer: the named plugin's calls, or, for a
// call that names none, every plugin's.
func (m *mux) Stop(ctx context.Context, req *pb.StopRequest) (*pb.StopResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	if len(md.Get(MetadataKey)) == 0 {
		if err := m.stopAll(ctx); err != nil {
			return &pb.StopResponse{Error: err.Error()}, nil
		}
		return &pb.StopResponse{}, nil
	}
	s, err := m.route(ctx)
	if err != nil {
		return nil, err
	}
	return s.Stop(ctx, req)
}

// namedConn is a client connection whose every call names plugin name in
// its metadata, for a process that serves several.
type namedConn struct {
	conn grpc.ClientConnInterface
	name string
}

func (c namedConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	return c.conn.Invoke(metadata.AppendToOutgoingContext(ctx, MetadataKey, c.name), method, args, reply, opts...)
}

func (c namedConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return c.conn.NewStream(metadata.AppendToOutgoingContext(ctx, MetadataKey, c.name), desc, method, opts...)
}
