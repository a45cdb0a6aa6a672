package filestate

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Concurrent read-modify-write under Lock never loses an update.
func TestLockSerializesWriters(t *testing.T) {
	dir := t.TempDir()
	counter := filepath.Join(dir, "n.json")
	if err := WriteJSON(counter, 0); err != nil {
		t.Fatal(err)
	}
	const writers, each = 8, 25
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range each {
				unlock, err := Lock(context.Background(), filepath.Join(dir, ".lock"))
				if err != nil {
					t.Error(err)
					return
				}
				var n int
				b, _ := os.ReadFile(counter)
				_ = json.Unmarshal(b, &n)
				if err := WriteJSON(counter, n+1); err != nil {
					t.Error(err)
				}
				unlock()
			}
		})
	}
	wg.Wait()
	b, _ := os.ReadFile(counter)
	if got, _ := strconv.Atoi(string(b[:len(b)-1])); got != writers*each {
		t.Fatalf("counter = %s, want %d", b, writers*each)
	}
}

func TestLockGivesUpWithContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".lock")
	unlock, err := Lock(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := Lock(ctx, path); err == nil {
		t.Fatal("a second Lock succeeded while the first is held")
	}
}

func TestAppendHistory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "history.jsonl")
	for i := range 3 {
		if err := AppendHistory(path, HistoryEntry{Action: "rollback", From: 7 - i, To: 6 - i, Operator: "a@h", RunID: "r"}); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		var e map[string]any
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		for _, k := range []string{"time", "action", "from", "to", "operator", "run_id"} {
			if _, ok := e[k]; !ok {
				t.Errorf("line %d lacks %q", n+1, k)
			}
		}
		n++
	}
	if n != 3 {
		t.Fatalf("%d lines, want 3", n)
	}
}

// A symbolic link at a path the state writes is refused, never written
// through or replaced, whether its target exists or not.
func TestSymlinksRefused(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(path string) error
	}{
		{"Lock", func(path string) error {
			unlock, err := Lock(context.Background(), path)
			if err == nil {
				unlock()
			}
			return err
		}},
		{"WriteJSON", func(path string) error { return WriteJSON(path, map[string]int{"production": 1}) }},
		{"AppendHistory", func(path string) error { return AppendHistory(path, HistoryEntry{Action: "promote"}) }},
	} {
		for _, targetExists := range []bool{false, true} {
			t.Run(tc.name+"/target exists "+strconv.FormatBool(targetExists), func(t *testing.T) {
				dir := t.TempDir()
				target, link := filepath.Join(dir, "target"), filepath.Join(dir, "state", "link")
				if err := os.Mkdir(filepath.Dir(link), 0o755); err != nil {
					t.Fatal(err)
				}
				if targetExists {
					if err := os.WriteFile(target, []byte("untouched"), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				if err := os.Symlink(target, link); err != nil {
					t.Fatal(err)
				}
				err := tc.write(link)
				if err == nil || !strings.Contains(err.Error(), link+" is a symbolic link") {
					t.Fatalf("err = %v, want the link refused", err)
				}
				data, err := os.ReadFile(target)
				switch {
				case targetExists && string(data) != "untouched":
					t.Errorf("target now holds %q", data)
				case !targetExists && !os.IsNotExist(err):
					t.Errorf("target was created: %v", err)
				}
				if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
					t.Errorf("the link was replaced")
				}
			})
		}
	}
}
