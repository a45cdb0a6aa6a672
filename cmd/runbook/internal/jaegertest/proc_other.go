//go:build !unix

package jaegertest

import (
	"os"
	"syscall"
)

func sysProcAttr() *syscall.SysProcAttr { return nil }

// terminate stops p: without process groups or SIGTERM, it is killed.
func terminate(p *os.Process) { _ = p.Kill() }

// kill kills p.
func kill(p *os.Process) { _ = p.Kill() }
