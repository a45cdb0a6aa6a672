//go:build unix

package procgroup

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/runbookdev/runbook/plugins/proctree"
)

// signalGroup signals every process of the group led by pid. A group that is
// already gone is not an error.
func signalGroup(pid int, sig syscall.Signal) error {
	err := syscall.Kill(-pid, sig)
	if err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal process group %d: %w", pid, err)
	}
	return nil
}

// groupRuns reports whether a process of group pgid still runs. Zombies do
// not count: an orphan that exited waits for init to reap it, which may take
// a while, and must not hold the escalation up.
func groupRuns(pgid int) bool {
	if errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH) {
		return false
	}
	t := proctree.Read()
	if len(t) == 0 {
		return true // no /proc: assume the worst
	}
	for _, p := range t {
		if !p.Zombie && p.Pgid == pgid {
			return true
		}
	}
	return false
}
