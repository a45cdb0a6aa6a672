// Package host owns plugin processes: it launches a plugin (a built-in by
// re-executing the runbook binary, an external one from a verified private
// copy of its binary), confines it (no stdin, only the declared
// environment, its own process group, killed with the host), supervises it
// (a call whose context ends stops the plugin's work or kills it; a crash
// is reported with the tail of the plugin's stderr; the next call starts
// it again) and ends it without leaving orphans. Pool starts the plugins of
// a run together and closes them together.
//
// Transport security: AutoMTLS is off. The host talks to a plugin over a
// Unix socket that go-plugin creates in a 0700 folder made for that
// process, so only the host's own user can connect to it, and that user can
// already read the plugin's memory (ptrace), read its environment and
// replace the binary; there is no network listener for anyone else to
// reach. go-plugin's AutoMTLS (a one-time certificate each way) would
// authenticate the two ends against other local users, whom the folder's
// permissions already keep out, and costs two P-521 key generations per
// launch: BenchmarkLaunch on the 2-core CI machine, medians of 5, gives 39
// ms for a launch and handshake without it and 62 ms with it (58 and 84 ms
// for an external plugin, copy and hash included); a call costs the same
// (0.23 ms) either way. The setting stays available as Launcher.AutoMTLS,
// should plugins ever be reached over TCP (Windows).
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
	// Source is the path of an external plugin's binary; "" launches the
	// built-in plugin Name.
	Source string
	// SHA256 is the checksum an external binary must have; required.
	SHA256 string
	// Env is the whole environment of the plugin process, NAME=VALUE pairs,
	// to which only go-plugin's own variables (the handshake cookie, the
	// protocol versions, the socket folder) are added. Built-ins, which are
	// part of runbook, get the host's environment (BuiltinSpec); an external
	// plugin gets what its declaration allows, and nothing else: not the
	// operator's tokens, not even PATH.
	Env []string
}

// BuiltinSpec is the spec of built-in plugin name, which sees the host's
// environment.
func BuiltinSpec(name string) Spec {
	return Spec{Name: name, Env: os.Environ()}
}

// Defaults of Launcher.
const (
	DefaultStartTimeout = 10 * time.Second
	DefaultStopGrace    = 5 * time.Second
	DefaultStderrLimit  = 16 << 10
)

// Launcher starts plugin processes. The zero value is ready to use.
type Launcher struct {
	// Self is the command that serves a built-in plugin, the plugin's name
	// appended; by default the running executable with "__plugin". Tests
	// point it at a test binary.
	Self []string
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

func (l *Launcher) self() ([]string, error) {
	if len(l.Self) > 0 {
		return l.Self, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the runbook executable to serve built-in plugins: %w", err)
	}
	return []string{exe, "__plugin"}, nil
}

// Launch starts the plugin spec describes and returns it once it has
// answered the handshake and reported its schema. An external plugin's
// binary is copied into a private folder while it is hashed, refused unless
// the hash is spec.SHA256, and the copy is what runs.
func (l *Launcher) Launch(ctx context.Context, spec Spec) (*Plugin, error) {
	if spec.Name == "" {
		return nil, errors.New("launch plugin: no name")
	}
	dir, err := os.MkdirTemp(l.TempDir, "runbook-plugin-"+spec.Name+"-")
	if err != nil {
		return nil, fmt.Errorf("launch plugin %q: %w", spec.Name, err)
	}
	p := &Plugin{spec: spec, l: l, dir: dir}
	if spec.Source == "" {
		self, err := l.self()
		if err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
		p.path = self[0]
		p.args = append(append([]string(nil), self[1:]...), spec.Name)
	} else {
		if p.path, err = privateCopy(spec.Name, spec.Source, spec.SHA256, dir); err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
		if testHookVerified != nil {
			testHookVerified()
		}
		p.sha256 = strings.ToLower(spec.SHA256)
	}
	proc, err := l.startProcess(ctx, spec.Name, p.path, p.args, spec.Env)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	p.proc = proc
	if p.schema, p.info, err = describe(ctx, proc); err != nil {
		proc.kill()
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("plugin %q: %w", spec.Name, err)
	}
	return p, nil
}

func describe(ctx context.Context, proc *process) (*plugins.Schema, grpcplugin.Info, error) {
	s, err := proc.rpc.Schema(ctx)
	if err != nil {
		return nil, grpcplugin.Info{}, err
	}
	info, err := proc.rpc.Info(ctx)
	return s, info, err
}

// testHookVerified, when set, runs between verification and launch.
var testHookVerified func()

// Plugin is a launched plugin: a plugins.Plugin whose calls go to its
// process. When the process has died, the next call starts it again (and
// configures it as it was), so one crash fails one step.
type Plugin struct {
	spec   Spec
	l      *Launcher
	dir    string // private folder of the binary's copy
	path   string
	args   []string
	sha256 string
	schema *plugins.Schema
	info   grpcplugin.Info

	mu     sync.Mutex
	proc   *process
	config cty.Value // cty.NilVal until configured
	closed bool
}

var _ plugins.Plugin = (*Plugin)(nil)

// Name returns the plugin's name.
func (p *Plugin) Name() string { return p.spec.Name }

// SHA256 returns the checksum of the binary that runs, "" for a built-in.
func (p *Plugin) SHA256() string { return p.sha256 }

// Version returns the version the plugin reports ("" for one that does
// not say, as built-ins do: theirs is runbook's).
func (p *Plugin) Version() string { return p.info.Version }

// Pid returns the id of the plugin's current process, 0 when there is none.
func (p *Plugin) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proc == nil {
		return 0
	}
	return p.proc.runner.Pid()
}

// current returns a usable process, starting a new one if the last died.
func (p *Plugin) current(ctx context.Context) (*process, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, fmt.Errorf("plugin %q is closed", p.spec.Name)
	}
	if p.proc != nil && p.proc.usable() {
		return p.proc, nil
	}
	if p.proc != nil {
		p.proc.close()
		p.proc = nil
	}
	proc, err := p.l.startProcess(ctx, p.spec.Name, p.path, p.args, p.spec.Env)
	if err != nil {
		return nil, fmt.Errorf("restart: %w", err)
	}
	if p.config != cty.NilVal {
		if err := proc.rpc.Configure(ctx, p.config); err != nil {
			proc.kill()
			return nil, fmt.Errorf("restart plugin %q: configure: %w", p.spec.Name, err)
		}
	}
	p.proc = proc
	return proc, nil
}

// call runs fn against the current process and makes sense of its failure:
// a call abandoned by its context leaves a plugin that has stopped working
// (or has been killed); a broken connection is a crash, reported with the
// plugin's stderr.
func (p *Plugin) call(ctx context.Context, op string, fn func(*grpcplugin.Client) error) error {
	proc, err := p.current(ctx)
	if err != nil {
		return err
	}
	err = fn(proc.rpc)
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
	ctx, cancel := context.WithTimeout(context.Background(), p.l.stopGrace())
	defer cancel()
	if err := proc.rpc.Stop(ctx); err != nil {
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
	err := p.call(ctx, "configure", func(c *grpcplugin.Client) error { return c.Configure(ctx, config) })
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.config = config
	p.mu.Unlock()
	return nil
}

// Plan implements plugins.Plugin.
func (p *Plugin) Plan(ctx context.Context, req *plugins.ActionRequest) (*plugins.PlanResult, error) {
	var res *plugins.PlanResult
	err := p.call(ctx, "plan of "+p.spec.Name+"."+req.Action, func(c *grpcplugin.Client) (err error) {
		res, err = c.Plan(ctx, req)
		return err
	})
	return res, err
}

// Apply implements plugins.Plugin.
func (p *Plugin) Apply(ctx context.Context, req *plugins.ActionRequest) (*plugins.ApplyResult, error) {
	var res *plugins.ApplyResult
	err := p.call(ctx, p.spec.Name+"."+req.Action, func(c *grpcplugin.Client) (err error) {
		res, err = c.Apply(ctx, req)
		return err
	})
	return res, err
}

// Stop asks the plugin to cancel its calls in flight (on SIGINT, say),
// killing it if they have not returned within StopGrace.
func (p *Plugin) Stop() {
	p.mu.Lock()
	proc := p.proc
	p.mu.Unlock()
	if proc != nil && proc.usable() {
		p.settle(proc)
	}
}

// Close implements plugins.Plugin: it ends the process (gracefully, then
// by force) with everything in its process group, and removes the private
// folder. It returns once the process is gone.
func (p *Plugin) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	proc := p.proc
	p.proc = nil
	p.mu.Unlock()
	if proc != nil {
		proc.close()
	}
	if err := os.RemoveAll(p.dir); err != nil {
		return fmt.Errorf("close plugin %q: %w", p.spec.Name, err)
	}
	return nil
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
	Err    error
}

func (e *CrashError) Error() string {
	msg := fmt.Sprintf("plugin %q %s during %s", e.Plugin, e.Status, e.Op)
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
