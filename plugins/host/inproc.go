package host

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/runbookdev/runbook/plugins"
)

// A built-in plugin runs inside the runbook process: the process boundary
// is for code runbook did not compile in (docs/plugins.md, "Built-in and
// external plugins"). What the boundary gave a built-in, InProcess gives it
// here:
//
//   - A panic in a call is recovered and becomes a CrashError whose Stack
//     holds the panic and the goroutine's stack; the instance is discarded
//     and the next call gets a new one, configured as the last was, as a
//     crashed process is restarted.
//   - A call whose context ends has the launcher's StopGrace to return;
//     one that does not is abandoned (its goroutine cannot be killed, but
//     nothing waits for it any more and its instance is discarded), and the
//     call fails saying so.
//   - Requests and answers pass the same checks as over the plugin
//     protocol: arguments and configuration are converted to the schema's
//     types, sensitive marks never reach the plugin, an output with unknown
//     values is refused unless it is a prediction, and progress lines sent
//     after the call returned are dropped.
//   - While a built-in is open, the subreaper does not sweep (orphans.go):
//     the children of this process are then the built-ins' own commands,
//     which procgroup's watchdog guards; closing the last built-in sweeps
//     what they orphaned.
//
// A panic in a goroutine that a built-in starts itself, outside a call,
// is not recovered: it ends the process, as it would have ended the plugin
// process.

// InProcess is a built-in plugin called in this process, behind the same
// plugins.Plugin interface as a launched one.
type InProcess struct {
	name   string
	newFn  func() plugins.Plugin
	l      *Launcher
	schema *plugins.Schema

	restart sync.Mutex // held while an instance is made
	mu      sync.Mutex
	impl    plugins.Plugin // nil once discarded; the next call makes one
	config  cty.Value      // cty.NilVal until configured
	closed  bool
}

var _ plugins.Plugin = (*InProcess)(nil)

// InProcess returns built-in plugin name, an instance newFn makes, ready to
// be configured. Its schema is read and validated once, here.
func (l *Launcher) InProcess(ctx context.Context, name string, newFn func() plugins.Plugin) (*InProcess, error) {
	if name == "" || newFn == nil {
		return nil, errors.New("in-process plugin: no name or constructor")
	}
	l.adopt()
	p := &InProcess{name: name, newFn: newFn, l: l}
	var sc *plugins.Schema
	err := p.guard(ctx, "describe", func(ctx context.Context, impl plugins.Plugin) (err error) {
		sc, err = impl.Schema(ctx)
		return err
	})
	switch {
	case err != nil:
		err = fmt.Errorf("plugin %q: %w", name, err)
	case sc == nil:
		err = fmt.Errorf("plugin %q reported no schema", name)
	default:
		if verr := sc.Validate(); verr != nil {
			err = fmt.Errorf("plugin %q reported an invalid schema: %w", name, verr)
		}
	}
	if err != nil {
		p.mu.Lock()
		impl := p.impl
		p.impl, p.closed = nil, true
		p.mu.Unlock()
		if impl != nil {
			_ = protect(name, "close", impl.Close)
		}
		return nil, err
	}
	p.schema = sc
	children.mu.Lock()
	children.inproc++
	children.mu.Unlock()
	return p, nil
}

// Name returns the plugin's name.
func (p *InProcess) Name() string { return p.name }

// instance returns the current instance, making (and configuring) a new
// one when the last was discarded. restart serializes the making, so that
// the lock that guards the fields is never held across plugin code.
func (p *InProcess) instance(ctx context.Context) (plugins.Plugin, error) {
	p.restart.Lock()
	defer p.restart.Unlock()
	p.mu.Lock()
	closed, impl, config := p.closed, p.impl, p.config
	p.mu.Unlock()
	switch {
	case closed:
		return nil, fmt.Errorf("plugin %q is closed", p.name)
	case impl != nil:
		return impl, nil
	}
	impl = p.newFn()
	if config != cty.NilVal {
		err := p.run(ctx, "configure", func(ctx context.Context) error { return impl.Configure(ctx, config) })
		if err != nil {
			go func() { _ = protect(p.name, "close", impl.Close) }()
			return nil, fmt.Errorf("restart plugin %q: configure: %w", p.name, err)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		go func() { _ = protect(p.name, "close", impl.Close) }()
		return nil, fmt.Errorf("plugin %q is closed", p.name)
	}
	p.impl = impl
	return impl, nil
}

// discard drops impl, should it still be the current instance: the next
// call makes a new one. It is closed in the background, as it may be
// stuck.
func (p *InProcess) discard(impl plugins.Plugin) {
	p.mu.Lock()
	if p.impl == impl {
		p.impl = nil
	}
	p.mu.Unlock()
	go func() { _ = protect(p.name, "close", impl.Close) }()
}

// guard runs fn on the current instance (see run); an instance that
// crashed or was abandoned is discarded.
func (p *InProcess) guard(ctx context.Context, op string, fn func(context.Context, plugins.Plugin) error) error {
	impl, err := p.instance(ctx)
	if err != nil {
		return err
	}
	err = p.run(ctx, op, func(ctx context.Context) error { return fn(ctx, impl) })
	if _, crashed := errors.AsType[*CrashError](err); crashed {
		p.discard(impl)
	}
	return err
}

// run calls fn in a goroutine of its own, with a panic recovered, and
// waits for it; once ctx ends it waits StopGrace more and then abandons it.
func (p *InProcess) run(ctx context.Context, op string, fn func(context.Context) error) error {
	done := make(chan error, 1)
	go func() { done <- protect(p.name, op, func() error { return fn(ctx) }) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	grace := time.NewTimer(p.l.stopGrace())
	defer grace.Stop()
	select {
	case err := <-done:
		return err
	case <-grace.C:
		return &CrashError{
			Plugin: p.name, Op: op, Status: fmt.Sprintf("did not stop within %s of being cancelled and was abandoned", p.l.stopGrace()),
			InProcess: true, Err: ctx.Err(),
		}
	}
}

// protect calls fn, turning a panic into a CrashError with the stack.
func protect(name, op string, fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &CrashError{
				Plugin: name, Op: op, Status: "panicked", InProcess: true,
				Stderr: fmt.Sprintf("panic: %v\n\n%s", v, panicStack(debug.Stack())),
				Err:    fmt.Errorf("panic: %v", v),
			}
		}
	}()
	return fn()
}

// panicStack is a stack taken in a deferred recover without the frames of
// the recovery itself, so that it reads as Go prints a panic: the
// goroutine's header, then the function that panicked.
func panicStack(stack []byte) []byte {
	s := string(stack)
	head, rest, ok := strings.Cut(s, "\n")
	if !ok {
		return stack
	}
	i := strings.Index(rest, "\npanic(")
	if i < 0 {
		return stack
	}
	// Skip the panic( frame and its file line.
	after := rest[i+1:]
	for range 2 {
		_, after, ok = strings.Cut(after, "\n")
		if !ok {
			return stack
		}
	}
	return []byte(head + "\n" + after)
}

// request is req as the plugin protocol would deliver it, with its action:
// arguments of the action's type, without marks, and no progress after
// the call returned (finish marks the return).
func (p *InProcess) request(req *plugins.ActionRequest) (a *plugins.Action, r *plugins.ActionRequest, finish func(), err error) {
	a = p.schema.Actions[req.Action]
	if a == nil {
		return nil, nil, nil, fmt.Errorf("unknown action %q", req.Action)
	}
	args := req.Args
	if args == cty.NilVal {
		args = cty.NullVal(a.ArgsType())
	}
	args, _ = args.UnmarkDeep()
	args, err = convert.Convert(args, a.ArgsType())
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: arguments: %w", req.Action, err)
	}
	copied := *req
	copied.Args = args
	if req.Progress == nil {
		return a, &copied, func() {}, nil
	}
	var mu sync.Mutex
	finished := false
	copied.Progress = func(line string) {
		mu.Lock()
		defer mu.Unlock()
		if !finished {
			req.Progress(line)
		}
	}
	return a, &copied, func() {
		mu.Lock()
		finished = true
		mu.Unlock()
	}, nil
}

// Schema implements plugins.Plugin: the schema read when it was made.
func (p *InProcess) Schema(context.Context) (*plugins.Schema, error) { return p.schema, nil }

// Configure implements plugins.Plugin. The configuration is kept, for an
// instance made after a crash.
func (p *InProcess) Configure(ctx context.Context, config cty.Value) error {
	config, _ = config.UnmarkDeep()
	config, err := convert.Convert(config, p.schema.ConfigType())
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	err = p.guard(ctx, "configure", func(ctx context.Context, impl plugins.Plugin) error {
		return impl.Configure(ctx, config)
	})
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.config = config
	p.mu.Unlock()
	return nil
}

// Plan implements plugins.Plugin.
func (p *InProcess) Plan(ctx context.Context, req *plugins.ActionRequest) (*plugins.PlanResult, error) {
	a, r, finish, err := p.request(req)
	if err != nil {
		return nil, err
	}
	defer finish()
	var res *plugins.PlanResult
	err = p.guard(ctx, "plan of "+p.name+"."+req.Action, func(ctx context.Context, impl plugins.Plugin) (err error) {
		res, err = impl.Plan(ctx, r)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := &plugins.PlanResult{Output: cty.UnknownVal(a.Output)}
	if res != nil {
		out.Changes, out.Planned, out.Basis = res.Changes, res.Planned, res.Basis
		if res.Output != cty.NilVal {
			out.Output, _ = res.Output.UnmarkDeep()
		}
	}
	return out, nil
}

// Apply implements plugins.Plugin.
func (p *InProcess) Apply(ctx context.Context, req *plugins.ActionRequest) (*plugins.ApplyResult, error) {
	a, r, finish, err := p.request(req)
	if err != nil {
		return nil, err
	}
	var res *plugins.ApplyResult
	err = p.guard(ctx, p.name+"."+req.Action, func(ctx context.Context, impl plugins.Plugin) (err error) {
		res, err = impl.Apply(ctx, r)
		return err
	})
	finish()
	if err != nil {
		return nil, err
	}
	out := cty.NullVal(a.Output)
	if res != nil && res.Output != cty.NilVal {
		out, _ = res.Output.UnmarkDeep()
	}
	predicted := res != nil && res.Predicted && len(req.Planned) > 0
	if !out.IsWhollyKnown() && !predicted {
		// Only a prediction may leave parts unknown.
		return nil, fmt.Errorf("%s: the plugin returned an output with unknown values", req.Action)
	}
	return &plugins.ApplyResult{Output: out, Predicted: predicted}, nil
}

// Close implements plugins.Plugin. Closing the last built-in lets the
// subreaper end what the built-ins' commands orphaned.
func (p *InProcess) Close() error {
	impl, first := closeOnce(&p.mu, &p.closed, &p.impl)
	if !first {
		return nil
	}
	var err error
	if impl != nil {
		err = protect(p.name, "close", impl.Close)
	}
	children.mu.Lock()
	children.inproc--
	children.mu.Unlock()
	p.l.sweepOrphans()
	return err
}
