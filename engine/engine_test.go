package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/schema"
)

var kvOutput = cty.Object(map[string]cty.Type{"key": cty.String, "value": cty.String, "version": cty.Number})

var kvSchema = &plugins.Schema{
	Config: []*plugins.Attribute{{Name: "path", Type: cty.String, Path: true}},
	Actions: map[string]*plugins.Action{
		"get": {Name: "get", ReadOnly: true, Output: kvOutput,
			Args: []*plugins.Attribute{{Name: "key", Type: cty.String, Required: true}}},
		"set": {Name: "set", Output: kvOutput, Args: []*plugins.Attribute{
			{Name: "key", Type: cty.String, Required: true},
			{Name: "value", Type: cty.String, Required: true},
		}},
		"fail": {Name: "fail", Output: kvOutput, Args: []*plugins.Attribute{
			{Name: "times", Type: cty.Number, Default: cty.NumberIntVal(1000)},
		}},
		"block": {Name: "block", ReadOnly: true, Output: kvOutput},
		"echo": {Name: "echo", ReadOnly: true, Output: kvOutput,
			Args: []*plugins.Attribute{{Name: "key", Type: cty.String, Required: true}}},
	},
}

// kvPlugin is an in-process plugin that records every call. Its store
// holds key → value with a version that increases on every set; `get`
// bumps a read counter that tests use to make a value change over time.
type kvPlugin struct {
	mu       sync.Mutex
	calls    []string
	store    map[string]string
	versions map[string]int64
	// getBump makes every get of a key raise its version by one.
	getBump bool
	fails   int
	config  cty.Value
}

func newKV() *kvPlugin {
	return &kvPlugin{store: map[string]string{"k": "v1"}, versions: map[string]int64{"k": 1}}
}

func (p *kvPlugin) record(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, s)
}

func (p *kvPlugin) Calls() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.calls...)
}

func (p *kvPlugin) Schema(context.Context) (*plugins.Schema, error) { return kvSchema, nil }

func (p *kvPlugin) Configure(_ context.Context, cfg cty.Value) error {
	p.record("configure")
	p.config = cfg
	return nil
}

func (p *kvPlugin) out(key string) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{
		"key": cty.StringVal(key), "value": cty.StringVal(p.store[key]), "version": cty.NumberIntVal(p.versions[key]),
	})
}

func (p *kvPlugin) Plan(_ context.Context, req *plugins.ActionRequest) (*plugins.PlanResult, error) {
	p.record("plan " + req.Action)
	if !req.Args.Type().HasAttribute("key") {
		return &plugins.PlanResult{Changes: []string{req.Action}, Output: cty.UnknownVal(kvSchema.Actions[req.Action].Output)}, nil
	}
	key := req.Args.GetAttr("key")
	if !key.IsKnown() {
		return &plugins.PlanResult{Changes: []string{"(unknown key)"}, Output: cty.UnknownVal(kvOutput)}, nil
	}
	k := key.AsString()
	p.mu.Lock()
	defer p.mu.Unlock()
	return &plugins.PlanResult{
		Changes: []string{fmt.Sprintf("%s: v%d → v%d", k, p.versions[k], p.versions[k]+1)},
		Output: cty.ObjectVal(map[string]cty.Value{
			"key": cty.StringVal(k), "value": req.Args.GetAttr("value"), "version": cty.NumberIntVal(p.versions[k] + 1),
		}),
	}, nil
}

func (p *kvPlugin) Apply(ctx context.Context, req *plugins.ActionRequest) (*plugins.ApplyResult, error) {
	p.record("apply " + req.Action)
	switch req.Action {
	case "get":
		k := req.Args.GetAttr("key").AsString()
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.getBump {
			p.versions[k]++
		}
		return &plugins.ApplyResult{Output: p.out(k)}, nil
	case "echo":
		k := req.Args.GetAttr("key").AsString()
		if req.Progress != nil {
			req.Progress("echoing " + k)
		}
		return &plugins.ApplyResult{Output: cty.ObjectVal(map[string]cty.Value{
			"key": cty.StringVal(k), "value": cty.StringVal("got " + k), "version": cty.NumberIntVal(0),
		})}, nil
	case "set":
		k := req.Args.GetAttr("key").AsString()
		p.mu.Lock()
		defer p.mu.Unlock()
		p.store[k] = req.Args.GetAttr("value").AsString()
		p.versions[k]++
		return &plugins.ApplyResult{Output: p.out(k)}, nil
	case "fail":
		p.mu.Lock()
		defer p.mu.Unlock()
		p.fails++
		times, _ := req.Args.GetAttr("times").AsBigFloat().Int64()
		if int64(p.fails) <= times {
			return nil, fmt.Errorf("failure %d", p.fails)
		}
		return &plugins.ApplyResult{Output: p.out("k")}, nil
	case "block":
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return nil, fmt.Errorf("no action %q", req.Action)
}

func (p *kvPlugin) Close() error { return nil }

// fakeClock is the engine's virtual clock: Sleep advances it at once.
type fakeClock = VirtualClock

// answers is a Prompter with fixed answers.
type answers struct {
	confirm bool
	asked   []string
	values  map[string]string
}

func (a *answers) Confirm(_ context.Context, q string) (bool, error) {
	a.asked = append(a.asked, q)
	return a.confirm, nil
}

func (a *answers) Ask(_ context.Context, name, _ string, _ bool) (string, error) {
	v, ok := a.values[name]
	if !ok {
		return "", errors.New("no answer")
	}
	return v, nil
}

// recorder is a hook that keeps every event.
type recorder struct {
	mu     sync.Mutex
	events []Event
	failAt string // an event type whose recording fails
}

func (r *recorder) Handle(e Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failAt != "" && e.Type() == r.failAt {
		return errors.New("disk full")
	}
	r.events = append(r.events, e)
	return nil
}

func (r *recorder) types() string {
	var out []string
	for _, e := range r.events {
		out = append(out, e.Type())
	}
	return strings.Join(out, " ")
}

func (r *recorder) steps() map[string]StepFinished {
	out := map[string]StepFinished{}
	for _, e := range r.events {
		if f, ok := e.(StepFinished); ok {
			out[f.Name] = f
		}
	}
	return out
}

func load(t testing.TB, src string) (*schema.Config, *schema.Runbook) {
	t.Helper()
	return loadWith(t, src, &plugins.Builtin{Name: "kv", Schema: kvSchema})
}

type harness struct {
	kv    *kvPlugin
	rec   *recorder
	clock *fakeClock
	res   *Result
	err   error
}

func run(t *testing.T, src string, opts ...Option) *harness {
	t.Helper()
	cfg, rb := load(t, src)
	return runLoaded(t, cfg, rb, opts...)
}

// runLoaded runs rb against the kv plugin on a virtual clock, recording
// its events and checking its transcript against the schema.
func runLoaded(t *testing.T, cfg *schema.Config, rb *schema.Runbook, opts ...Option) *harness {
	t.Helper()
	h := &harness{kv: newKV(), rec: &recorder{}, clock: &fakeClock{now: time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)}}
	base := []Option{
		WithPlugins(InProcess{"kv": h.kv}), WithHooks(h.rec), WithClock(h.clock),
		WithOperator("alice@host"), WithRunID("run-1"), WithEnv(func(string) (string, bool) { return "", false }),
		WithHooks(TranscriptHook(schemaChecked(t))),
	}
	h.res, h.err = Run(context.Background(), cfg, rb, append(base, opts...)...)
	return h
}
