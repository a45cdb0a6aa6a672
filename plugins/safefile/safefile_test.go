//go:build unix

package safefile

import (
	"bufio"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	small := write("small", "hello")
	big := write("big", strings.Repeat("x", 2048))
	fifo := filepath.Join(dir, "x.hcl")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	zero := filepath.Join(dir, "zero")
	link := filepath.Join(dir, "link")
	for _, l := range [][2]string{{"/dev/zero", zero}, {small, link}} {
		if err := os.Symlink(l[0], l[1]); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name     string
		path     string
		noFollow bool
		want     string // content, or a part of the error
		tooLarge bool
	}{
		{"regular", small, false, "hello", false},
		{"regular, no follow", small, true, "hello", false},
		{"too large", big, false, "big is too large (limit 1 KiB)", true},
		{"named pipe", fifo, false, "x.hcl is a named pipe, not a regular file", false},
		{"link to /dev/zero", zero, false, "zero is a device, not a regular file", false},
		{"link followed", link, false, "hello", false},
		{"link refused", link, true, "link is a symbolic link", false},
		{"folder", dir, false, "is a folder, not a regular file", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan struct{})
			var data []byte
			var err error
			go func() {
				defer close(done)
				if tc.noFollow {
					data, err = ReadFileNoFollow(tc.path, 1024)
				} else {
					data, err = ReadFile(tc.path, 1024)
				}
			}()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("the read blocked")
			}
			if err == nil {
				if string(data) != tc.want {
					t.Fatalf("read %q, want %q", data, tc.want)
				}
				return
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q, want it to contain %q", err, tc.want)
			}
			var tl *TooLargeError
			if errors.As(err, &tl) != tc.tooLarge {
				t.Fatalf("error %v: TooLargeError %v, want %v", err, !tc.tooLarge, tc.tooLarge)
			}
		})
	}
}

func TestLimitReader(t *testing.T) {
	r := LimitReader(strings.NewReader(strings.Repeat("x", 100)), 10, "the answer")
	data, err := io.ReadAll(r)
	var tl *TooLargeError
	if !errors.As(err, &tl) || len(data) != 10 || err.Error() != "the answer is too large (limit 10 bytes)" {
		t.Fatalf("read %d bytes, err %v", len(data), err)
	}
	data, err = io.ReadAll(LimitReader(strings.NewReader("0123456789"), 10, "x"))
	if err != nil || len(data) != 10 {
		t.Fatalf("exactly the limit: %d bytes, err %v", len(data), err)
	}
	// An endless stream ends at the limit.
	data, err = io.ReadAll(LimitReader(endless{}, 1<<20, "x"))
	if !errors.As(err, &tl) || len(data) != 1<<20 {
		t.Fatalf("endless: %d bytes, err %v", len(data), err)
	}
}

type endless struct{}

func (endless) Read(p []byte) (int, error) { return len(p), nil }

func TestReadLine(t *testing.T) {
	r := bufio.NewReaderSize(strings.NewReader("short\n"+strings.Repeat("x", 100)+"\nlast"), 16)
	for _, want := range []string{"short\n", "", "last"} {
		line, err := ReadLine(r, 50, "docs.jsonl line 2")
		switch {
		case want == "":
			var tl *TooLargeError
			if !errors.As(err, &tl) || err.Error() != "docs.jsonl line 2 is too large (limit 50 bytes)" {
				t.Fatalf("long line: %q, %v", line, err)
			}
			// The rest of the long line is skipped by the caller stopping.
			if _, err := r.ReadString('\n'); err != nil {
				t.Fatal(err)
			}
		case string(line) != want || (want == "last") != errors.Is(err, io.EOF):
			t.Fatalf("got %q, %v; want %q", line, err, want)
		}
	}
}
