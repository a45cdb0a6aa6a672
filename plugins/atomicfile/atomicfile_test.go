package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	tests := []struct {
		name     string
		existing *os.FileMode
		perm     os.FileMode
		wantPerm os.FileMode
	}{
		{name: "new file gets perm", perm: 0o600, wantPerm: 0o600},
		{name: "existing file keeps its mode", existing: ptr(os.FileMode(0o640)), perm: 0o600, wantPerm: 0o640},
	}
	for _, tt := range tests {
		for _, w := range []struct {
			name  string
			write func(string, []byte, os.FileMode) error
		}{{"Write", Write}, {"WriteNoSync", WriteNoSync}} {
			t.Run(w.name+"/"+tt.name, func(t *testing.T) {
				dir := t.TempDir()
				path := filepath.Join(dir, "f.hcl")
				if tt.existing != nil {
					if err := os.WriteFile(path, []byte("old"), *tt.existing); err != nil {
						t.Fatal(err)
					}
					if err := os.Chmod(path, *tt.existing); err != nil {
						t.Fatal(err)
					}
				}
				if err := w.write(path, []byte("new"), tt.perm); err != nil {
					t.Fatal(err)
				}
				got, err := os.ReadFile(path)
				if err != nil || string(got) != "new" {
					t.Fatalf("content = %q, %v; want \"new\"", got, err)
				}
				fi, _ := os.Stat(path)
				if fi.Mode().Perm() != tt.wantPerm {
					t.Errorf("mode = %v, want %v", fi.Mode().Perm(), tt.wantPerm)
				}
				entries, _ := os.ReadDir(dir)
				if len(entries) != 1 {
					t.Errorf("folder holds %d entries, want only the file (no temp left)", len(entries))
				}
			})
		}
	}
}

func TestWriteFailureLeavesOriginal(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "missing-folder", "f.hcl")
	if err := Write(path, []byte("x"), 0o644); err == nil {
		t.Fatal("Write into a missing folder succeeded")
	}
}

func ptr[T any](v T) *T { return &v }
