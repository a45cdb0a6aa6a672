package sample

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Root returns the repository's root: the nearest folder above the working
// directory that holds go.mod.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// CopyTo writes pristine copies of paths (relative to the repository's
// root, e.g. "examples/state") under dst, keeping their relative paths:
// "examples/state" becomes dst/examples/state.
func CopyTo(dst string, paths ...string) error {
	root, err := Root()
	if err != nil {
		return err
	}
	if fromGit(root, dst, paths) == nil {
		return nil
	}
	for _, p := range paths {
		if err := copyPath(filepath.Join(root, p), filepath.Join(dst, p)); err != nil {
			return fmt.Errorf("copy %s: %w", p, err)
		}
	}
	return nil
}

// copyPath copies a file or a folder.
func copyPath(from, to string) error {
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	fi, err := os.Stat(from)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return os.CopyFS(to, os.DirFS(from))
	}
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, fi.Mode().Perm())
}

// fromGit checks the paths out of git's index into dst; an error means
// root is not a git checkout (or git is missing).
func fromGit(root, dst string, paths []string) error {
	ls := exec.Command("git", append([]string{"-C", root, "ls-files", "-z", "--"}, paths...)...)
	var listed, stderr bytes.Buffer
	ls.Stdout, ls.Stderr = &listed, &stderr
	if err := ls.Run(); err != nil {
		return fmt.Errorf("git ls-files: %v: %s", err, stderr.Bytes())
	}
	if listed.Len() == 0 {
		return errors.New("git tracks none of the paths")
	}
	abs, err := filepath.Abs(dst)
	if err != nil {
		return err
	}
	co := exec.Command("git", "-C", root, "checkout-index", "-z", "--stdin", "--prefix="+abs+string(filepath.Separator))
	co.Stdin = &listed
	stderr.Reset()
	co.Stderr = &stderr
	if err := co.Run(); err != nil {
		return fmt.Errorf("git checkout-index: %v: %s", err, stderr.Bytes())
	}
	return nil
}

// Copy returns a temporary folder holding pristine copies of paths
// (relative to the repository's root), removed when the test ends.
func Copy(t testing.TB, paths ...string) string {
	t.Helper()
	dir := t.TempDir()
	if err := CopyTo(dir, paths...); err != nil {
		t.Fatalf("copy the sample state: %v", err)
	}
	return dir
}
