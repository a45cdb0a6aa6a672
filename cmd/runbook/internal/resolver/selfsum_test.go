package resolver

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

func sumOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// The cached sum is used only while the file is the same file with the
// same size and times; any change to it, even one that restores the size
// and the modification time, is hashed again.
func TestCachedSHA256(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the sum is cached on Linux only")
	}
	tests := []struct {
		name   string
		change func(t *testing.T, path string) // between the first and second call
		want   func(path string) string        // the second call's answer
	}{
		{
			name:   "unchanged file: the cached sum",
			change: func(*testing.T, string) {},
			want:   func(string) string { return "cached" },
		},
		{
			name: "appended",
			change: func(t *testing.T, path string) {
				f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
				if err != nil {
					t.Fatal(err)
				}
				f.WriteString("more")
				f.Close()
			},
			want: func(path string) string { b, _ := os.ReadFile(path); return sumOf(b) },
		},
		{
			name: "same size, modification time put back",
			change: func(t *testing.T, path string) {
				fi, _ := os.Stat(path)
				if err := os.WriteFile(path, []byte("HELLO"), 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
					t.Fatal(err)
				}
			},
			want: func(path string) string { return sumOf([]byte("HELLO")) },
		},
		{
			name: "replaced by rename",
			change: func(t *testing.T, path string) {
				tmp := path + ".new"
				if err := os.WriteFile(tmp, []byte("hello"), 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Rename(tmp, path); err != nil {
					t.Fatal(err)
				}
			},
			want: func(path string) string { return sumOf([]byte("hello")) },
		},
		{
			name: "corrupt cache",
			change: func(t *testing.T, path string) {
				files, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "cache", "*.json"))
				for _, f := range files {
					os.WriteFile(f, []byte("{not json"), 0o600)
				}
			},
			want: func(path string) string { return sumOf([]byte("hello")) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "runbook")
			cache := filepath.Join(dir, "cache")
			if err := os.WriteFile(path, []byte("hello"), 0o700); err != nil {
				t.Fatal(err)
			}
			first, err := cachedSHA256(path, cache)
			if err != nil || first != sumOf([]byte("hello")) {
				t.Fatalf("first call: %q, %v", first, err)
			}
			// Make the cached sum recognizable, so that using it shows.
			files, _ := filepath.Glob(filepath.Join(cache, "*.json"))
			if len(files) != 1 {
				t.Fatalf("cache files %v, want one", files)
			}
			b, _ := os.ReadFile(files[0])
			var e sumEntry
			if err := json.Unmarshal(b, &e); err != nil {
				t.Fatal(err)
			}
			e.SHA256 = sumOf([]byte("cached"))
			b, _ = json.Marshal(e)
			os.WriteFile(files[0], b, 0o600)
			time.Sleep(10 * time.Millisecond) // a later ctime for the change
			tt.change(t, path)
			want := tt.want(path)
			if want == "cached" {
				want = sumOf([]byte("cached"))
			}
			got, err := cachedSHA256(path, cache)
			if err != nil || got != want {
				t.Errorf("second call: %q, %v; want %q", got, err, want)
			}
		})
	}
}

// Without a cache folder the sum is computed every time.
func TestCachedSHA256WithoutCache(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	os.WriteFile(path, []byte("x"), 0o600)
	got, err := cachedSHA256(path, "")
	if err != nil || got != sumOf([]byte("x")) {
		t.Fatalf("%q %v", got, err)
	}
	if _, err := cachedSHA256(filepath.Join(t.TempDir(), "missing"), ""); err == nil {
		t.Error("a missing file has a sum")
	}
}
