//go:build unix

package host

import (
	"errors"
	"syscall"
)

// killGroup kills process group pgid, the plugin and everything it started.
func killGroup(pgid int) error {
	if pgid <= 0 {
		return nil
	}
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}

// textBusy reports the ETXTBSY that exec can return for a file another
// goroutine's fork still holds open for writing (golang/go#22315): a
// private copy written just before another plugin was started.
func textBusy(err error) bool { return errors.Is(err, syscall.ETXTBSY) }
