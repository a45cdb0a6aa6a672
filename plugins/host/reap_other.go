//go:build !unix

package host

import "os"

// reap has nothing to do where orphans are not adopted.
func reap(int) {}

// pidExists reports whether a process has the id pid.
func pidExists(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	_ = p.Release()
	return true
}
