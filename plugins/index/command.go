package index

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// killGrace is how long a cancelled build_command's process group has
// between SIGTERM and SIGKILL. A variable so tests can shorten it.
var killGrace = 5 * time.Second

// pipeGrace is how long, once the command and its group are gone, its output
// is still read from a process that left the group and holds the pipes.
var pipeGrace = 2 * time.Second

// maxProgressLine bounds one streamed line of the command's output.
const maxProgressLine = 4096

// stderrTail is how many of the command's last stderr lines a failure quotes.
const stderrTail = 10

// commandBuilder builds with the plugin's build_command (see the package doc
// for its contract).
type commandBuilder struct {
	command string
}

func (c *commandBuilder) Build(ctx context.Context, req BuilderRequest) (*Manifest, error) {
	if err := c.run(ctx, req); err != nil {
		return nil, err
	}
	path := filepath.Join(req.Out, manifestFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("build_command exited 0 but wrote no %s into its output folder ($2, $RUNBOOK_INDEX_OUTPUT)", manifestFile)
	}
	if err != nil {
		return nil, fmt.Errorf("build_command: %w", err)
	}
	if len(data) > maxManifestSize {
		return nil, fmt.Errorf("build_command wrote a %s larger than %d bytes", manifestFile, maxManifestSize)
	}
	m, err := parseManifest(data, true)
	if err != nil {
		return nil, fmt.Errorf("build_command wrote an invalid %s: %w", manifestFile, err)
	}
	say(req.Progress, "build_command built %s", plural(m.DocCount, "document"))
	return m, nil
}

// run runs the command in its own process group and waits for it. The group
// is killed when ctx is done, when the command has exited (whatever it left
// running must not write into the build any more), and — through a reaper —
// when this process dies first.
func (c *commandBuilder) run(ctx context.Context, req BuilderRequest) error {
	stdout := &lineSink{emit: req.Progress}
	stderr := &lineSink{emit: req.Progress, prefix: "stderr: ", tail: stderrTail}
	outR, outW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("build_command: stdout pipe: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return fmt.Errorf("build_command: stderr pipe: %w", err)
	}

	cmd := exec.CommandContext(ctx, "bash", "-c", c.command, "runbook-index-build", req.Source, req.Out)
	cmd.Env = append(os.Environ(),
		"RUNBOOK_INDEX_NAME="+req.Name,
		"RUNBOOK_INDEX_VERSION="+req.Version,
		"RUNBOOK_INDEX_SOURCE="+req.Source,
		"RUNBOOK_INDEX_OUTPUT="+req.Out,
	)
	cmd.Stdin = nil // /dev/null: nobody is there to type
	// Files, not writers: Wait returns when bash exits, not when the last
	// process holding the pipes does.
	cmd.Stdout = outW
	cmd.Stderr = errW
	// Its own process group, so that killing reaches every process the
	// command started, not only bash.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var (
		mu       sync.Mutex
		escalate *time.Timer
	)
	cmd.Cancel = func() error {
		mu.Lock()
		defer mu.Unlock()
		pgid := cmd.Process.Pid
		escalate = time.AfterFunc(killGrace, func() { _ = signalGroup(pgid, syscall.SIGKILL) })
		return signalGroup(pgid, syscall.SIGTERM)
	}
	cmd.WaitDelay = killGrace + time.Second

	startErr := cmd.Start()
	outW.Close()
	errW.Close()
	if startErr != nil {
		outR.Close()
		errR.Close()
		return fmt.Errorf("build_command: start bash: %w", startErr)
	}
	pgid := cmd.Process.Pid
	stopReaper := startReaper(pgid)
	var readers sync.WaitGroup
	readers.Go(func() { _, _ = io.Copy(stdout, outR) })
	readers.Go(func() { _, _ = io.Copy(stderr, errR) })

	waitErr := cmd.Wait()
	stopReaper()
	_ = signalGroup(pgid, syscall.SIGKILL)
	mu.Lock()
	if escalate != nil {
		escalate.Stop()
	}
	mu.Unlock()

	// The group is gone; only a process that left it (setsid) could still
	// hold the pipes, and it gets pipeGrace.
	done := make(chan struct{})
	go func() {
		readers.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(pipeGrace):
		outR.Close()
		errR.Close()
		<-done
	}
	outR.Close()
	errR.Close()
	stdout.flush()
	stderr.flush()

	if err := ctx.Err(); err != nil {
		return fmt.Errorf("build_command: %w: killed the command and its process group", err)
	}
	var exitErr *exec.ExitError
	switch {
	case waitErr == nil:
		return nil
	case errors.As(waitErr, &exitErr):
		code := exitErr.ExitCode()
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
		msg := fmt.Sprintf("build_command exited with status %d", code)
		if tail := stderr.lastLines(); tail != "" {
			msg += "; its last stderr lines:\n" + tail
		}
		return errors.New(msg)
	default:
		return fmt.Errorf("build_command: wait for bash: %w", waitErr)
	}
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

// startReaper starts a watchdog that kills the command's process group if
// this process dies first: a shell reading a pipe only this process holds
// open. When this process dies the read returns and the group is killed.
// stop ends the watchdog without touching the group.
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

// lineSink streams what a command writes as progress lines, and keeps the
// last few lines for an error message.
type lineSink struct {
	emit    func(string)
	prefix  string
	tail    int
	mu      sync.Mutex
	partial []byte
	cut     bool
	last    []string
}

var _ io.Writer = (*lineSink)(nil)

func (s *lineSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i]
		}
		if room := maxProgressLine - len(s.partial); len(chunk) > room {
			chunk = chunk[:room]
			s.cut = true
		}
		s.partial = append(s.partial, chunk...)
		if i < 0 {
			break
		}
		s.line()
		p = p[i+1:]
	}
	return n, nil
}

// line ends the current line.
func (s *lineSink) line() {
	text := validUTF8(bytes.TrimSuffix(s.partial, []byte("\r")))
	if s.cut {
		text += "…"
	}
	s.partial, s.cut = s.partial[:0], false
	say(s.emit, "%s%s", s.prefix, text)
	if s.tail > 0 {
		s.last = append(s.last, text)
		if len(s.last) > s.tail {
			s.last = s.last[1:]
		}
	}
}

func (s *lineSink) flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.partial) > 0 {
		s.line()
	}
}

func (s *lineSink) lastLines() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.last, "\n")
}
