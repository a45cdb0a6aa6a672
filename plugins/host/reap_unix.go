//go:build unix

package host

import (
	"errors"
	"syscall"
)

// reap reaps child pid if it has exited, without waiting.
func reap(pid int) {
	var ws syscall.WaitStatus
	_, _ = syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
}

// pidExists reports whether a process has the id pid.
func pidExists(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
