//go:build windows

package mcpcmd

import (
	"os"
	"os/exec"
	"syscall"
)

// detachedProcess is Windows' DETACHED_PROCESS creation flag: no console.
const detachedProcess = 0x00000008

// detach makes cmd a process group of its own, without the server's
// console: a requested run goes on waiting for people when the agent's
// client ends the server.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP | detachedProcess}
}

// interrupt stops a child: Windows has no Ctrl-C to send to a process of
// another console, so it is killed.
func interrupt(p *os.Process) error { return p.Kill() }
