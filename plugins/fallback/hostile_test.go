//go:build unix

package fallback

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestFlagFileBoundedRead: a flag file that is huge, a named pipe or a
// link to /dev/zero is refused with an error that says so, at once.
func TestFlagFileBoundedRead(t *testing.T) {
	for _, tc := range []struct {
		name  string
		plant func(t *testing.T, path string)
		want  string
	}{
		{"larger than the limit", func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte(`{"flags": {}, "x": "`+strings.Repeat("x", 17<<20)+`"}`), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "flags.json is too large (limit 16 MiB)"},
		{"a named pipe", func(t *testing.T, path string) {
			if err := unix.Mkfifo(path, 0o644); err != nil {
				t.Fatal(err)
			}
		}, "flags.json is a named pipe, not a regular file"},
		{"a link to /dev/zero", func(t *testing.T, path string) {
			if err := os.Symlink("/dev/zero", path); err != nil {
				t.Fatal(err)
			}
		}, "flags.json is a device, not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "flags.json")
			tc.plant(t, path)
			done := make(chan error, 1)
			go func() {
				_, err := NewFileBackend(path).Route(context.Background(), "support-agent")
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want it to say %q", err, tc.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("reading the flag file did not return")
			}
		})
	}
}
