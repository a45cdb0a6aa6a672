package prompt

import (
	"context"
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
