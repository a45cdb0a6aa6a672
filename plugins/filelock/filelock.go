package filelock

import "os"

// TryLock takes an exclusive lock on f without waiting; held reports that
// another open file (of this process or another) has it.
func TryLock(f *os.File) (held bool, err error) { return tryLock(f) }

// Unlock releases the lock TryLock took on f.
func Unlock(f *os.File) error { return unlock(f) }
