package mcpcmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/runbookdev/runbook/cmd/runbook/internal/cmdutil"
)

// maxOutput bounds what is kept of a child's stdout and of its stderr.
const maxOutput = 4 << 20

// cli runs the runbook command as a child process, with the server's
// runbook directory, state directory, store and lock URL.
type cli struct {
	exe string
	env []string
}

// newCLI finds this program and the environment its children get: the
// server's own, with its directories made absolute and colour off. The
// store's and lock's URLs go through the environment, never the command
// line, where any user could read a password in them.
func newCLI(f *cmdutil.Factory) (*cli, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("cannot find the runbook program to run tools with: %w", err)
	}
	dir, err := filepath.Abs(f.Global.Dir)
	if err != nil {
		return nil, err
	}
	state, err := filepath.Abs(f.Global.StateDir)
	if err != nil {
		return nil, err
	}
	env := withoutEnv(os.Environ(), "RUNBOOK_DIR", "RUNBOOK_STATE_DIR", "RUNBOOK_STORE", "RUNBOOK_LOCK_URL", "NO_COLOR", "CLICOLOR_FORCE")
	env = append(env,
		"RUNBOOK_DIR="+dir, "RUNBOOK_STATE_DIR="+state,
		"RUNBOOK_STORE="+f.Global.StoreURL, "RUNBOOK_LOCK_URL="+f.Global.LockURL,
		"NO_COLOR=1")
	return &cli{exe: exe, env: env}, nil
}

// withoutEnv is env without the variables named.
func withoutEnv(env []string, names ...string) []string {
	out := env[:0:0]
next:
	for _, kv := range env {
		for _, n := range names {
			if strings.HasPrefix(kv, n+"=") {
				continue next
			}
		}
		out = append(out, kv)
	}
	return out
}

// result is how a child ended and what it printed.
type result struct {
	Stdout, Stderr string
	Code           int
}

// text is what the child printed, stdout then stderr, as a terminal would
// have shown it.
func (r *result) text() string {
	return strings.TrimRight(strings.TrimRight(r.Stdout, "\n")+"\n"+r.Stderr, "\n")
}

// errorText is the child's error as the command line printed it.
func (r *result) errorText() string {
	if s := strings.TrimSpace(r.Stderr); s != "" {
		return s
	}
	if s := strings.TrimSpace(r.Stdout); s != "" {
		return s
	}
	return fmt.Sprintf("runbook exited with status %d", r.Code)
}

// run runs `runbook ARGS…` with extra environment variables and waits for
// it. Cancelling ctx interrupts it as Ctrl-C would, then kills it after
// 10 s. A child that could not start is an error; one that exited
// non-zero is not (its code is in the result).
func (c *cli) run(ctx context.Context, extraEnv []string, args ...string) (*result, error) {
	cmd := exec.CommandContext(ctx, c.exe, args...)
	cmd.Env = append(append([]string(nil), c.env...), extraEnv...)
	cmd.Stdin = nil
	var stdout, stderr boundedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Cancel = func() error { return interrupt(cmd.Process) }
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	res := &result{Stdout: stdout.String(), Stderr: stderr.String()}
	if err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			return nil, fmt.Errorf("running runbook %s: %w", strings.Join(args, " "), err)
		}
		res.Code = exit.ExitCode()
	}
	return res, nil
}

// boundedBuffer keeps the first maxOutput bytes written to it and says how
// many it dropped.
type boundedBuffer struct {
	buf     bytes.Buffer
	dropped int
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	n := len(p)
	room := maxOutput - b.buf.Len()
	if room < len(p) {
		b.dropped += len(p) - max(room, 0)
		p = p[:max(room, 0)]
	}
	b.buf.Write(p)
	return n, nil
}

func (b *boundedBuffer) String() string {
	if b.dropped > 0 {
		return b.buf.String() + fmt.Sprintf("\n… %d more bytes not kept\n", b.dropped)
	}
	return b.buf.String()
}
