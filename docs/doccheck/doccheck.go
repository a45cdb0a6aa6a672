// Package doccheck reads the reference pages in docs/ for the tests that
// hold them to the code: each page is Markdown, cut into sections at its
// headings, and a name is documented in a section when it appears there
// in backticks.
package doccheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// Section is the text under one heading, up to the next heading of the
// same or a higher level (its subsections included).
type Section struct {
	Heading string // the heading's text, without the leading #s
	Level   int
	Line    int // 1-based line of the heading
	Body    string
}

// Page is a parsed Markdown page.
type Page struct {
	Path     string
	Text     string
	Sections []Section
}

// Dir is the docs/ folder of the repository this package is in.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// Load reads docs/NAME, failing the test if it cannot.
func Load(t testing.TB, name string) *Page {
	t.Helper()
	path := filepath.Join(Dir(), name)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return Parse(path, string(data))
}

// Parse cuts text into sections. Lines inside fenced code blocks are never
// headings.
func Parse(path, text string) *Page {
	p := &Page{Path: path, Text: text}
	lines := strings.Split(text, "\n")
	type open struct{ idx, start int }
	var heads []open
	fenced := false
	for i, line := range lines {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		level := len(line) - len(strings.TrimLeft(line, "#"))
		if level == 0 || level > 6 || !strings.HasPrefix(line[level:], " ") {
			continue
		}
		p.Sections = append(p.Sections, Section{Heading: strings.TrimSpace(line[level:]), Level: level, Line: i + 1})
		heads = append(heads, open{len(p.Sections) - 1, i + 1})
	}
	for n, h := range heads {
		end := len(lines)
		for _, later := range heads[n+1:] {
			if p.Sections[later.idx].Level <= p.Sections[h.idx].Level {
				end = later.start - 1
				break
			}
		}
		p.Sections[h.idx].Body = strings.Join(lines[h.start:end], "\n")
	}
	return p
}

// Find returns the first section whose heading holds want in backticks
// (want itself, or want followed by a space and more, as in `step "NAME"`).
func (p *Page) Find(want string) (Section, bool) {
	for _, s := range p.Sections {
		if HeadingNames(s.Heading, want) {
			return s, true
		}
	}
	return Section{}, false
}

// HeadingNames reports whether a heading names want in backticks.
func HeadingNames(heading, want string) bool {
	for _, code := range codeSpans(heading) {
		if code == want || strings.HasPrefix(code, want+" ") {
			return true
		}
	}
	return false
}

// Mentions reports whether text holds name in backticks: `name`, or a
// code span that starts with name followed by a space, "=", "(", "[" or
// "{" (`name = "x"`, `name(…)`, `name { … }`).
func Mentions(text, name string) bool {
	for _, code := range codeSpans(text) {
		if code == name {
			return true
		}
		if rest, ok := strings.CutPrefix(code, name); ok && strings.ContainsAny(rest[:1], " =([{") {
			return true
		}
	}
	return false
}

// codeSpans returns the contents of the single-backtick code spans in
// text, and the lines of its fenced code blocks.
func codeSpans(text string) []string {
	var spans []string
	fenced := false
	for line := range strings.SplitSeq(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		parts := strings.Split(line, "`")
		for i := 1; i < len(parts)-1; i += 2 {
			spans = append(spans, strings.TrimSpace(parts[i]))
		}
	}
	return spans
}

// Titled returns the first section whose heading is exactly title.
func (p *Page) Titled(title string) (Section, bool) {
	for _, s := range p.Sections {
		if s.Heading == title {
			return s, true
		}
	}
	return Section{}, false
}

// Constants returns the constants declared with a literal value in the
// non-test Go files of dir, by name: a string's value unquoted, a number's
// as written. Tests read a package's source with it, so that a constant
// added there (a record type, an exit code) is found without a list to
// keep.
func Constants(t testing.TB, dir string) map[string]string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	consts := map[string]string{}
	fset := token.NewFileSet()
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range file.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.CONST {
				continue
			}
			for _, spec := range gen.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok {
						continue
					}
					value := lit.Value
					if lit.Kind == token.STRING {
						value, _ = strconv.Unquote(lit.Value)
					}
					consts[name.Name] = value
				}
			}
		}
	}
	return consts
}

// FencedBlocks returns the fenced code blocks of text whose info string
// is lang ("" for none), in order.
func FencedBlocks(text, lang string) []string {
	var blocks []string
	var block strings.Builder
	open, info := false, ""
	for line := range strings.SplitAfterSeq(text, "\n") {
		fence, isFence := strings.CutPrefix(strings.TrimRight(line, "\n"), "```")
		switch {
		case isFence && !open:
			open, info = true, fence
			block.Reset()
		case isFence && open:
			open = false
			if info == lang {
				blocks = append(blocks, block.String())
			}
		case open:
			block.WriteString(line)
		}
	}
	return blocks
}
