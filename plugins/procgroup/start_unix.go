//go:build unix

package procgroup

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// gateScript goes before the command's script, on its first line so that
// bash's line numbers stay the script's: it waits for the line Start writes
// on descriptor 3 once the watchdog knows the group, exits (129, as if hung
// up) when the pipe ends without it, and closes the descriptor.
const gateScript = "IFS= read -r -u 3 _ || exit 129; exec 3<&-; "

// Start starts the command in a process group of its own, led by bash,
// and has the watchdog kill that group should this process die before
// Wait returns.
func (c *Cmd) Start() error {
	outR, outW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("stdout pipe: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return fmt.Errorf("stderr pipe: %w", err)
	}
	cmd := c.cmd
	c.configure(outW, errW)

	// The gate: bash waits, before the script runs, until the watchdog
	// knows the command's group, so that nothing of it can outlive this
	// process even if it dies at the command's first instant; if this
	// process dies first, the gate reads the end of its pipe and bash
	// exits without running the script.
	gateR, gateW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		errR.Close()
		errW.Close()
		return fmt.Errorf("gate pipe: %w", err)
	}
	cmd.ExtraFiles = []*os.File{gateR} // fd 3
	if len(cmd.Args) > 2 && cmd.Args[1] == "-c" {
		cmd.Args[2] = gateScript + cmd.Args[2]
	}
	dog.ready()
	startErr := cmd.Start()
	// The child has its own copies of the pipes' ends it uses; ours must
	// go, or the readers never see the end of the streams.
	outW.Close()
	errW.Close()
	gateR.Close()
	if startErr != nil {
		gateW.Close()
		outR.Close()
		errR.Close()
		return fmt.Errorf("start bash: %w", startErr)
	}
	if err := dog.watch(cmd.Process.Pid); err != nil {
		// The gate closes unopened: bash exits (129) before the script
		// runs.
		gateW.Close()
		_ = cmd.Wait()
		outR.Close()
		errR.Close()
		return err
	}
	c.outR, c.errR = outR, errR
	c.started = true
	_, _ = gateW.Write([]byte("\n"))
	gateW.Close()
	c.reader.Go(func() { _, _ = io.Copy(orDiscard(c.Stdout), outR) })
	c.reader.Go(func() { _, _ = io.Copy(orDiscard(c.Stderr), errR) })
	return nil
}

// configure sets up the command to run in its group, its output written
// to outW and errW.
func (c *Cmd) configure(outW, errW *os.File) {
	cmd := c.cmd
	cmd.Dir = c.Dir
	cmd.Env = c.Env
	// Files, not writers: Wait returns when bash exits, not when the last
	// process holding the pipes does.
	cmd.Stdout = outW
	cmd.Stderr = errW
	// Its own process group, so that stopping reaches every process the
	// command started, not only bash.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = c.stop
	// A backstop should signalling the group fail: bash itself is killed.
	cmd.WaitDelay = c.Grace + time.Second
}

// Wait waits for bash to exit, ends the group as the command was set up
// to, takes the group back from the watchdog (leftovers that were let run
// on are no longer killed should this process die) and reads what remains
// of the output. Once the context is done, it returns the context's error;
// a non-zero exit is not an error but an Exit.Code.
func (c *Cmd) Wait() (Exit, error) {
	if !c.started {
		return Exit{}, errors.New("procgroup: Wait before a successful Start")
	}
	waitErr := c.cmd.Wait()
	cancelled := c.ctx.Err() != nil
	pgid := c.cmd.Process.Pid
	// Wait has returned, so Cancel has either run or never will.
	c.mu.Lock()
	stopping, abort := c.stopping, c.abort
	c.mu.Unlock()
	switch {
	case c.KillLeftovers:
		if abort != nil {
			close(abort)
			<-stopping
		}
		_ = signalGroup(pgid, syscall.SIGKILL)
	case cancelled:
		// The group has the rest of its grace; then whatever survived
		// SIGTERM, or slipped in since, goes.
		if stopping != nil {
			<-stopping
		}
		_ = signalGroup(pgid, syscall.SIGKILL)
	}
	dog.forget(pgid)

	exit := Exit{OutputCut: !c.drain()}
	if cancelled {
		return exit, fmt.Errorf("%w: killed the command and its process group", c.ctx.Err())
	}
	var exitErr *exec.ExitError
	switch {
	case waitErr == nil:
	case errors.As(waitErr, &exitErr):
		exit.Code = exitErr.ExitCode()
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			exit.Code = 128 + int(ws.Signal())
		}
	default:
		return exit, fmt.Errorf("wait for bash: %w", waitErr)
	}
	return exit, nil
}

// drain waits for the readers, up to PipeGrace: bash has exited, but
// processes it left behind may still hold the pipes. It reports whether
// the output was read to its end.
func (c *Cmd) drain() bool {
	done := make(chan struct{})
	go func() {
		c.reader.Wait()
		close(done)
	}()
	complete := true
	select {
	case <-done:
	case <-time.After(c.PipeGrace):
		complete = false
		c.outR.Close()
		c.errR.Close()
		<-done
	}
	c.outR.Close()
	c.errR.Close()
	return complete
}

// stop is the command's Cancel: SIGTERM to the group now, so its processes
// can clean up, and SIGKILL once Grace has passed with any of them still
// running. It does not wait, so that Wait returns when bash exits.
func (c *Cmd) stop() error {
	pgid := c.cmd.Process.Pid
	stopping, abort := make(chan struct{}), make(chan struct{})
	c.mu.Lock()
	c.stopping, c.abort = stopping, abort
	c.mu.Unlock()
	err := signalGroup(pgid, syscall.SIGTERM)
	go func() {
		defer close(stopping)
		escalate(pgid, c.Grace, abort)
	}()
	return err
}

// escalate sends SIGKILL to group pgid once grace has passed, unless the
// group is gone before then or abort is closed.
func escalate(pgid int, grace time.Duration, abort <-chan struct{}) {
	deadline := time.Now().Add(grace)
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		if !groupRuns(pgid) {
			return
		}
		select {
		case <-abort:
			return
		case <-tick.C:
		}
	}
	_ = signalGroup(pgid, syscall.SIGKILL)
}
