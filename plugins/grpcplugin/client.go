package grpcplugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/zclconf/go-cty/cty"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/runbookdev/runbook/plugins"
	pb "github.com/runbookdev/runbook/plugins/proto/runbookplugin/v1"
)

// Client is a plugins.Plugin that calls a plugin over the protocol. It does
// not own the connection or the process behind it: Close does nothing, and
// whoever launched the plugin ends it (plugins/host).
type Client struct {
	rpc pb.PluginClient

	mu     sync.Mutex
	schema *plugins.Schema
	info   Info
}

var _ plugins.Plugin = (*Client)(nil)

// NewClient returns a client of the plugin served on conn.
func NewClient(conn grpc.ClientConnInterface) *Client {
	return &Client{rpc: pb.NewPluginClient(conn)}
}

// ConnError is a call that failed in the transport rather than in the
// plugin: the connection broke (the process crashed or exited, most
// likely) or the plugin does not speak the protocol.
type ConnError struct {
	Op   string
	Code codes.Code
	Err  error
}

func (e *ConnError) Error() string {
	msg := e.Err.Error()
	if st, ok := status.FromError(e.Err); ok {
		msg = st.Message()
	}
	switch e.Code {
	case codes.Unavailable:
		return fmt.Sprintf("%s: lost the connection to the plugin (%s)", e.Op, msg)
	case codes.Unimplemented:
		return fmt.Sprintf("%s: the plugin does not implement this call (%s)", e.Op, msg)
	}
	return fmt.Sprintf("%s: %s: %s", e.Op, e.Code, msg)
}

func (e *ConnError) Unwrap() error { return e.Err }

// callError makes a failed call's error: the caller's own cancellation as
// such (errors.Is(err, context.Canceled) holds), anything else a ConnError.
func callError(ctx context.Context, op string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%s: %w", op, ctxErr)
	}
	return &ConnError{Op: op, Code: status.Code(err), Err: err}
}

// Schema returns the plugin's schema, asking the plugin once.
func (c *Client) Schema(ctx context.Context) (*plugins.Schema, error) {
	s, _, err := c.load(ctx)
	return s, err
}

// Info returns the plugin's name and version as the plugin reports them
// (empty for a plugin that does not say).
func (c *Client) Info(ctx context.Context) (Info, error) {
	_, info, err := c.load(ctx)
	return info, err
}

func (c *Client) load(ctx context.Context) (*plugins.Schema, Info, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.schema != nil {
		return c.schema, c.info, nil
	}
	resp, err := c.rpc.GetSchema(ctx, &pb.GetSchemaRequest{})
	if err != nil {
		return nil, Info{}, callError(ctx, "get schema", err)
	}
	if err := errorsFromProto(resp.Errors); err != nil {
		return nil, Info{}, fmt.Errorf("get schema: %w", err)
	}
	s, err := schemaFromProto(resp.Schema)
	if err != nil {
		return nil, Info{}, fmt.Errorf("get schema: the plugin's schema is unusable: %w", err)
	}
	c.schema, c.info = s, Info{Name: resp.Name, Version: resp.Version}
	return c.schema, c.info, nil
}

// Configure implements plugins.Plugin.
func (c *Client) Configure(ctx context.Context, config cty.Value) error {
	s, err := c.Schema(ctx)
	if err != nil {
		return err
	}
	dv, err := encodeValue(config, s.ConfigType())
	if err != nil {
		return fmt.Errorf("configure: %w", err)
	}
	resp, err := c.rpc.Configure(withTraceContext(ctx), &pb.ConfigureRequest{Config: dv})
	if err != nil {
		return callError(ctx, "configure", err)
	}
	return errorsFromProto(resp.Errors)
}

func (c *Client) actionRequest(ctx context.Context, req *plugins.ActionRequest) (*plugins.Action, *pb.ActionRequest, error) {
	s, err := c.Schema(ctx)
	if err != nil {
		return nil, nil, err
	}
	a := s.Actions[req.Action]
	if a == nil {
		return nil, nil, fmt.Errorf("unknown action %q", req.Action)
	}
	dv, err := encodeValue(req.Args, a.ArgsType())
	if err != nil {
		return nil, nil, fmt.Errorf("%s: arguments: %w", req.Action, err)
	}
	return a, &pb.ActionRequest{Action: req.Action, Args: dv, RunId: req.RunID, Operator: req.Operator, PlannedState: req.Planned, Basis: req.Basis}, nil
}

// Plan implements plugins.Plugin. The trace context of ctx's span, if it
// has one, reaches the plugin as the remote parent of its handler's context.
func (c *Client) Plan(ctx context.Context, req *plugins.ActionRequest) (*plugins.PlanResult, error) {
	a, preq, err := c.actionRequest(ctx, req)
	if err != nil {
		return nil, err
	}
	resp, err := c.rpc.Plan(withTraceContext(ctx), &pb.PlanRequest{Request: preq})
	if err != nil {
		return nil, callError(ctx, "plan "+req.Action, err)
	}
	if err := errorsFromProto(resp.Errors); err != nil {
		return nil, err
	}
	out := cty.UnknownVal(a.Output)
	if resp.Output != nil {
		if out, err = decodeValue(resp.Output, a.Output); err != nil {
			return nil, fmt.Errorf("plan %s: predicted output: %w", req.Action, err)
		}
	}
	return &plugins.PlanResult{Changes: resp.Changes, Output: out, Planned: resp.PlannedState, Basis: resp.Basis}, nil
}

// Apply implements plugins.Plugin. Progress lines go to req.Progress as
// they arrive; cancelling ctx cancels the action in the plugin. The trace
// context of ctx's span reaches the plugin as Plan's does.
func (c *Client) Apply(ctx context.Context, req *plugins.ActionRequest) (*plugins.ApplyResult, error) {
	a, preq, err := c.actionRequest(ctx, req)
	if err != nil {
		return nil, err
	}
	// The stream ends with the call: a cancelled context ends it in the
	// plugin too.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	op := "apply " + req.Action
	stream, err := c.rpc.Apply(withTraceContext(ctx), &pb.ApplyRequest{Request: preq})
	if err != nil {
		return nil, callError(ctx, op, err)
	}
	for {
		ev, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: the plugin ended the call without a result", op)
		}
		if err != nil {
			return nil, callError(ctx, op, err)
		}
		switch e := ev.Event.(type) {
		case *pb.ApplyEvent_Progress:
			if req.Progress != nil {
				req.Progress(e.Progress)
			}
		case *pb.ApplyEvent_Result:
			if err := errorsFromProto(e.Result.GetErrors()); err != nil {
				return nil, err
			}
			out, err := decodeValue(e.Result.GetOutput(), a.Output)
			if err != nil {
				return nil, fmt.Errorf("%s: output: %w", op, err)
			}
			predicted := e.Result.GetPredicted() && len(req.Planned) > 0
			if !out.IsWhollyKnown() && !predicted {
				return nil, fmt.Errorf("%s: the plugin returned an output with unknown values", op)
			}
			return &plugins.ApplyResult{Output: out, Predicted: predicted}, nil
		}
	}
}

// Stop asks the plugin to cancel every call in flight and returns once they
// have returned, or with an error when ctx ends first.
func (c *Client) Stop(ctx context.Context) error {
	resp, err := c.rpc.Stop(ctx, &pb.StopRequest{})
	if err != nil {
		return callError(ctx, "stop", err)
	}
	if resp.Error != "" {
		return fmt.Errorf("stop: %s", resp.Error)
	}
	return nil
}

// Close implements plugins.Plugin; it does nothing, the process belongs to
// whoever launched it.
func (c *Client) Close() error { return nil }
