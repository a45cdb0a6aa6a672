//go:build linux

package host

import (
	"sync/atomic"

	"golang.org/x/sys/unix"
)

var isSubreaper atomic.Bool

// enableSubreaper makes this process the child subreaper of everything it
// starts (prctl PR_SET_CHILD_SUBREAPER).
func enableSubreaper() {
	if unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == nil {
		isSubreaper.Store(true)
	}
}

// subreaper reports whether enableSubreaper succeeded.
func subreaper() bool { return isSubreaper.Load() }
