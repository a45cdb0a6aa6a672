//go:build !unix

package procgroup

// Start refuses: see ErrUnsupported.
func (c *Cmd) Start() error { return ErrUnsupported }

// Wait reports that nothing was started.
func (c *Cmd) Wait() (Exit, error) { return Exit{}, ErrUnsupported }
