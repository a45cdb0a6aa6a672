//go:build !unix

package procgroup

import "errors"

// errUnsupported is what Start returns where commands cannot be confined
// to a process group that ends with them (Windows, for now): running them
// there could leave them behind.
var errUnsupported = errors.New("running commands is not supported on this platform yet: nothing guarantees they end with runbook (use Linux, macOS or WSL)")

// Start refuses: see errUnsupported.
func (c *Cmd) Start() error { return errUnsupported }

// Wait reports that nothing was started.
func (c *Cmd) Wait() (Exit, error) { return Exit{}, errUnsupported }
