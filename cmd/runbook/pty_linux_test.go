package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runbookdev/runbook/engine/exitcode"
	"golang.org/x/sys/unix"
)

// openPty opens a pseudo-terminal: the controlling side the test types
// into and reads from, and the terminal side the command runs on.
func openPty(t *testing.T) (ctrl, tty *os.File) {
	t.Helper()
	ctrl, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	n, err := unix.IoctlGetInt(int(ctrl.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(ctrl.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock pty: %v", err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open the terminal: %v", err)
	}
	t.Cleanup(func() { ctrl.Close(); tty.Close() })
	return ctrl, tty
}

// terminalOutput collects what a command writes to its terminal; the
// text so far is returned by its String method, which only the test's
// goroutine calls.
type terminalOutput struct {
	chunks chan []byte
	text   strings.Builder
}

func readTerminal(ctrl *os.File) *terminalOutput {
	o := &terminalOutput{chunks: make(chan []byte, 1024)}
	go func() {
		for {
			buf := make([]byte, 4096)
			n, err := ctrl.Read(buf)
			if n > 0 {
				o.chunks <- buf[:n]
			}
			if err != nil {
				close(o.chunks)
				return
			}
		}
	}()
	return o
}

func (o *terminalOutput) String() string {
	for {
		select {
		case c, ok := <-o.chunks:
			if !ok {
				return o.text.String()
			}
			o.text.Write(c)
		default:
			return o.text.String()
		}
	}
}

func echoOn(t *testing.T, tty *os.File) bool {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatalf("termios: %v", err)
	}
	return tio.Lflag&unix.ECHO != 0
}

// TestCtrlCAtSecretPrompt: Ctrl-C at the no-echo prompt of a sensitive
// variable exits 130 at once, the first time, with the terminal's echo back.
func TestCtrlCAtSecretPrompt(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "runbooks"), 0o755); err != nil {
		t.Fatal(err)
	}
	rb := `runbook "secret" {
  description = "Asks for a token."
  owner       = "sre"
  variable "token" {
    sensitive = true
  }
  step "use" {
    manual = "Use the token."
  }
}
`
	if err := os.WriteFile(filepath.Join(dir, "runbooks", "secret.hcl"), []byte(rb), 0o644); err != nil {
		t.Fatal(err)
	}
	// The test binary acts as runbook when called by that name (TestMain).
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "runbook")
	if err := os.Symlink(self, bin); err != nil {
		t.Fatal(err)
	}

	ctrl, tty := openPty(t)
	cmd := exec.Command(bin, "exec", "secret")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "RUNBOOK_DIR=", "RUNBOOK_STATE_DIR=", "RUNBOOK_LOCK_URL=")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out := readTerminal(ctrl)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	}()

	// Wait for the prompt, with echo off.
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), "var.token") || echoOn(t, tty) {
		if time.Now().After(deadline) {
			t.Fatalf("no no-echo prompt for the token; the terminal shows:\n%s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := ctrl.Write([]byte{0x03}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		time.Sleep(200 * time.Millisecond) // let the last output through
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) || exitErr.ExitCode() != exitcode.Interrupted {
			t.Errorf("exit %v, want %d; the terminal shows:\n%s", err, exitcode.Interrupted, out)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("still running 10 s after the first Ctrl-C; the terminal shows:\n%s", out)
	}
	if !echoOn(t, tty) {
		t.Errorf("the terminal's echo is still off after exit; it shows:\n%s", out)
	}
}
