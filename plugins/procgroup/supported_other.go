//go:build !unix

package procgroup

// Supported reports whether commands can run here: not yet (see
// errUnsupported), so exec refuses a runbook that would run one before
// anything starts.
const Supported = false
