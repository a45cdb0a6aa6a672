package fallback

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/runbookdev/runbook/plugins/atomicfile"
	"github.com/runbookdev/runbook/plugins/filestate"
	"github.com/runbookdev/runbook/plugins/safefile"
)

// FileBackend keeps routes in a flagd flag file (docs/builtins.md, "File backend: routes"). Reads need no
// lock, since every write replaces the file atomically; writes serialize on
// the lock file FILE.lock and are recorded in FILE.history.jsonl.
type FileBackend struct {
	path string
}

// NewFileBackend returns the backend for the flag file at path.
func NewFileBackend(path string) *FileBackend {
	return &FileBackend{path: path}
}

func (b *FileBackend) lockPath() string    { return b.path + ".lock" }
func (b *FileBackend) historyPath() string { return b.path + ".history.jsonl" }

// read parses and validates the flag file.
func (b *FileBackend) read() (*flagFile, error) {
	data, err := safefile.ReadFile(b.path, safefile.MaxStateFile)
	if err != nil {
		return nil, fmt.Errorf("read flag file: %w", err)
	}
	f, err := parseFlagFile(data)
	if err != nil {
		return nil, fmt.Errorf("flag file %s: %w", b.path, err)
	}
	return f, nil
}

// Route implements Backend.
func (b *FileBackend) Route(ctx context.Context, name string) (*Route, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	_, r, err := b.readRoute(name)
	return r, err
}

// readRoute reads the flag file and its route name.
func (b *FileBackend) readRoute(name string) (*flagFile, *Route, error) {
	f, err := b.read()
	if err != nil {
		return nil, nil, err
	}
	r, err := f.route(name)
	if err != nil {
		return nil, nil, fmt.Errorf("flag file %s: %w", b.path, err)
	}
	return f, r, nil
}

// Switch implements Backend: under the lock it reads the file, changes the
// route's defaultVariant and nothing else, checks that the result still
// validates, replaces the file atomically and appends to the history.
func (b *FileBackend) Switch(ctx context.Context, name, variant string, c Change) (*Switched, error) {
	unlock, err := filestate.Lock(ctx, b.lockPath())
	if err != nil {
		return nil, err
	}
	defer unlock()

	f, before, err := b.readRoute(name)
	if err != nil {
		return nil, err
	}
	edit, err := editSwitch(f, name, variant, before, c, "flag file "+b.path, "file")
	if err != nil {
		return nil, err
	}
	if edit == nil {
		return &Switched{Before: before, After: before}, nil
	}

	target, err := b.writeTarget()
	if err != nil {
		return nil, err
	}
	if err := atomicfile.Write(target, edit.data, 0o644); err != nil {
		return nil, fmt.Errorf("flag file: %w", err)
	}
	entry := switchRecord(name, variant, before, c)
	if err := filestate.AppendHistory(b.historyPath(), entry); err != nil {
		return nil, fmt.Errorf("route %q now serves %q, but recording it failed: %w", name, variant, err)
	}
	return &Switched{Before: before, After: edit.after, Changed: true}, nil
}

// writeTarget is the file a write replaces: the flag file, or the file it
// links to, so that a symbolic link stays one.
func (b *FileBackend) writeTarget() (string, error) {
	fi, err := os.Lstat(b.path)
	if err != nil {
		return "", fmt.Errorf("flag file: %w", err)
	}
	if fi.Mode()&fs.ModeSymlink == 0 {
		return b.path, nil
	}
	target, err := filepath.EvalSymlinks(b.path)
	if err != nil {
		return "", fmt.Errorf("flag file %s: %w", b.path, err)
	}
	return target, nil
}

// Close implements Backend.
func (b *FileBackend) Close() error { return nil }
