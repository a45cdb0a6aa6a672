package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"

	"github.com/runbookdev/runbook/plugins/grpcplugin"
	"github.com/runbookdev/runbook/plugins/proctree"
)

// process is one running plugin process and the connection to it.
type process struct {
	l         *Launcher
	client    *plugin.Client
	rpc       *grpcplugin.Client
	runner    *procRunner
	stderr    *ring
	socketDir string // go-plugin's; set by the RunnerFunc

	mu     sync.Mutex
	killed bool // by the host, after it stopped answering
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.runner.exited:
		return true
	default:
		return false
	}
}

// usable reports whether calls can still go to the process.
func (p *process) usable() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.killed && !p.exited()
}

// kill ends the process, its group and everything below it at once and
// waits for go-plugin's goroutines; the process is unusable afterwards.
func (p *process) kill() {
	p.mu.Lock()
	p.killed = true
	p.mu.Unlock()
	tree := proctree.Snapshot(p.runner.Pid())
	p.runner.killGroup()
	proctree.Kill(tree)
	p.client.Kill()
	p.removeSocketDir()
	p.sweep()
}

// sweep waits briefly for the process to be reaped, then has the launcher
// end what plugins orphaned (see Launcher.Subreaper).
func (p *process) sweep() {
	if p.runner.Pid() != 0 {
		select {
		case <-p.runner.exited:
		case <-time.After(exitWait):
		}
	}
	p.l.sweepOrphans()
}

// removeSocketDir removes the folder of go-plugin's socket, which go-plugin
// leaves behind when a start is cancelled before the process started.
func (p *process) removeSocketDir() {
	p.runner.mu.Lock()
	dir := p.socketDir
	p.runner.mu.Unlock()
	if dir != "" {
		_ = os.RemoveAll(dir)
	}
}

// closeGrace bounds a graceful close: go-plugin's shutdown call waits for
// an answer, which a frozen plugin never gives.
const closeGrace = 5 * time.Second

// close ends the process: gracefully (go-plugin asks the plugin to shut
// down and waits two seconds for it to exit), by force after closeGrace,
// and then kills anything left in its process group and below it: the
// processes it started, found before it ended (a daemon that left the
// group with setsid included).
func (p *process) close() {
	tree := proctree.Snapshot(p.runner.Pid())
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTimer(closeGrace)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
			p.runner.killGroup()
		}
	}()
	p.client.Kill()
	close(done)
	wg.Wait()
	p.runner.killGroup()
	proctree.Kill(tree)
	p.removeSocketDir()
	p.sweep()
}

// startProcess launches path (a private copy of source, which messages
// name) with env and completes the go-plugin
// handshake, asking the plugin for its schema to prove it speaks the
// protocol; what names the process in
// messages (`plugin "NAME"`). ctx bounds the start: when it ends, the
// process group is killed.
func (l *Launcher) startProcess(ctx context.Context, what, path, source string, env []string) (*process, error) {
	stderr := newRing(l.stderrLimit())
	r := &procRunner{path: path, exited: make(chan struct{})}
	logger := l.Logger
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	var p *process
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  grpcplugin.Handshake,
		VersionedPlugins: grpcplugin.PluginSets(),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		RunnerFunc: func(_ hclog.Logger, spec *exec.Cmd, socketDir string) (runner.Runner, error) {
			r.mu.Lock()
			defer r.mu.Unlock()
			p.socketDir = socketDir
			// spec.Env holds only go-plugin's variables (SkipHostEnv).
			r.env = append(append([]string(nil), env...), spec.Env...)
			return r, nil
		},
		SkipHostEnv:      true,
		UnixSocketConfig: &plugin.UnixSocketConfig{TempDir: socketBase()},
		StartTimeout:     l.startTimeout(),
		Stderr:           stderr,
		SyncStdout:       stderr,
		SyncStderr:       stderr,
		Logger:           logger,
		AutoMTLS:         l.AutoMTLS,
		GRPCDialOptions:  grpcplugin.DialOptions(),
	})
	p = &process{l: l, client: client, runner: r, stderr: stderr}

	// A cancelled start kills the process, which ends go-plugin's wait for
	// the handshake.
	started := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-ctx.Done():
			r.cancelStart()
		case <-started:
		}
	}()
	err := p.handshake(ctx)
	close(started)
	wg.Wait()
	if err != nil {
		p.kill()
		return nil, fmt.Errorf("start %s (%s): %w%s", what, source, handshakeError(ctx, r, err), p.stderrNote())
	}
	return p, nil
}

// handshakeError says why the handshake of the plugin r runs failed with
// err; the process is killed by then.
func handshakeError(ctx context.Context, r *procRunner, err error) error {
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	case r.exitedByItself():
		return fmt.Errorf("it %s before answering the handshake. %s", describeExit(r.waitErr), r.Diagnose(ctx))
	case strings.Contains(strings.ToLower(err.Error()), "incompatible api version"):
		return fmt.Errorf("%w: it was built for another version of runbook's plugin protocol (this runbook speaks version %d); rebuild it with the SDK (plugins/sdk) of this runbook's version (docs/plugins.md, \"Lifecycle\")", err, grpcplugin.Handshake.ProtocolVersion)
	}
	return err
}

// describeExit says how a process ended, from its Wait error.
func describeExit(err error) string {
	if err == nil {
		return "exited"
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return "exited (" + exitErr.String() + ")"
	}
	return "exited (" + err.Error() + ")"
}

// socketBase is where go-plugin makes the folder of a plugin's socket: the
// system's temporary folder, unless its path is too long for a Unix socket
// (104 bytes on macOS), as a long $TMPDIR can be.
func socketBase() string {
	base := os.TempDir()
	if len(base) > 50 {
		return "/tmp"
	}
	return base
}

func (p *process) handshake(ctx context.Context) error {
	if _, err := p.client.Start(); err != nil {
		return err
	}
	conn, err := p.client.Client()
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	raw, err := conn.Dispense(grpcplugin.PluginName)
	if err != nil {
		return fmt.Errorf("dispense: %w", err)
	}
	rpc, ok := raw.(*grpcplugin.Client)
	if !ok {
		return fmt.Errorf("dispense: got %T", raw)
	}
	p.rpc = rpc
	// The first call proves that the plugin speaks the protocol, and
	// caches its schema.
	if _, err := p.rpc.Schema(ctx); err != nil {
		return err
	}
	return nil
}

// stderrNote is the tail of the plugin's stderr, for an error message, or "".
func (p *process) stderrNote() string {
	ex := excerpt(p.stderr.Bytes())
	if ex == "" {
		return ""
	}
	return "\nplugin stderr:\n" + ex
}

// exitWait is how long a call whose connection broke waits for the process
// to be seen exiting, to report how it ended.
const exitWait = 2 * time.Second

// exitStatus waits briefly for the process to end and describes how it did.
func (p *process) exitStatus() string {
	select {
	case <-p.runner.exited:
	case <-time.After(exitWait):
		return "stopped answering"
	}
	p.mu.Lock()
	killed := p.killed
	p.mu.Unlock()
	if killed {
		return "was killed by runbook"
	}
	return describeExit(p.runner.waitErr)
}

// procRunner is the go-plugin runner.Runner of a plugin process: go-plugin's
// own forces the host's stdin on the plugin and kills only the plugin, not
// what it started.
type procRunner struct {
	path string
	env  []string

	cmd            *exec.Cmd
	stdout, stderr io.ReadCloser
	exited         chan struct{} // closed when Wait has returned
	waitErr        error         // set before exited is closed

	mu        sync.Mutex
	pid       int
	cancelled bool
}

var _ runner.Runner = (*procRunner)(nil)

// Start implements runner.Runner.
func (r *procRunner) Start(context.Context) error {
	for attempt := 1; ; attempt++ {
		r.mu.Lock()
		if r.cancelled {
			r.mu.Unlock()
			return errors.New("start cancelled")
		}
		cmd := exec.Command(r.path)
		cmd.Env = r.env
		cmd.Stdin = nil // /dev/null: the terminal is runbook's, for confirmations
		cmd.SysProcAttr = sysProcAttr()
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			r.mu.Unlock()
			return err
		}
		stderr, err := cmd.StderrPipe()
		if err != nil {
			r.mu.Unlock()
			return err
		}
		err = startChild(cmd)
		if err == nil {
			r.cmd, r.stdout, r.stderr, r.pid = cmd, stdout, stderr, cmd.Process.Pid
			r.mu.Unlock()
			return nil
		}
		r.mu.Unlock()
		if !textBusy(err) || attempt == 20 {
			return err
		}
		time.Sleep(time.Duration(attempt) * 5 * time.Millisecond)
	}
}

// exitedByItself reports whether the process has ended with an exit
// status of its own, rather than by a signal.
func (r *procRunner) exitedByItself() bool {
	select {
	case <-r.exited:
	default:
		return false
	}
	var exitErr *exec.ExitError
	if errors.As(r.waitErr, &exitErr) {
		return exitErr.Exited()
	}
	return r.waitErr == nil
}

// cancelStart kills the process if it started, and keeps it from starting.
func (r *procRunner) cancelStart() {
	r.mu.Lock()
	r.cancelled = true
	r.mu.Unlock()
	r.killGroup()
}

// killGroup kills the plugin's process group.
func (r *procRunner) killGroup() {
	r.mu.Lock()
	pid, cmd := r.pid, r.cmd
	r.mu.Unlock()
	if pid == 0 {
		return
	}
	if err := killGroup(pid); err != nil {
		_ = cmd.Process.Kill()
	}
}

// Wait implements runner.Runner.
func (r *procRunner) Wait(context.Context) error {
	r.waitErr = r.cmd.Wait()
	children.exited(r.cmd.Process.Pid)
	close(r.exited)
	return r.waitErr
}

// Kill implements runner.Runner.
func (r *procRunner) Kill(context.Context) error {
	r.killGroup()
	return nil
}

// Stdout implements runner.Runner.
func (r *procRunner) Stdout() io.ReadCloser { return r.stdout }

// Stderr implements runner.Runner.
func (r *procRunner) Stderr() io.ReadCloser { return r.stderr }

// Name implements runner.Runner.
func (r *procRunner) Name() string { return r.path }

// ID implements runner.Runner.
func (r *procRunner) ID() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pid == 0 {
		return ""
	}
	return strconv.Itoa(r.pid)
}

// Pid returns the process id, 0 before the start.
func (r *procRunner) Pid() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pid
}

// Diagnose implements runner.Runner.
func (r *procRunner) Diagnose(context.Context) string {
	return "The program did not answer the runbook plugin handshake: it is not a runbook plugin (built with github.com/runbookdev/runbook/plugins/sdk), or not one for this system, or it failed as it started."
}

// PluginToHost implements runner.Runner.
func (r *procRunner) PluginToHost(network, address string) (string, string, error) {
	return network, address, nil
}

// HostToPlugin implements runner.Runner.
func (r *procRunner) HostToPlugin(network, address string) (string, string, error) {
	return network, address, nil
}
