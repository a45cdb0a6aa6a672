//go:build linux

package jaegertest

import "syscall"

// sysProcAttr puts Jaeger in a process group of its own, so that it and
// anything it starts are killed together, and has the kernel kill it when
// the test process dies, so a killed test leaves no Jaeger behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
