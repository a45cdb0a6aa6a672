//go:build !windows

package mcpcmd

import (
	"os"
	"os/exec"
	"syscall"
)

// detach makes cmd a session of its own: a requested run goes on waiting
// for people when the agent's client ends the server, and the terminal's
// signals do not reach it.
func detach(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} }

// interrupt asks a child to stop as Ctrl-C does.
func interrupt(p *os.Process) error { return p.Signal(os.Interrupt) }
