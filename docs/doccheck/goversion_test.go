package doccheck

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// The CI integrations docs/ci.md shows build runbook with the Go that
// go.mod names (the action's own default is checked by .ci/action).
func TestCIGoVersionMatchesGoMod(t *testing.T) {
	mod, err := os.ReadFile(filepath.Join(filepath.Dir(Dir()), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	want := string(m[1])
	page := Load(t, "ci.md")
	mentions := regexp.MustCompile(`go-version(?:: |`+"` \\| `"+`)"(\d+\.\d+)"|image: golang:(\d+\.\d+)`).FindAllStringSubmatch(page.Text, -1)
	if len(mentions) < 3 {
		t.Fatalf("docs/ci.md names Go only %d times: %q", len(mentions), mentions)
	}
	for _, mm := range mentions {
		if got := mm[1] + mm[2]; got != want {
			t.Errorf("docs/ci.md says Go %s (%q), go.mod go %s", got, mm[0], want)
		}
	}
}
