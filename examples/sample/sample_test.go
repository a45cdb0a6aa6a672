package sample

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// writeRepo makes a module with examples/state/labels.json and a symlink,
// committed to git when commit is set, and returns its folder.
func writeRepo(t *testing.T, commit bool) string {
	t.Helper()
	repo := t.TempDir()
	state := filepath.Join(repo, "examples", "state")
	if err := os.MkdirAll(state, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{
		"go.mod":                         "module example.com/m\n",
		"examples/state/labels.json":     `{"production": 7}`,
		"examples/state/builds/1/a.json": `{}`,
	} {
		path := filepath.Join(repo, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("builds/1", filepath.Join(state, "current")); err != nil {
		t.Fatal(err)
	}
	if commit {
		for _, args := range [][]string{
			{"init", "-q"},
			{"add", "."},
			{"-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "sample"},
		} {
			cmd := exec.Command("git", args...)
			cmd.Dir = repo
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("git %v: %v: %s", args, err, out)
			}
		}
	}
	return repo
}

func TestCopyIgnoresWorkingTreeChanges(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	repo := writeRepo(t, true)
	// What the quick start does to the working tree.
	if err := os.WriteFile(filepath.Join(repo, "examples", "state", "labels.json"), []byte(`{"production": 6}`), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(filepath.Join(repo, "examples"))
	dir := Copy(t, "examples/state")
	got, err := os.ReadFile(filepath.Join(dir, "examples", "state", "labels.json"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != `{"production": 7}` {
		t.Errorf("copied labels.json = %s, want the committed one", got)
	}
	if target, err := os.Readlink(filepath.Join(dir, "examples", "state", "current")); err != nil || target != "builds/1" {
		t.Errorf("current -> %q (%v), want the symlink to builds/1", target, err)
	}
}

func TestCopyOutsideGit(t *testing.T) {
	repo := writeRepo(t, false)
	t.Chdir(repo)
	dir := Copy(t, "examples/state", "go.mod")
	if _, err := os.Stat(filepath.Join(dir, "examples", "state", "builds", "1", "a.json")); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Error(err)
	}
}
