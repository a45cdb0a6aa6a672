//go:build linux

package etcdtest

import "syscall"

// sysProcAttr makes the kernel kill etcd when the test process dies, so a
// test binary killed mid-run leaves no server behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
