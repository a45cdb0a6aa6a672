//go:build unix

package safefile

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// errLoop is what opening a symbolic link without following it fails with.
var errLoop error = unix.ELOOP

// openFile opens path for reading; O_NONBLOCK, so that opening a named pipe
// does not wait for a writer; with noFollow, O_NOFOLLOW.
func openFile(path string, noFollow bool) (*os.File, error) {
	flags := os.O_RDONLY | unix.O_NONBLOCK
	if noFollow {
		flags |= unix.O_NOFOLLOW
	}
	return os.OpenFile(path, flags, 0)
}

// OpenFileNoFollow is os.OpenFile that refuses a symbolic link at path
// (ErrSymlink) rather than open what it points to.
func OpenFileNoFollow(path string, flag int, perm os.FileMode) (*os.File, error) {
	f, err := os.OpenFile(path, flag|unix.O_NOFOLLOW, perm)
	if err != nil && errors.Is(err, unix.ELOOP) {
		return nil, fmt.Errorf("%s %w", path, ErrSymlink)
	}
	return f, err
}
