package main

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// The README tells a new user which Go to install; go.mod must accept
// every release of that version, or `go build` on a machine with the Go the
// README names fetches another toolchain (or fails without a network).
func TestREADMEGoVersionMatchesGoMod(t *testing.T) {
	root := filepath.Join("..", "..")
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)(\.\d+)?$`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	if patch := string(m[2]); patch != "" && patch != ".0" {
		t.Errorf("go.mod says go %s%s: Go %s.0 cannot build it, yet the README says Go %s", m[1], patch, m[1], m[1])
	}
	want := string(m[1])
	mentions := regexp.MustCompile(`with Go (\d+\.\d+)|go-version: "(\d+\.\d+)"`).FindAllSubmatch(readme, -1)
	if len(mentions) == 0 {
		t.Fatal("the README names no Go version")
	}
	for _, mm := range mentions {
		got := string(mm[1]) + string(mm[2])
		if got != want {
			t.Errorf("the README says Go %s (%q), go.mod go %s", got, mm[0], want)
		}
	}
}
