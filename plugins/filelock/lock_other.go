//go:build !unix && !windows

package filelock

import (
	"errors"
	"os"
)

// errUnsupported is returned where the platform has no file locks.
var errUnsupported = errors.New("file locks are not supported on this platform")

func tryLock(*os.File) (bool, error) { return false, errUnsupported }

func unlock(*os.File) error { return errUnsupported }
