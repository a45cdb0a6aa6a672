package text

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Visible returns s with every character a terminal would act on rather
// than show written as an escape: ESC as \x1b (no colour, title change or
// clear screen comes from a command's output, a server's reply or $USER),
// CR as \r (no line overwritten), other C0 and C1 controls and DEL, the
// bidirectional overrides that reorder what is shown (\u202e), and bytes
// that are not UTF-8 (\xff). Newlines and tabs are kept. Transcripts keep
// the raw bytes; only what is shown is escaped.
func Visible(s string) string {
	if !NeedsEscape(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 && r != '\n' && r != '\t', r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r >= 0x80 && r < 0xa0, isBidiControl(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func NeedsEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\n' && c != '\t' || c >= 0x7f {
			// Above 0x7f: UTF-8, checked rune by rune.
			if c < 0x80 {
				return true
			}
			for _, r := range s[i:] {
				if r == utf8.RuneError || r >= 0x80 && r < 0xa0 || isBidiControl(r) {
					return true
				}
			}
			return !utf8.ValidString(s[i:])
		}
	}
	return false
}

func isBidiControl(r rune) bool {
	return r == 0x061c || r == 0x200e || r == 0x200f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069
}

// VisibleLine is visible for a value shown on one line (a name, a table
// cell): newlines and tabs are escaped too.
func VisibleLine(s string) string {
	return strings.NewReplacer("\n", `\n`, "\t", `\t`).Replace(Visible(s))
}

// VisibleLines is VisibleLine of each of ss.
func VisibleLines(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = VisibleLine(s)
	}
	return out
}
