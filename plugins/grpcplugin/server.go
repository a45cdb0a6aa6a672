package grpcplugin

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
	pb "github.com/runbookdev/runbook/plugins/proto/runbookplugin/v1"
)

// server is the gRPC service of one plugin process: it decodes requests
// against the plugin's own schema, calls the plugin and encodes its answers.
// Every call runs under a context that Stop cancels.
type server struct {
	pb.UnimplementedPluginServer
	impl plugins.Plugin

	schemaMu sync.Mutex
	schema   *plugins.Schema

	mu       sync.Mutex
	inflight map[*call]struct{}
}

// call is one request in flight.
type call struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func newServer(impl plugins.Plugin) *server {
	return &server{impl: impl, inflight: map[*call]struct{}{}}
}

// begin registers a call; end must be called when it returns. The call's
// context has the caller's span, if the metadata carries one, as its remote
// parent.
func (s *server) begin(ctx context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancel(fromTraceContext(ctx))
	c := &call{cancel: cancel, done: make(chan struct{})}
	s.mu.Lock()
	s.inflight[c] = struct{}{}
	s.mu.Unlock()
	return ctx, func() {
		s.mu.Lock()
		delete(s.inflight, c)
		s.mu.Unlock()
		cancel()
		close(c.done)
	}
}

// stopAll cancels every call in flight and waits for them to return, or
// for ctx to end.
func (s *server) stopAll(ctx context.Context) error {
	s.mu.Lock()
	calls := make([]*call, 0, len(s.inflight))
	for c := range s.inflight {
		calls = append(calls, c)
	}
	s.mu.Unlock()
	for _, c := range calls {
		c.cancel()
	}
	for _, c := range calls {
		select {
		case <-c.done:
		case <-ctx.Done():
			return fmt.Errorf("%d call(s) still running after cancellation: %w", len(calls), ctx.Err())
		}
	}
	return nil
}

func (s *server) getSchema(ctx context.Context) (*plugins.Schema, error) {
	s.schemaMu.Lock()
	defer s.schemaMu.Unlock()
	if s.schema != nil {
		return s.schema, nil
	}
	sc, err := s.impl.Schema(ctx)
	if err != nil {
		return nil, err
	}
	if sc == nil {
		return nil, errors.New("plugin reported no schema")
	}
	if err := sc.Validate(); err != nil {
		return nil, fmt.Errorf("plugin reported an invalid schema: %w", err)
	}
	s.schema = sc
	return sc, nil
}

func (s *server) action(ctx context.Context, name string) (*plugins.Action, error) {
	sc, err := s.getSchema(ctx)
	if err != nil {
		return nil, err
	}
	a := sc.Actions[name]
	if a == nil {
		return nil, fmt.Errorf("unknown action %q", name)
	}
	return a, nil
}

// GetSchema implements pb.PluginServer.
func (s *server) GetSchema(ctx context.Context, _ *pb.GetSchemaRequest) (*pb.GetSchemaResponse, error) {
	ctx, end := s.begin(ctx)
	defer end()
	resp := &pb.GetSchemaResponse{}
	if in, ok := s.impl.(Informer); ok {
		info := in.PluginInfo()
		resp.Name, resp.Version = info.Name, info.Version
	}
	sc, err := s.getSchema(ctx)
	if err != nil {
		resp.Errors = errorsToProto(err)
		return resp, nil
	}
	if resp.Schema, err = schemaToProto(sc); err != nil {
		resp.Errors = errorsToProto(fmt.Errorf("encode schema: %w", err))
	}
	return resp, nil
}

// Configure implements pb.PluginServer.
func (s *server) Configure(ctx context.Context, req *pb.ConfigureRequest) (*pb.ConfigureResponse, error) {
	ctx, end := s.begin(ctx)
	defer end()
	sc, err := s.getSchema(ctx)
	if err != nil {
		return &pb.ConfigureResponse{Errors: errorsToProto(err)}, nil
	}
	cfg, err := decodeValue(req.GetConfig(), sc.ConfigType())
	if err != nil {
		return &pb.ConfigureResponse{Errors: errorsToProto(fmt.Errorf("configuration: %w", err))}, nil
	}
	return &pb.ConfigureResponse{Errors: errorsToProto(s.impl.Configure(ctx, cfg))}, nil
}

// actionRequest decodes a request against the plugin's schema.
func (s *server) actionRequest(ctx context.Context, req *pb.ActionRequest) (*plugins.Action, *plugins.ActionRequest, error) {
	if req == nil {
		return nil, nil, errors.New("no action request")
	}
	a, err := s.action(ctx, req.Action)
	if err != nil {
		return nil, nil, err
	}
	args, err := decodeValue(req.Args, a.ArgsType())
	if err != nil {
		return nil, nil, fmt.Errorf("%s: arguments: %w", req.Action, err)
	}
	return a, &plugins.ActionRequest{Action: req.Action, Args: args, RunID: req.RunId, Operator: req.Operator, Planned: req.PlannedState, Basis: req.Basis}, nil
}

// Plan implements pb.PluginServer.
func (s *server) Plan(ctx context.Context, req *pb.PlanRequest) (*pb.PlanResponse, error) {
	ctx, end := s.begin(ctx)
	defer end()
	a, areq, err := s.actionRequest(ctx, req.GetRequest())
	if err != nil {
		return &pb.PlanResponse{Errors: errorsToProto(err)}, nil
	}
	res, err := s.impl.Plan(ctx, areq)
	if err != nil {
		return &pb.PlanResponse{Errors: errorsToProto(err)}, nil
	}
	out := cty.UnknownVal(a.Output)
	resp := &pb.PlanResponse{}
	if res != nil {
		resp.Changes = res.Changes
		resp.PlannedState = res.Planned
		resp.Basis = res.Basis
		if res.Output != cty.NilVal {
			out = res.Output
		}
	}
	if resp.Output, err = encodeValue(out, a.Output); err != nil {
		return &pb.PlanResponse{Errors: errorsToProto(outputMismatch(areq.Action, a.Output, err))}, nil
	}
	return resp, nil
}

// Apply implements pb.PluginServer.
func (s *server) Apply(req *pb.ApplyRequest, stream pb.Plugin_ApplyServer) error {
	ctx, end := s.begin(stream.Context())
	defer end()
	a, areq, err := s.actionRequest(ctx, req.GetRequest())
	if err != nil {
		return sendResult(stream, &pb.ApplyResult{Errors: errorsToProto(err)})
	}

	// Progress may be called from any goroutine the action starts, even
	// after it returned: sends are serialized and stop with the call.
	var sendMu sync.Mutex
	finished := false
	areq.Progress = func(line string) {
		sendMu.Lock()
		defer sendMu.Unlock()
		if finished || ctx.Err() != nil {
			return
		}
		_ = stream.Send(&pb.ApplyEvent{Event: &pb.ApplyEvent_Progress{Progress: line}})
	}
	res, err := s.impl.Apply(ctx, areq)
	sendMu.Lock()
	finished = true
	sendMu.Unlock()
	if err != nil {
		return sendResult(stream, &pb.ApplyResult{Errors: errorsToProto(err)})
	}
	out := cty.NullVal(a.Output)
	if res != nil && res.Output != cty.NilVal {
		out = res.Output
	}
	predicted := res != nil && res.Predicted && len(areq.Planned) > 0
	if !out.IsWhollyKnown() && !predicted {
		// Only a prediction may leave parts unknown (a planned build's
		// version, say).
		return sendResult(stream, &pb.ApplyResult{Errors: errorsToProto(fmt.Errorf("%s: the plugin returned an output with unknown values", areq.Action))})
	}
	dv, err := encodeValue(out, a.Output)
	if err != nil {
		return sendResult(stream, &pb.ApplyResult{Errors: errorsToProto(outputMismatch(areq.Action, a.Output, err))})
	}
	return sendResult(stream, &pb.ApplyResult{Output: dv, Predicted: predicted})
}

func sendResult(stream pb.Plugin_ApplyServer, res *pb.ApplyResult) error {
	return stream.Send(&pb.ApplyEvent{Event: &pb.ApplyEvent_Result{Result: res}})
}

func outputMismatch(action string, ty cty.Type, err error) error {
	return fmt.Errorf("%s: the plugin's output does not match its declared type %s: %w", action, ty.FriendlyName(), err)
}

// Stop implements pb.PluginServer.
func (s *server) Stop(ctx context.Context, _ *pb.StopRequest) (*pb.StopResponse, error) {
	if err := s.stopAll(ctx); err != nil {
		return &pb.StopResponse{Error: err.Error()}, nil
	}
	return &pb.StopResponse{}, nil
}
