//go:build !linux

package prompt

import "syscall"

// diesWithTest: only Linux kills a child with its parent.
func diesWithTest() *syscall.SysProcAttr { return nil }
