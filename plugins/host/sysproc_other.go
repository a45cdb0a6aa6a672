//go:build !unix

package host

import (
	"errors"
	"syscall"
)

func sysProcAttr() *syscall.SysProcAttr { return nil }

func killGroup(int) error { return errors.New("process groups are not supported on this system") }

func textBusy(error) bool { return false }
