//go:build unix

package host

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/sdk"
)

// inProcess makes the test plugin in mode a built-in of l, closed with the
// test; made counts the instances made.
func inProcess(t *testing.T, l *Launcher, mode string) (*InProcess, *int) {
	t.Helper()
	var mu sync.Mutex
	made := 0
	p, err := l.InProcess(context.Background(), "test", func() plugins.Plugin {
		mu.Lock()
		made++
		mu.Unlock()
		impl, err := sdk.New(testPlugin(mode))
		if err != nil {
			panic(err)
		}
		return impl
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return p, &made
}

// A panic in a built-in's call fails that call with the panic and its
// stack; the next call gets a new instance, configured as the last was.
func TestInProcessPanic(t *testing.T) {
	p, made := inProcess(t, testLauncher(t), "echo")
	configure(t, p, "hi")
	_, _, err := apply(context.Background(), p, "panic")
	var crash *CrashError
	if !errors.As(err, &crash) || !crash.InProcess {
		t.Fatalf("err = %v (%T), want an in-process CrashError", err, err)
	}
	msg := err.Error()
	for _, want := range []string{`plugin "test" panicked during test.panic`, "panic: boom", "goroutine ", "main_test.go"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if got := applyString(t, p, "greeting"); got != "hi" {
		t.Errorf("greeting after the panic = %q, want the configuration kept", got)
	}
	if *made != 2 { // the first, the one after the panic
		t.Errorf("%d instances made, want 2", *made)
	}
	// A panic in Plan is recovered as well.
	_, err = p.Plan(context.Background(), &plugins.ActionRequest{Action: "say", Args: cty.ObjectVal(map[string]cty.Value{"message": cty.UnknownVal(cty.String)})})
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
}

// A call whose context ends has StopGrace to return: one that watches its
// context returns at once; one that ignores it is abandoned after the
// grace, and the next call gets a new instance.
func TestInProcessCancel(t *testing.T) {
	l := testLauncher(t)
	l.StopGrace = 200 * time.Millisecond
	p, made := inProcess(t, l, "echo")

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, _, err := apply(ctx, p, "hang")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hang: err = %v", err)
	}
	if _, crashed := errors.AsType[*CrashError](err); crashed {
		t.Errorf("a call that stopped when asked counts as a crash: %v", err)
	}
	before := *made

	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	began := time.Now()
	_, _, err = apply(ctx, p, "stall")
	var crash *CrashError
	if !errors.As(err, &crash) || !strings.Contains(err.Error(), "did not stop within 200ms of being cancelled") {
		t.Fatalf("stall: err = %v", err)
	}
	if waited := time.Since(began); waited > 10*time.Second {
		t.Errorf("the stalled call held its caller for %s", waited)
	}
	mustSay(t, p)
	if *made != before+1 {
		t.Errorf("instances made %d, want %d: the stalled one is replaced", *made, before+1)
	}
}

// Progress a built-in reports after its call returned is dropped, as the
// protocol drops it.
func TestInProcessLateProgress(t *testing.T) {
	p, _ := inProcess(t, testLauncher(t), "echo")
	var mu sync.Mutex
	var lines []string
	_, err := p.Apply(context.Background(), &plugins.ActionRequest{Action: "late", Args: cty.EmptyObjectVal, Progress: func(l string) {
		mu.Lock()
		lines = append(lines, l)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(lines) > 0 {
		t.Errorf("progress after the call returned reached the caller: %q", lines)
	}
}

// rawPlugin answers with what it is given, to test the checks on answers.
type rawPlugin struct {
	out      cty.Value
	gotMarks bool
}

var rawSchema = &plugins.Schema{Actions: map[string]*plugins.Action{
	"get": {Name: "get", Args: []*plugins.Attribute{{Name: "key", Type: cty.String, Sensitive: true}}, Output: cty.String, ReadOnly: true},
}}

func (r *rawPlugin) Schema(context.Context) (*plugins.Schema, error) { return rawSchema, nil }
func (r *rawPlugin) Configure(context.Context, cty.Value) error      { return nil }
func (r *rawPlugin) Plan(context.Context, *plugins.ActionRequest) (*plugins.PlanResult, error) {
	return &plugins.PlanResult{}, nil
}
func (r *rawPlugin) Apply(_ context.Context, req *plugins.ActionRequest) (*plugins.ApplyResult, error) {
	r.gotMarks = req.Args.ContainsMarked()
	return &plugins.ApplyResult{Output: r.out}, nil
}
func (r *rawPlugin) Close() error { return nil }

func TestInProcessChecksAnswers(t *testing.T) {
	raw := &rawPlugin{out: cty.UnknownVal(cty.String)}
	p, err := testLauncher(t).InProcess(context.Background(), "raw", func() plugins.Plugin { return raw })
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	args := cty.ObjectVal(map[string]cty.Value{"key": cty.StringVal("s3cret").Mark("sensitive")})
	_, err = p.Apply(context.Background(), &plugins.ActionRequest{Action: "get", Args: args})
	if err == nil || !strings.Contains(err.Error(), "unknown values") {
		t.Errorf("an unknown output outside a prediction: err = %v", err)
	}
	if raw.gotMarks {
		t.Error("the plugin got marked arguments")
	}
	raw.out = cty.StringVal("v")
	if _, err := p.Apply(context.Background(), &plugins.ActionRequest{Action: "nope", Args: args}); err == nil || !strings.Contains(err.Error(), `unknown action "nope"`) {
		t.Errorf("unknown action: err = %v", err)
	}
	res, err := p.Apply(context.Background(), &plugins.ActionRequest{Action: "get", Args: args})
	if err != nil || res.Output.AsString() != "v" {
		t.Errorf("get: %v, %v", res, err)
	}
}

// While a built-in is open, what its commands orphaned is left alone when
// an external plugin ends (the subreaper's sweep would otherwise take the
// built-ins' commands for a plugin's orphans); closing the last built-in
// ends it.
func TestInProcessOrphansSweptAtClose(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("relies on /proc and a child subreaper")
	}
	l := testLauncher(t)
	l.Subreaper = true
	p, err := l.InProcess(context.Background(), "test", func() plugins.Plugin {
		impl, err := sdk.New(testPlugin("echo"))
		if err != nil {
			panic(err)
		}
		return impl
	})
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := apply(context.Background(), p, "orphan")
	if err != nil {
		t.Fatal(err)
	}
	f, _ := out.AsBigFloat().Int64()
	orphan := int(f)
	ext, err := l.Launch(context.Background(), modeSpec(t, "echo"))
	if err != nil {
		t.Fatal(err)
	}
	if err := ext.Close(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if gone(orphan) {
		t.Fatal("an external plugin's end swept what a built-in still open had started")
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	waitGone(t, orphan, "a daemon a closed built-in orphaned")
}

// badSchema reports a schema that does not validate, and says when it is
// closed.
type badSchema struct {
	rawPlugin
	closed bool
}

func (b *badSchema) Schema(context.Context) (*plugins.Schema, error) {
	return &plugins.Schema{Actions: map[string]*plugins.Action{"x": {Name: "y"}}}, nil
}
func (b *badSchema) Close() error { b.closed = true; return nil }

// A built-in whose schema does not validate is refused, and the instance
// made to ask it is closed.
func TestInProcessInvalidSchema(t *testing.T) {
	b := &badSchema{}
	_, err := testLauncher(t).InProcess(context.Background(), "bad", func() plugins.Plugin { return b })
	if err == nil || !strings.Contains(err.Error(), `plugin "bad" reported an invalid schema`) {
		t.Fatalf("err = %v", err)
	}
	if !b.closed {
		t.Error("the instance made for the schema was not closed")
	}
}
