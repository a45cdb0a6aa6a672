//go:build unix

package jaegertest

import (
	"os"
	"syscall"
)

// terminate asks p's process group to shut down (SIGTERM).
func terminate(p *os.Process) { _ = syscall.Kill(-p.Pid, syscall.SIGTERM) }

// kill kills p's process group (SIGKILL).
func kill(p *os.Process) { _ = syscall.Kill(-p.Pid, syscall.SIGKILL) }
