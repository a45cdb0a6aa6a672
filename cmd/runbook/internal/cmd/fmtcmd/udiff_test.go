package fmtcmd

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// unifiedDiff writes what diff -u writes.
func TestUnifiedDiffMatchesDiffU(t *testing.T) {
	if _, err := exec.LookPath("diff"); err != nil {
		t.Skip("no diff command")
	}
	lines := func(n int, edit map[int]string) string {
		var sb strings.Builder
		for i := 1; i <= n; i++ {
			if s, ok := edit[i]; ok {
				sb.WriteString(s)
				continue
			}
			sb.WriteString("line " + strings.Repeat("x", i%7) + "\n")
		}
		return sb.String()
	}
	for _, tc := range []struct{ name, old, new string }{
		{"equal", "a\nb\n", "a\nb\n"},
		{"one change", lines(10, nil), lines(10, map[int]string{5: "changed\n"})},
		{"two hunks", lines(40, nil), lines(40, map[int]string{3: "x\n", 30: ""})},
		{"near changes join", lines(20, nil), lines(20, map[int]string{5: "x\n", 10: "y\n"})},
		{"added at the end", "a\n", "a\nb\nc\n"},
		{"removed at the start", "a\nb\nc\n", "c\n"},
		{"from empty", "", "a\n"},
		{"no final newline", "a\nb", "a\nc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			o, n := filepath.Join(dir, "o"), filepath.Join(dir, "n")
			if err := os.WriteFile(o, []byte(tc.old), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(n, []byte(tc.new), 0o644); err != nil {
				t.Fatal(err)
			}
			want, _ := exec.Command("diff", "-u", "--label", "old/f", "--label", "new/f", o, n).Output()
			if got := unifiedDiff("old/f", "new/f", []byte(tc.old), []byte(tc.new)); got != string(want) {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}
