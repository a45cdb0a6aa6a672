//go:build unix

package procgroup

// Supported reports whether commands can run here: they can, in a process
// group that ends with runbook.
const Supported = true
