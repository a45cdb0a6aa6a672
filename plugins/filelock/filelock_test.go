package filelock

import (
	"os"
	"path/filepath"
	"testing"
)

// Two open files of the same path: the second cannot take the lock the
// first holds, and can once it is released.
func TestTryLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	open := func() *os.File {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	a, b := open(), open()
	if held, err := TryLock(a); held || err != nil {
		t.Fatalf("first lock: held %v, err %v", held, err)
	}
	if held, err := TryLock(b); !held || err != nil {
		t.Fatalf("second lock while the first holds it: held %v, err %v", held, err)
	}
	if err := Unlock(a); err != nil {
		t.Fatal(err)
	}
	if held, err := TryLock(b); held || err != nil {
		t.Fatalf("second lock once released: held %v, err %v", held, err)
	}
}
