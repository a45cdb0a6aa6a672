package procgroup

import (
	"context"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"
)

// Cmd is a bash command to run in a process group of its own. Set its
// fields before Start.
type Cmd struct {
	// Dir is the working directory; empty means this process's.
	Dir string
	// Env is the environment; nil means this process's.
	Env []string
	// Stdout and Stderr receive what the group writes to its stdout and
	// stderr; nil discards it. Each is written from a goroutine of its own,
	// so one writer given as both must be safe for concurrent use.
	Stdout, Stderr io.Writer
	// Grace is how long the group has, once the context is done, between
	// SIGTERM and SIGKILL.
	Grace time.Duration
	// PipeGrace is how long, once bash has exited and the group has been
	// dealt with, output is still read from processes that hold the pipes.
	PipeGrace time.Duration
	// KillLeftovers kills the group as soon as bash exits, so nothing the
	// command started runs on, even within Grace after a cancel. Without
	// it, background processes may outlive a command that was not
	// cancelled.
	KillLeftovers bool

	ctx     context.Context
	cmd     *exec.Cmd
	outR    *os.File
	errR    *os.File
	reader  sync.WaitGroup
	started bool

	mu       sync.Mutex
	stopping chan struct{} // closed when a stop begun by a cancel is over
	abort    chan struct{} // closed to end that stop early
}

// Exit is how a command ended.
type Exit struct {
	// Code is bash's exit status: 128+N when signal N ended it, as a shell
	// reports it.
	Code int
	// OutputCut is set when processes the command left behind still held
	// its output when PipeGrace ran out: what they wrote afterwards is lost.
	OutputCut bool
}

// Command returns a command that runs script with bash -c; args become
// its $0, $1, … (bash calls $0 "bash" when there are none). Its stdin is
// /dev/null: nobody is there to type.
func Command(ctx context.Context, script string, args ...string) *Cmd {
	return &Cmd{ctx: ctx, cmd: exec.CommandContext(ctx, "bash", append([]string{"-c", script}, args...)...)}
}

// Run starts the command and waits for it.
func (c *Cmd) Run() (Exit, error) {
	if err := c.Start(); err != nil {
		return Exit{}, err
	}
	return c.Wait()
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}
