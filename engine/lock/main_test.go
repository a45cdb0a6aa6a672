package lock

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/runbookdev/runbook/engine/exitcode"
)

// TestMain lets the test binary act as a helper process that holds a lock:
// with LOCK_HELPER=1 it takes LOCK_HELPER_NAME in LOCK_HELPER_DIR (or with
// the locker LOCK_HELPER_URL names), prints "locked", holds the lock until
// its stdin closes, then releases it.
func TestMain(m *testing.M) {
	if os.Getenv("LOCK_HELPER") == "1" {
		os.Exit(helperMain())
	}
	os.Exit(m.Run())
}

func helperMain() int {
	since, _ := time.Parse(time.RFC3339Nano, os.Getenv("LOCK_HELPER_SINCE"))
	h := Holder{
		RunID:    os.Getenv("LOCK_HELPER_RUN_ID"),
		Operator: os.Getenv("LOCK_HELPER_OPERATOR"),
		Host:     os.Getenv("LOCK_HELPER_HOST"),
		Since:    since,
	}
	// LOCK_HELPER_URL, when set, names the locker as --lock-url does.
	locker, err := FromURL(os.Getenv("LOCK_HELPER_URL"), os.Getenv("LOCK_HELPER_DIR"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	lease, err := locker.Acquire(context.Background(), os.Getenv("LOCK_HELPER_NAME"), h, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return exitcode.Of(err)
	}
	fmt.Println("locked")
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := lease.Release(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// helper is a running helper process.
type helper struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr strings.Builder
	pid    int
}

func helperCmd(t *testing.T, dir, name string, h Holder) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(),
		"LOCK_HELPER=1",
		"LOCK_HELPER_DIR="+dir,
		"LOCK_HELPER_NAME="+name,
		"LOCK_HELPER_RUN_ID="+h.RunID,
		"LOCK_HELPER_OPERATOR="+h.Operator,
		"LOCK_HELPER_HOST="+h.Host,
		"LOCK_HELPER_SINCE="+h.Since.Format(time.RFC3339Nano),
	)
	return cmd
}

// startHelper starts a helper and returns once it holds the lock.
func startHelper(t *testing.T, dir, name string, h Holder) *helper {
	t.Helper()
	return startHelperCmd(t, helperCmd(t, dir, name, h))
}

// startHelperCmd starts a helper made by helperCmd and returns once it
// holds the lock.
func startHelperCmd(t *testing.T, cmd *exec.Cmd) *helper {
	t.Helper()
	hp := &helper{cmd: cmd}
	hp.cmd.Stderr = &hp.stderr
	var err error
	if hp.stdin, err = hp.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := hp.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := hp.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	hp.pid = hp.cmd.Process.Pid
	t.Cleanup(func() {
		if hp.cmd.ProcessState == nil {
			_ = hp.cmd.Process.Kill()
			_ = hp.cmd.Wait()
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if line != "locked\n" {
		_ = hp.cmd.Wait()
		t.Fatalf("helper printed %q (%v), want \"locked\"; stderr: %s", line, err, hp.stderr.String())
	}
	return hp
}

// release makes the helper release the lock and exit.
func (hp *helper) release(t *testing.T) {
	t.Helper()
	hp.stdin.Close()
	if err := hp.cmd.Wait(); err != nil {
		t.Fatalf("helper: %v; stderr: %s", err, hp.stderr.String())
	}
}

// kill ends the helper with SIGKILL, leaving it no chance to clean up.
func (hp *helper) kill(t *testing.T) {
	t.Helper()
	if err := hp.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = hp.cmd.Wait()
}
