package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/grpcplugin"
)

// Spec says which plugin to launch and what it may see.
type Spec struct {
	// Name is the plugin's name in runbooks.
	Name string
	// Source is the path of an external plugin's binary; required.
	Source string
	// SHA256 is the checksum an external binary must have; required.
	SHA256 string
	// Env is the whole environment of the plugin process, NAME=VALUE pairs,
	// to which only go-plugin's own variables (the handshake cookie, the
	// protocol versions, the socket folder) are added: what the plugin's
	// declaration allows, and nothing else: not the operator's tokens, not
	// even PATH.
	Env []string
}

// Defaults of Launcher.
const (
	DefaultStartTimeout = 10 * time.Second
	DefaultStopGrace    = 5 * time.Second
	DefaultStderrLimit  = 16 << 10
)

// Launcher starts plugin processes. The zero value is ready to use.
type Launcher struct {
	// StartTimeout bounds the start and handshake of a plugin: a binary
	// that is not a plugin and never answers fails after it.
	StartTimeout time.Duration
	// StopGrace is how long a plugin has to end its work once a call's
	// context ends (its caller gave up, or the step timed out) before its
	// process group is killed.
	StopGrace time.Duration
	// StderrLimit is how much of a plugin's stderr is kept, the last bytes,
	// for crash reports.
	StderrLimit int
	// AutoMTLS authenticates the connection with one-time certificates
	// (see the package documentation for why it is off by default).
	AutoMTLS bool
	// TempDir holds the private folders of plugin processes; "" is the
	// system's temporary folder.
	TempDir string
	// Logger receives go-plugin's logs; nil discards them.
	Logger hclog.Logger
	// Subreaper makes this process adopt what plugins orphan, and end it
	// once no plugin process runs (see orphans.go): only for a program
	// that starts no children of its own besides plugins.
	Subreaper bool
}

func (l *Launcher) startTimeout() time.Duration {
	if l.StartTimeout > 0 {
		return l.StartTimeout
	}
	return DefaultStartTimeout
}

func (l *Launcher) stopGrace() time.Duration {
	if l.StopGrace > 0 {
		return l.StopGrace
	}
	return DefaultStopGrace
}

func (l *Launcher) stderrLimit() int {
	if l.StderrLimit > 0 {
		return l.StderrLimit
	}
	return DefaultStderrLimit
}

// Launch starts the plugin spec describes and returns it once it has
// answered the handshake and reported its schema. An external plugin's
// binary is copied into a private folder while it is hashed, refused unless
// the hash is spec.SHA256, and the copy is what runs.
func (l *Launcher) Launch(ctx context.Context, spec Spec) (*Plugin, error) {
	if spec.Name == "" {
		return nil, errors.New("launch plugin: no name")
	}
	if spec.Source == "" {
		return nil, fmt.Errorf("launch plugin %q: no binary (built-ins run in process: InProcess)", spec.Name)
	}
	l.adopt()
	dir, err := l.makePrivateDir(spec.Name)
	if err != nil {
		return nil, fmt.Errorf("launch plugin %q: %w", spec.Name, err)
	}
	slot := &procSlot{l: l, label: fmt.Sprintf("plugin %q", spec.Name), source: spec.Source, dir: dir, env: spec.Env}
	p := &Plugin{spec: spec, slot: slot}
	if slot.path, err = privateCopy(spec.Name, spec.Source, spec.SHA256, dir); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if testHookVerified != nil {
		testHookVerified()
	}
	if err := slot.start(ctx); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if p.schema, p.info, err = describe(ctx, slot.proc.rpc); err != nil {
		slot.proc.kill()
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("plugin %q: %w", spec.Name, err)
	}
	return p, nil
}

func describe(ctx context.Context, c *grpcplugin.Client) (*plugins.Schema, grpcplugin.Info, error) {
	s, err := c.Schema(ctx)
	if err != nil {
		return nil, grpcplugin.Info{}, err
	}
	info, err := c.Info(ctx)
	return s, info, err
}

// testHookVerified, when set, runs between verification and launch.
var testHookVerified func()

// procSlot is a plugin process and how to start it again. Every (re)start
// is a new generation, so that the plugin knows when to configure the
// process it talks to.
type procSlot struct {
	l      *Launcher
	label  string // for messages: `plugin "NAME"`
	source string // the declared binary, for messages
	dir    string // private folder, with the binary's copy
	path   string // the copy, which runs
	env    []string

	mu     sync.Mutex
	proc   *process
	gen    int
	closed bool
}

// start starts the first process.
func (s *procSlot) start(ctx context.Context) error {
	proc, err := s.l.startProcess(ctx, s.label, s.path, s.source, s.env)
	if err != nil {
		return err
	}
	s.proc, s.gen = proc, 1
	return nil
}

// current returns a usable process and its generation, starting a new one
// if the last died.
func (s *procSlot) current(ctx context.Context) (*process, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, 0, fmt.Errorf("%s is closed", s.label)
	}
	if s.proc != nil && s.proc.usable() {
		return s.proc, s.gen, nil
	}
	if s.proc != nil {
		s.proc.close()
		s.proc = nil
	}
	proc, err := s.l.startProcess(ctx, s.label, s.path, s.source, s.env)
	if err != nil {
		return nil, 0, fmt.Errorf("restart: %w", err)
	}
	s.proc = proc
	s.gen++
	return proc, s.gen, nil
}

// running returns the process, or nil when there is none.
func (s *procSlot) running() *process {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc
}

// release is the plugin's close: it ends the process (gracefully, then by
// force, with everything in its process group) and removes the private
// folder.
func (s *procSlot) release() error {
	proc, first := closeOnce(&s.mu, &s.closed, &s.proc)
	if !first {
		return nil
	}
	if proc != nil {
		proc.close()
	}
	if err := os.RemoveAll(s.dir); err != nil {
		return fmt.Errorf("close %s: %w", s.label, err)
	}
	return nil
}

// Plugin is a launched plugin: a plugins.Plugin whose calls go to its
// process. When the process has died, the next call starts it again (and
// configures it as it was), so one crash fails one step.
type Plugin struct {
	spec   Spec
	slot   *procSlot
	schema *plugins.Schema
	info   grpcplugin.Info

	mu        sync.Mutex
	config    cty.Value // cty.NilVal until configured
	configGen int       // the process generation config was given to
	closed    bool
}

var _ plugins.Plugin = (*Plugin)(nil)

// Name returns the plugin's name.
func (p *Plugin) Name() string { return p.spec.Name }

// Version returns the version the plugin reports ("" for one that does
// not say).
func (p *Plugin) Version() string { return p.info.Version }

// pid returns the id of the plugin's current process, 0 when there is none.
func (p *Plugin) pid() int {
	proc := p.slot.running()
	if proc == nil {
		return 0
	}
	return proc.runner.Pid()
}

// rpc is the client of this plugin on proc.
func (p *Plugin) rpc(proc *process) *grpcplugin.Client { return proc.rpc }

// current returns a usable process, starting a new one if the last died
// and configuring it as this plugin was configured.
func (p *Plugin) current(ctx context.Context) (*process, int, error) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return nil, 0, fmt.Errorf("plugin %q is closed", p.spec.Name)
	}
	proc, gen, err := p.slot.current(ctx)
	if err != nil {
		return nil, 0, err
	}
	p.mu.Lock()
	config, configured := p.config, p.configGen
	p.mu.Unlock()
	if config != cty.NilVal && configured != gen {
		if err := p.rpc(proc).Configure(ctx, config); err != nil {
			proc.kill()
			return nil, 0, fmt.Errorf("restart plugin %q: configure: %w", p.spec.Name, err)
		}
		p.mu.Lock()
		p.configGen = gen
		p.mu.Unlock()
	}
	return proc, gen, nil
}

// call runs fn against the current process and makes sense of its failure:
// a call abandoned by its context leaves a plugin that has stopped working
// (or has been killed); a broken connection is a crash, reported with the
// plugin's stderr.
//
// fn gets the generation of the process it talks to (see procSlot).
func (p *Plugin) call(ctx context.Context, op string, fn func(c *grpcplugin.Client, gen int) error) error {
	proc, gen, err := p.current(ctx)
	if err != nil {
		return err
	}
	err = fn(p.rpc(proc), gen)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		p.settle(proc)
		return err
	}
	var connErr *grpcplugin.ConnError
	if errors.As(err, &connErr) {
		return p.crashed(proc, op, err)
	}
	return err
}

// settle makes sure nothing of an abandoned call keeps running: the plugin
// is asked to stop its calls in flight and killed, with its process group,
// if they have not returned within the launcher's StopGrace.
func (p *Plugin) settle(proc *process) {
	ctx, cancel := context.WithTimeout(context.Background(), p.slot.l.stopGrace())
	defer cancel()
	if err := p.rpc(proc).Stop(ctx); err != nil {
		proc.kill()
	}
}

func (p *Plugin) crashed(proc *process, op string, err error) error {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return fmt.Errorf("plugin %q was closed during %s: %w", p.spec.Name, op, err)
	}
	status := proc.exitStatus()
	if !proc.exited() {
		proc.kill()
	}
	return &CrashError{Plugin: p.spec.Name, Op: op, Status: status, Stderr: string(proc.stderr.Bytes()), Err: err}
}

// Schema implements plugins.Plugin: the schema reported at launch.
func (p *Plugin) Schema(context.Context) (*plugins.Schema, error) { return p.schema, nil }

// Configure implements plugins.Plugin. The configuration is kept, for a
// restarted process.
func (p *Plugin) Configure(ctx context.Context, config cty.Value) error {
	var configured int
	err := p.call(ctx, "configure", func(c *grpcplugin.Client, gen int) error {
		configured = gen
		return c.Configure(ctx, config)
	})
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.config, p.configGen = config, configured
	p.mu.Unlock()
	return nil
}

// Plan implements plugins.Plugin.
func (p *Plugin) Plan(ctx context.Context, req *plugins.ActionRequest) (*plugins.PlanResult, error) {
	var res *plugins.PlanResult
	err := p.call(ctx, "plan of "+p.spec.Name+"."+req.Action, func(c *grpcplugin.Client, _ int) (err error) {
		res, err = c.Plan(ctx, req)
		return err
	})
	return res, err
}

// Apply implements plugins.Plugin.
func (p *Plugin) Apply(ctx context.Context, req *plugins.ActionRequest) (*plugins.ApplyResult, error) {
	var res *plugins.ApplyResult
	err := p.call(ctx, p.spec.Name+"."+req.Action, func(c *grpcplugin.Client, _ int) (err error) {
		res, err = c.Apply(ctx, req)
		return err
	})
	return res, err
}

// Close implements plugins.Plugin. It ends the process (gracefully, then
// by force) with everything in its process group, and removes its private
// folder; Close returns once the process is gone.
func (p *Plugin) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	return p.slot.release()
}

// closeOnce marks a thing closed under mu and takes what it holds, leaving
// the zero value: first is false, and nothing is taken, when it was closed
// already.
func closeOnce[T any](mu *sync.Mutex, closed *bool, held *T) (v T, first bool) {
	mu.Lock()
	defer mu.Unlock()
	if *closed {
		return v, false
	}
	*closed = true
	v, *held = *held, v
	return v, true
}

// CrashError is a call that failed because the plugin process died or
// stopped answering. Stderr holds the last of what the process wrote to
// its stderr (Launcher.StderrLimit bytes), for the transcript; the message
// shows an excerpt.
type CrashError struct {
	Plugin string
	Op     string
	// Status says how the process ended: "exited (exit status 2)",
	// "exited (signal: killed)", "was killed by runbook", …
	Status string
	Stderr string
	// InProcess is set for a built-in called in this process: Stderr then
	// holds the panic and its goroutine's stack, if it panicked.
	InProcess bool
	Err       error
}

func (e *CrashError) Error() string {
	msg := fmt.Sprintf("plugin %q %s during %s", e.Plugin, e.Status, e.Op)
	if e.InProcess {
		if ex := excerpt([]byte(e.Stderr)); ex != "" {
			return msg + ":\n" + ex
		}
		return msg
	}
	if ex := excerpt([]byte(e.Stderr)); ex != "" {
		return msg + "; its stderr ends with:\n" + ex
	}
	return msg + " (it wrote nothing to stderr)"
}

func (e *CrashError) Unwrap() error { return e.Err }

// excerptLimit bounds the stderr shown in an error message.
const excerptLimit = 4 << 10

// excerpt is the part of a plugin's stderr worth showing, indented: from
// the last Go panic or fatal error if there is one (the stack trace below
// it says where), else the last lines.
func excerpt(b []byte) string {
	s := strings.TrimRight(string(b), "\n\r\t ")
	if s == "" {
		return ""
	}
	start := -1
	for _, marker := range []string{"panic: ", "fatal error: "} {
		if i := strings.LastIndex(s, "\n"+marker); i >= 0 && i+1 > start {
			start = i + 1
		} else if strings.HasPrefix(s, marker) && start < 0 {
			start = 0
		}
	}
	cut := false
	if start >= 0 {
		s = s[start:]
		if len(s) > excerptLimit {
			s, cut = s[:excerptLimit], true
			if i := strings.LastIndex(s, "\n"); i > 0 {
				s = s[:i]
			}
		}
	} else if len(s) > excerptLimit {
		s = s[len(s)-excerptLimit:]
		if i := strings.Index(s, "\n"); i >= 0 {
			s = s[i+1:]
		}
		s = "…\n" + s
	}
	if cut {
		s += "\n…"
	}
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}
