//go:build unix

package proctree

import "syscall"

// PidExists reports whether a process has the id pid.
func PidExists(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}

// stop stops process pid (SIGSTOP), so that it forks no more.
func stop(pid int) { _ = syscall.Kill(pid, syscall.SIGSTOP) }

// kill kills process pid (SIGKILL).
func kill(pid int) { _ = syscall.Kill(pid, syscall.SIGKILL) }
