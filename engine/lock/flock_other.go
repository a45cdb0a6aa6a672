//go:build !unix

package lock

import (
	"errors"
	"os"
)

var errNoFlock = errors.New("file locks are not supported on this platform")

func tryFlock(*os.File) (bool, error) { return false, errNoFlock }

func unflock(*os.File) error { return errNoFlock }
