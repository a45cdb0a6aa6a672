//go:build unix && !linux

package jaegertest

import "syscall"

// sysProcAttr puts Jaeger in a process group of its own, so that it and
// anything it starts are killed together.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
