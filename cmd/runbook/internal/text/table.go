package text

import (
	"io"
	"regexp"
	"strings"

	"github.com/mattn/go-runewidth"
)

// Table lays cells out in columns two spaces apart, padded by the width a
// terminal gives them: colour escape codes take no room, a wide character
// (CJK, most emoji) two cells, a combining mark none. text/tabwriter counts
// every rune as one cell, escape codes included, so coloured rows drifted.
type Table struct {
	rows [][]string
}

// Row adds a row; trailing empty cells are dropped.
func (t *Table) Row(cells ...string) {
	for len(cells) > 0 && cells[len(cells)-1] == "" {
		cells = cells[:len(cells)-1]
	}
	t.rows = append(t.rows, cells)
}

// Write prints the rows, each after indent; the last cell of a row is not
// padded, so no line ends in spaces.
func (t *Table) Write(w io.Writer, indent string) error {
	// As in text/tabwriter, the last cell of a row is not part of a column:
	// it is never padded, so it does not widen one.
	var widths []int
	for _, r := range t.rows {
		for i, c := range r[:max(len(r)-1, 0)] {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], VisibleWidth(c))
		}
	}
	var sb strings.Builder
	for _, r := range t.rows {
		sb.WriteString(indent)
		for i, c := range r {
			sb.WriteString(c)
			if i < len(r)-1 {
				sb.WriteString(strings.Repeat(" ", widths[i]-VisibleWidth(c)+2))
			}
		}
		sb.WriteByte('\n')
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

// ansiEscape matches the terminal escape sequences the CLI writes (SGR
// colours and styles, and other CSI sequences).
var ansiEscape = regexp.MustCompile(`\x1b\[[0-9;?]*[ -/]*[@-~]`)

// VisibleWidth is how many terminal cells s takes.
func VisibleWidth(s string) int {
	if strings.IndexByte(s, 0x1b) >= 0 {
		s = ansiEscape.ReplaceAllString(s, "")
	}
	return runewidth.StringWidth(s)
}
