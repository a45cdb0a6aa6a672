package text

import (
	"testing"
)

func TestVisible(t *testing.T) {
	tests := map[string]string{
		"plain":                "plain",
		"tab\tand\nnewline":    "tab\tand\nnewline",
		"\x1b[32mOK\x1b[0m":    `\x1b[32mOK\x1b[0m`,
		"\x1b]0;title\x07":     `\x1b]0;title\x07`,
		"over\rwrite":          `over\rwrite`,
		"del\x7f nul\x00":      `del\x7f nul\x00`,
		"c1 \u009b2J":          `c1 \u009b2J`,
		"bidi \u202eevil":      `bidi \u202eevil`,
		"bad utf-8 \xff\xfe":   `bad utf-8 \xff\xfe`,
		"unicode ✓ pässwörd →": "unicode ✓ pässwörd →",
	}
	for in, want := range tests {
		if got := Visible(in); got != want {
			t.Errorf("Visible(%q) = %q, want %q", in, got, want)
		}
	}
	if got := VisibleLine("a\nb\tc\x1b"); got != `a\nb\tc\x1b` {
		t.Errorf("visibleLine = %q", got)
	}
}

func TestVisibleLines(t *testing.T) {
	got := VisibleLines([]string{"bob", "a\nb", "\x1b[2J"})
	want := []string{"bob", `a\nb`, `\x1b[2J`}
	if len(got) != len(want) {
		t.Fatalf("VisibleLines = %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("VisibleLines[%d] = %q, want %q", i, got[i], want[i])
		}
	}
}
