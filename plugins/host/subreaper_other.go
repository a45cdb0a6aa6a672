//go:build !linux

package host

// enableSubreaper does nothing: only Linux has child subreapers.
func enableSubreaper() {}

func subreaper() bool { return false }
