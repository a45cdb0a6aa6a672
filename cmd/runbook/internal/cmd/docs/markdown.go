package docs

import (
	"regexp"
	"strings"

	"github.com/runbookdev/runbook/cmd/runbook/internal/text"
)

// inlineEscaper writes the characters Markdown acts on inside a line as
// text: backslash escapes where both CommonMark (GitHub, Backstage) and
// Python-Markdown (MkDocs, TechDocs) honour them, HTML entities where one
// of them would not (`<`, `>`, `&`, `|` in a table, `~`).
var inlineEscaper = strings.NewReplacer(
	`\`, `\\`,
	"`", "\\`",
	`*`, `\*`,
	`_`, `\_`,
	`[`, `\[`,
	`]`, `\]`,
	`{`, `\{`,
	`}`, `\}`,
	`#`, `\#`,
	`<`, `&lt;`,
	`>`, `&gt;`,
	`&`, `&amp;`,
	`|`, `&#124;`,
	`~`, `&#126;`,
)

// Inline is text from a runbook as Markdown on one line (a list item, a
// heading, a table cell): its lines joined by spaces, control characters
// written as escapes (text.VisibleLine), and nothing in it read as
// Markdown or HTML.
func Inline(s string) string {
	return inlineEscaper.Replace(text.VisibleLine(strings.Join(strings.Fields(s), " ")))
}

// lineStart matches what makes a line a list item, a heading underline or
// a thematic break when it starts one: `-`, `+`, `=`, or a number followed
// by `.` or `)`. The other openers (`#`, `>`, `*`, `_`, a backtick fence)
// are escaped wherever they are.
var lineStart = regexp.MustCompile(`^(?:[-+=]|[0-9]{1,9}[.)])`)

// lineStartEntity is the entity for the character that ends lineStart.
var lineStartEntity = map[byte]string{'-': "&#45;", '+': "&#43;", '=': "&#61;", '.': "&#46;", ')': "&#41;"}

// Block is text from a runbook as Markdown paragraphs: its lines kept (a
// blank line still parts paragraphs), each without the indentation that
// would make it code, and nothing in it read as Markdown or HTML.
func Block(s string) string {
	lines := strings.Split(text.Visible(strings.TrimSpace(s)), "\n")
	for i, line := range lines {
		line = inlineEscaper.Replace(strings.TrimSpace(strings.ReplaceAll(line, "\t", " ")))
		if m := lineStart.FindString(line); m != "" {
			line = m[:len(m)-1] + lineStartEntity[m[len(m)-1]] + line[len(m):]
		}
		lines[i] = line
	}
	return strings.Join(lines, "\n")
}

// Code is s as an inline code span, shown exactly: its fence is longer
// than any run of backticks in s, and a space pads s where it starts or
// ends with a backtick (or with spaces on both sides, which the span
// would strip). s is one line (runbooktext.Expr makes it so).
func Code(s string) string {
	if s == "" {
		return ""
	}
	longest, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") || strings.HasPrefix(s, " ") && strings.HasSuffix(s, " ") {
		s = " " + s + " "
	}
	return fence + s + fence
}
