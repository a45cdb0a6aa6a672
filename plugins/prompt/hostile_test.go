//go:build unix

package prompt

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// applyWithin applies one action and fails the test if it does not return
// within a few seconds.
func applyWithin(t *testing.T, action string, args map[string]any, dir string) error {
	t.Helper()
	p := configured(t, dir)
	done := make(chan error, 1)
	go func() {
		_, err := p.Apply(context.Background(), request(action, args))
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not return", action)
		return nil
	}
}

// TestLabelsBoundedRead: a labels.json that is huge or is not a regular
// file is refused with an error that says so, without reading it whole or
// blocking.
func TestLabelsBoundedRead(t *testing.T) {
	for _, tc := range []struct {
		name  string
		plant func(t *testing.T, path string)
		want  string
	}{
		{"larger than the limit", func(t *testing.T, path string) {
			writeFile(t, path, `{"production": 1, "x": "`+strings.Repeat("x", 17<<20)+`"}`)
		}, "labels.json is too large (limit 16 MiB)"},
		{"a named pipe", func(t *testing.T, path string) {
			if err := unix.Mkfifo(path, 0o644); err != nil {
				t.Fatal(err)
			}
		}, "labels.json is a named pipe, not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, _ := newRegistry(t)
			path := filepath.Join(dir, "support-agent", labelsFile)
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			tc.plant(t, path)
			for _, action := range []string{"status", "promote"} {
				args := map[string]any{"name": "support-agent"}
				if action == "promote" {
					args["version"] = 3
				}
				err := applyWithin(t, action, args, dir)
				wantError(t, err, "", tc.want)
			}
		})
	}
}

// TestSymlinksInTheRegistry: a symbolic link planted in a prompt's folder
// (or as the folder) is refused with a clear error; nothing outside the
// registry is created or written, and the link is not replaced.
func TestSymlinksInTheRegistry(t *testing.T) {
	for _, tc := range []struct {
		name   string
		file   string // in the prompt's folder; "" for the folder itself
		exists bool   // the link's target exists
	}{
		{"history.jsonl", historyFile, true},
		{".lock", lockFile, false},
		{"labels.json", labelsFile, true},
		{"the prompt's folder", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, _ := newRegistry(t)
			folder := filepath.Join(dir, "support-agent")
			outside := filepath.Join(t.TempDir(), "outside")
			link := filepath.Join(folder, tc.file)
			switch {
			case tc.file == "":
				if err := os.Rename(folder, outside); err != nil {
					t.Fatal(err)
				}
				link = folder
			case tc.exists:
				if err := os.Rename(link, outside); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Symlink(outside, link); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, filepath.Dir(outside))
			for _, action := range []string{"promote", "publish"} {
				args := map[string]any{"name": "support-agent", "version": 3}
				if action == "publish" {
					args = map[string]any{"name": "support-agent", "text": "new", "label": "production"}
				}
				err := applyWithin(t, action, args, dir)
				wantError(t, err, "", "is a symbolic link; runbook does not follow links in its state")
			}
			if after := snapshot(t, filepath.Dir(outside)); !maps.Equal(before, after) {
				t.Errorf("the link's target changed:\nbefore %v\nafter  %v", before, after)
			}
			if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
				t.Errorf("the link was replaced: %v %v", fi, err)
			}
		})
	}
}
