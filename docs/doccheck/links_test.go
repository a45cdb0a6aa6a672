package doccheck

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// slug is GitHub's anchor for a heading: lowercase, punctuation other than
// "-" and "_" dropped, spaces made "-".
func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestSlug(t *testing.T) {
	for heading, want := range map[string]string{
		"`plugin \"NAME\"`":                "plugin-name",
		"`runbook exec`":                   "runbook-exec",
		"Built-in and external plugins":    "built-in-and-external-plugins",
		"File backend: prompts":            "file-backend-prompts",
		"`runbook completion bash`, `zsh`": "runbook-completion-bash-zsh",
	} {
		if got := slug(heading); got != want {
			t.Errorf("slug(%q) = %q, want %q", heading, got, want)
		}
	}
}

var mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// Every relative link in docs/ and the README leads to a file that exists
// and, with a #fragment, to a heading of that page.
func TestLinks(t *testing.T) {
	pages, err := filepath.Glob(filepath.Join(Dir(), "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	pages = append(pages, filepath.Join(filepath.Dir(Dir()), "README.md"))
	anchors := func(path string) map[string]bool {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		set := map[string]bool{}
		for _, s := range Parse(path, string(data)).Sections {
			set[slug(s.Heading)] = true
		}
		return set
	}
	checked := 0
	for _, page := range pages {
		data, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range mdLink.FindAllStringSubmatch(string(data), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, frag, _ := strings.Cut(target, "#")
			path := page
			if file != "" {
				path = filepath.Join(filepath.Dir(page), file)
			}
			checked++
			if _, err := os.Stat(path); err != nil {
				t.Errorf("%s: link %s: %v", filepath.Base(page), target, err)
				continue
			}
			if frag != "" && strings.HasSuffix(path, ".md") && !anchors(path)[frag] {
				t.Errorf("%s: link %s: %s has no heading #%s", filepath.Base(page), target, filepath.Base(path), frag)
			}
		}
	}
	if checked < 20 {
		t.Errorf("checked only %d links", checked)
	}
}
