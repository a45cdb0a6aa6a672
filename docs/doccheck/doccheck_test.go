package doccheck

import (
	"os"
	"path/filepath"
	"testing"
)

func TestMentions(t *testing.T) {
	tests := []struct {
		text, name string
		want       bool
	}{
		{"the `owner` attribute", "owner", true},
		{"`owner = \"x\"`", "owner", true},
		{"`length(s)`", "length", true},
		{"`retry { attempts }`", "retry", true},
		{"`owners`", "owner", false},
		{"owner, in prose only", "owner", false},
		{"```hcl\nowner = `x`\n```", "x", false},
		{"`a` and `b`", "b", true},
	}
	for _, tt := range tests {
		if got := Mentions(tt.text, tt.name); got != tt.want {
			t.Errorf("Mentions(%q, %q) = %v, want %v", tt.text, tt.name, got, tt.want)
		}
	}
}

func TestSections(t *testing.T) {
	p := Parse("x.md", "# Top\nintro\n## `step \"NAME\"`\nstep text\n### `expect`\nexpect text\n```\n# not a heading\n```\n## `retry`\nretry text\n")
	tests := []struct {
		find, want string
	}{
		{"step", "step text\n### `expect`\nexpect text\n```\n# not a heading\n```"},
		{"expect", "expect text\n```\n# not a heading\n```"},
		{"retry", "retry text\n"},
	}
	for _, tt := range tests {
		s, ok := p.Find(tt.find)
		if !ok {
			t.Errorf("no section for %q", tt.find)
			continue
		}
		if s.Body != tt.want {
			t.Errorf("section %q = %q, want %q", tt.find, s.Body, tt.want)
		}
	}
	if _, ok := p.Find("not a heading"); ok {
		t.Error("a line in a code block was taken for a heading")
	}
	if len(p.Sections) != 4 {
		t.Errorf("%d sections, want 4", len(p.Sections))
	}
}

func TestConstants(t *testing.T) {
	dir := t.TempDir()
	src := "package p\n\nconst (\n\tA = \"a\\tb\"\n\tB = 130\n\tC = A + \"x\"\n)\n\nconst D, E = 1, 2\n"
	if err := os.WriteFile(filepath.Join(dir, "p.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "p_test.go"), []byte("package p\n\nconst T = 9\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got := Constants(t, dir)
	want := map[string]string{"A": "a\tb", "B": "130", "D": "1", "E": "2"}
	if len(got) != len(want) {
		t.Errorf("Constants = %v, want %v", got, want)
	}
	for name, value := range want {
		if got[name] != value {
			t.Errorf("Constants[%s] = %q, want %q", name, got[name], value)
		}
	}
}

func TestFencedBlocks(t *testing.T) {
	text := "intro\n```hcl\na = 1\n```\n\n```\nplain\n```\n```hcl\nb = 2\nc = 3\n```\n```go\nx\n```\n"
	tests := []struct {
		lang string
		want []string
	}{
		{"hcl", []string{"a = 1\n", "b = 2\nc = 3\n"}},
		{"", []string{"plain\n"}},
		{"go", []string{"x\n"}},
		{"sh", nil},
	}
	for _, tt := range tests {
		got := FencedBlocks(text, tt.lang)
		if len(got) != len(tt.want) {
			t.Errorf("FencedBlocks(%q) = %q, want %q", tt.lang, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("FencedBlocks(%q)[%d] = %q, want %q", tt.lang, i, got[i], tt.want[i])
			}
		}
	}
}
