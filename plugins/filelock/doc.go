// Package filelock takes and releases an exclusive lock on an open file
// without blocking: flock on Unix, LockFileEx on Windows. The lock belongs
// to the open file, so a process that dies, however it dies, never leaves
// it behind. The file backends and runbook's run locks use it.
package filelock
