//go:build !unix

package safefile

import (
	"errors"
	"fmt"
	"os"
)

// errLoop is what openFile fails with for a symbolic link not followed.
var errLoop = errors.New("symbolic link")

// openFile opens path for reading. Without O_NOFOLLOW, noFollow looks at
// the path first; a link put there between the look and the open is
// followed (Windows needs privileges to make one).
func openFile(path string, noFollow bool) (*os.File, error) {
	if noFollow {
		if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSymlink != 0 {
			return nil, errLoop
		}
	}
	return os.Open(path)
}

// OpenFileNoFollow is os.OpenFile that refuses a symbolic link at path
// (ErrSymlink), looked for just before the open.
func OpenFileNoFollow(path string, flag int, perm os.FileMode) (*os.File, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		return nil, fmt.Errorf("%s %w", path, ErrSymlink)
	}
	return os.OpenFile(path, flag, perm)
}
