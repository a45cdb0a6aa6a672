package prompt

import "syscall"

// diesWithTest has a child killed when the test process dies.
func diesWithTest() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
