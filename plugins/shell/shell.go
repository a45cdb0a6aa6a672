package shell

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
)

// MaxOutput bounds how much of each of stdout and stderr is captured in the
// output (and streamed as progress). What goes past it is counted, not kept.
const MaxOutput = 1 << 20

// maxProgressLine bounds one progress line; a longer line is cut.
const maxProgressLine = 4096

// killGrace is how long a cancelled command's process group has between
// SIGTERM and SIGKILL. A variable so tests can shorten it.
var killGrace = 5 * time.Second

// pipeGrace is how long Apply waits, after bash exits, for background
// processes that still hold its stdout or stderr open.
var pipeGrace = 2 * time.Second

// defaultPath is the PATH a command gets when the host has none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// New returns a shell plugin.
func New() plugins.Plugin { return &plugin{} }

type plugin struct{}

func (*plugin) Schema(context.Context) (*plugins.Schema, error) { return Schema, nil }

func (*plugin) Configure(context.Context, cty.Value) error { return nil }

func (*plugin) Close() error { return nil }

// runArgs are shell.run's arguments, decoded and checked.
type runArgs struct {
	command  string
	dir      string
	env      map[string]string
	readOnly bool
}

func (*plugin) Plan(_ context.Context, req *plugins.ActionRequest) (*plugins.PlanResult, error) {
	action, err := lookup(req.Action)
	if err != nil {
		return nil, err
	}
	unknown := &plugins.PlanResult{Output: cty.UnknownVal(action.Output)}
	args, _ := req.Args.UnmarkDeep()
	if !args.IsKnown() || args.IsNull() {
		unknown.Changes = []string{"run: (command known after apply)"}
		return unknown, nil
	}
	if action.IsReadOnly(args) {
		// Read-only runs are run by the host, not planned: nothing changes.
		return unknown, nil
	}
	cmd := args.GetAttr("command")
	if !cmd.IsKnown() {
		unknown.Changes = []string{"run: (command known after apply)"}
		return unknown, nil
	}
	if err := checkKnown(args); err != nil {
		return nil, err
	}
	unknown.Changes = []string{"run: " + summarize(cmd.AsString())}
	return unknown, nil
}

func (*plugin) Apply(ctx context.Context, req *plugins.ActionRequest) (*plugins.ApplyResult, error) {
	if _, err := lookup(req.Action); err != nil {
		return nil, err
	}
	args, _ := req.Args.UnmarkDeep()
	if !args.IsWhollyKnown() || args.IsNull() {
		return nil, fmt.Errorf("shell.run: arguments must be known to run")
	}
	if err := checkKnown(args); err != nil {
		return nil, err
	}
	ra := decode(args)
	out, err := run(ctx, ra, req.Progress)
	if err != nil {
		return nil, err
	}
	return &plugins.ApplyResult{Output: out}, nil
}

func lookup(name string) (*plugins.Action, error) {
	a := Schema.Actions[name]
	if a == nil {
		return nil, fmt.Errorf("shell: unknown action %q", name)
	}
	return a, nil
}

// checkKnown validates the known parts of the arguments.
func checkKnown(args cty.Value) error {
	if v := args.GetAttr("command"); v.IsKnown() {
		if v.IsNull() || strings.TrimSpace(v.AsString()) == "" {
			return &plugins.Error{Path: cty.GetAttrPath("command"), Summary: "Empty command", Detail: "shell.run needs a command to run."}
		}
		if strings.ContainsRune(v.AsString(), 0) {
			return &plugins.Error{Path: cty.GetAttrPath("command"), Summary: "Invalid command", Detail: "The command contains a NUL byte."}
		}
	}
	if v := args.GetAttr("env"); v.IsKnown() && !v.IsNull() {
		for it := v.ElementIterator(); it.Next(); {
			k, val := it.Element()
			name := k.AsString()
			path := cty.GetAttrPath("env").Index(k)
			if name == "" || strings.ContainsAny(name, "=\x00") {
				return &plugins.Error{Path: path, Summary: "Invalid environment variable name", Detail: fmt.Sprintf("%q cannot be a variable name: it is empty or holds '=' or a NUL byte.", name)}
			}
			if val.IsKnown() && !val.IsNull() && strings.ContainsRune(val.AsString(), 0) {
				return &plugins.Error{Path: path, Summary: "Invalid environment variable value", Detail: fmt.Sprintf("The value of %s contains a NUL byte.", name)}
			}
		}
	}
	return nil
}

func decode(args cty.Value) runArgs {
	ra := runArgs{command: args.GetAttr("command").AsString()}
	if v := args.GetAttr("dir"); !v.IsNull() {
		ra.dir = v.AsString()
	}
	if v := args.GetAttr("env"); !v.IsNull() {
		ra.env = make(map[string]string, v.LengthInt())
		for it := v.ElementIterator(); it.Next(); {
			k, val := it.Element()
			if !val.IsNull() {
				ra.env[k.AsString()] = val.AsString()
			}
		}
	}
	if v := args.GetAttr("read_only"); !v.IsNull() {
		ra.readOnly = v.True()
	}
	return ra
}

// summarize returns the first line of a command, cut to a readable length.
func summarize(command string) string {
	command = strings.TrimSpace(command)
	first, rest, multi := strings.Cut(command, "\n")
	first = strings.TrimSpace(first)
	const limit = 120
	if r := []rune(first); len(r) > limit {
		return string(r[:limit]) + "…"
	}
	if multi && strings.TrimSpace(rest) != "" {
		return first + " …"
	}
	return first
}

// environ is the command's environment: only the variables the runbook gives,
// plus PATH, HOME and LANG so that ordinary tools work. Nothing else of the
// host's environment (tokens, cloud credentials, …) reaches the command unless
// the runbook passes it on explicitly, so a runbook behaves the same whoever
// runs it.
func environ(given map[string]string) []string {
	base := map[string]string{
		"PATH": os.Getenv("PATH"),
		"HOME": os.Getenv("HOME"),
		"LANG": os.Getenv("LANG"),
	}
	if base["PATH"] == "" {
		base["PATH"] = defaultPath
	}
	if base["HOME"] == "" {
		if home, err := os.UserHomeDir(); err == nil {
			base["HOME"] = home
		} else {
			base["HOME"] = "/"
		}
	}
	if base["LANG"] == "" {
		base["LANG"] = "C.UTF-8"
	}
	for k, v := range given {
		base[k] = v
	}
	env := make([]string, 0, len(base))
	for k, v := range base {
		env = append(env, k+"="+v)
	}
	return env
}

// run runs the command in its own process group and returns the output
// object. A non-zero exit is reported in the output; only a command that
// cannot start or is cancelled is an error.
func run(ctx context.Context, ra runArgs, progress func(string)) (cty.Value, error) {
	if ra.dir != "" {
		info, err := os.Stat(ra.dir)
		if err != nil {
			return cty.NilVal, &plugins.Error{Path: cty.GetAttrPath("dir"), Summary: "Working directory not found", Detail: err.Error()}
		}
		if !info.IsDir() {
			return cty.NilVal, &plugins.Error{Path: cty.GetAttrPath("dir"), Summary: "Working directory is not a directory", Detail: ra.dir + " is a file."}
		}
	}

	var mu sync.Mutex // serializes progress calls from the two streams
	emit := func(line string) {
		if progress == nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		progress(line)
	}
	stdout := newCapture("", emit)
	stderr := newCapture("stderr: ", emit)

	outR, outW, err := os.Pipe()
	if err != nil {
		return cty.NilVal, fmt.Errorf("shell.run: stdout pipe: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return cty.NilVal, fmt.Errorf("shell.run: stderr pipe: %w", err)
	}

	cmd := exec.CommandContext(ctx, "bash", "-c", ra.command)
	cmd.Dir = ra.dir
	cmd.Env = environ(ra.env)
	cmd.Stdin = nil // /dev/null: nobody is there to type
	cmd.Stdout = outW
	cmd.Stderr = errW
	// Its own process group, so that cancelling reaches every process the
	// command started, not only bash.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return stopGroup(cmd.Process.Pid) }

	startErr := cmd.Start()
	// The child has its own copies of the write ends; ours must go, or the
	// readers never see the end of the streams.
	outW.Close()
	errW.Close()
	if startErr != nil {
		outR.Close()
		errR.Close()
		return cty.NilVal, fmt.Errorf("shell.run: start bash: %w", startErr)
	}
	pgid := cmd.Process.Pid
	stopReaper := startReaper(pgid)

	var readers sync.WaitGroup
	readers.Go(func() { _, _ = io.Copy(stdout, outR) })
	readers.Go(func() { _, _ = io.Copy(stderr, errR) })

	waitErr := cmd.Wait()
	stopReaper()
	cancelled := ctx.Err() != nil
	if cancelled {
		// Whatever survived SIGTERM, or slipped in since, goes now.
		_ = signalGroup(pgid, syscall.SIGKILL)
	}

	// bash has exited; background processes may still hold the pipes.
	readersDone := make(chan struct{})
	go func() {
		readers.Wait()
		close(readersDone)
	}()
	select {
	case <-readersDone:
	case <-time.After(pipeGrace):
		emit("note: background processes still hold the command's output; what they write after it exited is not captured")
		outR.Close()
		errR.Close()
		<-readersDone
	}
	outR.Close()
	errR.Close()
	stdout.flush()
	stderr.flush()

	if cancelled {
		return cty.NilVal, fmt.Errorf("shell.run: %w: killed the command and its process group", ctx.Err())
	}

	exitCode := 0
	var exitErr *exec.ExitError
	switch {
	case waitErr == nil:
	case errors.As(waitErr, &exitErr):
		exitCode = exitErr.ExitCode()
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			exitCode = 128 + int(ws.Signal()) // as a shell reports it
		}
	default:
		return cty.NilVal, fmt.Errorf("shell.run: wait for bash: %w", waitErr)
	}

	return cty.ObjectVal(map[string]cty.Value{
		"exit_code": cty.NumberIntVal(int64(exitCode)),
		"stdout":    cty.StringVal(stdout.text("stdout")),
		"stderr":    cty.StringVal(stderr.text("stderr")),
	}), nil
}

// stopGroup ends the process group led by pid: SIGTERM, so commands can clean
// up, then SIGKILL once killGrace has passed with any of them still there.
func stopGroup(pid int) error {
	if err := signalGroup(pid, syscall.SIGTERM); err != nil {
		return err
	}
	deadline := time.Now().Add(killGrace)
	for time.Now().Before(deadline) {
		if !groupRuns(pid) {
			return nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	return signalGroup(pid, syscall.SIGKILL)
}

// groupRuns reports whether a process of group pgid still runs. Zombies do
// not count: an orphan that exited waits for init to reap it, which may take
// a while, and must not hold the escalation up.
func groupRuns(pgid int) bool {
	if errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH) {
		return false
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return true // no /proc: assume the worst
	}
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		// "pid (comm) state ppid pgrp …"; comm may hold anything, so parse
		// from its closing parenthesis.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 3 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		if g, err := strconv.Atoi(f[2]); err == nil && g == pgid {
			return true
		}
	}
	return false
}

// signalGroup signals every process of the group led by pid. A group that is
// already gone is not an error.
func signalGroup(pid int, sig syscall.Signal) error {
	err := syscall.Kill(-pid, sig)
	if err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal process group %d: %w", pid, err)
	}
	return nil
}

// capture keeps the first MaxOutput bytes of a stream and reports each
// complete line of what it keeps through emit.
type capture struct {
	prefix  string
	emit    func(string)
	mu      sync.Mutex
	buf     bytes.Buffer
	dropped int64
	partial []byte // the unfinished last line, not yet emitted
	cut     bool   // partial lost bytes to maxProgressLine
}

func newCapture(prefix string, emit func(string)) *capture {
	return &capture{prefix: prefix, emit: emit}
}

func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(p)
	room := MaxOutput - c.buf.Len()
	keep := p
	if len(keep) > room {
		keep = keep[:room]
	}
	c.dropped += int64(n - len(keep))
	c.buf.Write(keep)
	c.lines(keep)
	return n, nil
}

// lines emits the complete lines of p, keeping the rest for later.
func (c *capture) lines(p []byte) {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			c.keepPartial(p)
			return
		}
		c.keepPartial(p[:i])
		c.emitPartial()
		p = p[i+1:]
	}
}

func (c *capture) keepPartial(p []byte) {
	if room := maxProgressLine - len(c.partial); len(p) > room {
		p = p[:room]
		c.cut = true
	}
	c.partial = append(c.partial, p...)
}

func (c *capture) emitPartial() {
	line := string(bytes.TrimSuffix(c.partial, []byte("\r")))
	if c.cut {
		line += "…"
	}
	c.emit(c.prefix + strings.ToValidUTF8(line, "\uFFFD"))
	c.partial = c.partial[:0]
	c.cut = false
}

// flush emits the unfinished last line, once the stream has ended.
func (c *capture) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.partial) > 0 {
		c.emitPartial()
	}
	if c.dropped > 0 {
		c.emit(fmt.Sprintf("%snote: output truncated at %d bytes; %d more bytes not captured", c.prefix, MaxOutput, c.dropped))
	}
}

// text is what was captured, valid UTF-8, with a note when it was cut.
func (c *capture) text(name string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := strings.ToValidUTF8(c.buf.String(), "\uFFFD")
	if c.dropped > 0 {
		s += fmt.Sprintf("\n[runbook: %s truncated at %d bytes; %d more bytes not captured]\n", name, MaxOutput, c.dropped)
	}
	return s
}

// startReaper starts a watchdog that kills the command's process group if
// this process dies first (kill -9 of runbook, a crash), so no command
// outlives the run that started it. The watchdog is a shell reading a pipe
// that only this process holds open: when this process dies, the pipe
// closes, the read returns, and the group is killed. stop ends the
// watchdog without touching the group.
func startReaper(pgid int) (stop func()) {
	r, w, err := os.Pipe()
	if err != nil {
		return func() {}
	}
	reaper := exec.Command("sh", "-c", fmt.Sprintf("read _; kill -KILL -%d 2>/dev/null", pgid))
	reaper.Stdin = r
	reaper.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	startErr := reaper.Start()
	r.Close()
	if startErr != nil {
		w.Close()
		return func() {}
	}
	return func() {
		_ = reaper.Process.Kill()
		_ = reaper.Wait()
		w.Close()
	}
}
