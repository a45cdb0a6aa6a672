package cmdutil

import (
	"os"
	"path/filepath"
	"testing"
)

func TestFindDirs(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"project/runbooks", "project/src/deep", "empty"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	project := filepath.Join(root, "project")
	for _, tc := range []struct {
		name, wd, dir, stateDir string
		wantDir, wantState      string
	}{
		{"project root", "project", "", "", "runbooks", ".runbook"},
		{"inside runbooks", "project/runbooks", "", "", ".", "../.runbook"},
		{"two levels down", "project/src/deep", "", "", "../../runbooks", "../../.runbook"},
		{"--dir", "project/src", "../runbooks", "", "../runbooks", "../.runbook"},
		{"--dir .", "project/runbooks", ".", "", ".", "../.runbook"},
		{"--state-dir", "project/src", "", "state", "../runbooks", "state"},
		{"absolute --dir", "empty", project + "/runbooks", "", "../project/runbooks", "../project/.runbook"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := FindDirs(filepath.Join(root, tc.wd), tc.dir, tc.stateDir)
			if got.Dir != tc.wantDir && !(tc.dir != "" && got.Dir == tc.dir) {
				t.Errorf("Dir = %q, want %q", got.Dir, tc.wantDir)
			}
			if got.StateDir != tc.wantState {
				t.Errorf("StateDir = %q, want %q", got.StateDir, tc.wantState)
			}
			if got.Looked != nil {
				t.Errorf("Looked = %v, want nil (found)", got.Looked)
			}
		})
	}
	t.Run("nothing found", func(t *testing.T) {
		wd := filepath.Join(root, "empty")
		got := FindDirs(wd, "", "")
		if len(got.Looked) < 2 || got.Looked[0] != wd || got.Looked[1] != root || got.Looked[len(got.Looked)-1] != "/" {
			t.Errorf("Looked = %v, want %s, %s, … /", got.Looked, wd, root)
		}
		if got.StateDir != ".runbook" {
			t.Errorf("StateDir = %q, want .runbook", got.StateDir)
		}
	})
}
