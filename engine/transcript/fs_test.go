package transcript

import (
	"bytes"
	"os"
	"sync"
	"syscall"
)

// faultFS creates real files whose writes fail with ENOSPC once budget
// bytes have been written (a full disk; the failing write is partial), or
// whose Sync fails once syncsLeft syncs have succeeded.
type faultFS struct {
	OSFS
	budget    int // < 0: unlimited
	syncsLeft int // < 0: unlimited
}

func (fs *faultFS) CreateExcl(name string) (File, error) {
	f, err := fs.OSFS.CreateExcl(name)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: f, fs: fs}, nil
}

type faultFile struct {
	File
	fs *faultFS
}

func (f *faultFile) Write(p []byte) (int, error) {
	if f.fs.budget < 0 {
		return f.File.Write(p)
	}
	if len(p) <= f.fs.budget {
		f.fs.budget -= len(p)
		return f.File.Write(p)
	}
	n, _ := f.File.Write(p[:f.fs.budget])
	f.fs.budget = 0
	return n, &os.PathError{Op: "write", Path: "transcript", Err: syscall.ENOSPC}
}

func (f *faultFile) Sync() error {
	if f.fs.syncsLeft == 0 {
		return &os.PathError{Op: "sync", Path: "transcript", Err: syscall.EIO}
	}
	if f.fs.syncsLeft > 0 {
		f.fs.syncsLeft--
	}
	return f.File.Sync()
}

// countFS is the real file system, counting file fsyncs.
type countFS struct {
	OSFS
	syncs int
}

func (fs *countFS) CreateExcl(name string) (File, error) {
	f, err := fs.OSFS.CreateExcl(name)
	if err != nil {
		return nil, err
	}
	return &countFile{File: f, fs: fs}, nil
}

type countFile struct {
	File
	fs *countFS
}

func (f *countFile) Sync() error {
	f.fs.syncs++
	return f.File.Sync()
}

// memFS keeps files in memory (fuzzing without touching the disk).
type memFS struct {
	mu    sync.Mutex
	files map[string]*memFile
}

func newMemFS() *memFS { return &memFS{files: map[string]*memFile{}} }

func (fs *memFS) MkdirAll(string) (bool, error) { return false, nil }
func (fs *memFS) SyncDir(string) error          { return nil }
func (fs *memFS) Remove(name string) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	delete(fs.files, name)
	return nil
}
func (fs *memFS) CreateExcl(name string) (File, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if _, ok := fs.files[name]; ok {
		return nil, &os.PathError{Op: "open", Path: name, Err: os.ErrExist}
	}
	f := &memFile{}
	fs.files[name] = f
	return f, nil
}

func (fs *memFS) bytes(name string) []byte {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.files[name].buf.Bytes()
}

type memFile struct{ buf bytes.Buffer }

func (f *memFile) Write(p []byte) (int, error) { return f.buf.Write(p) }
func (f *memFile) Sync() error                 { return nil }
func (f *memFile) Close() error                { return nil }
