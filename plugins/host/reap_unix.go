//go:build unix

package host

import "syscall"

// reap reaps child pid if it has exited, without waiting.
func reap(pid int) {
	var ws syscall.WaitStatus
	_, _ = syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
}
