//go:build !unix

package proctree

import "os"

// PidExists reports whether a process has the id pid.
func PidExists(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	_ = p.Release()
	return true
}

// stop cannot stop a process here; kill ends it.
func stop(int) {}

// kill ends process pid.
func kill(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
		_ = p.Release()
	}
}
