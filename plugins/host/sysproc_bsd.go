//go:build unix && !linux

package host

import "syscall"

// sysProcAttr puts the plugin in its own process group, so that it and
// whatever it starts are killed together. Without Linux's parent-death
// signal, the plugin notices the host's death itself (grpcplugin.Serve
// watches for being re-parented).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
