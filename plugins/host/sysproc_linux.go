//go:build linux

package host

import "syscall"

// sysProcAttr puts the plugin in its own process group, so that it and
// whatever it starts are killed together, and has the kernel kill it when
// the host dies. Pdeathsig fires when the thread that started the process
// exits; the Go runtime only ends threads whose goroutine locked them, and
// the goroutines that launch plugins never do.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
