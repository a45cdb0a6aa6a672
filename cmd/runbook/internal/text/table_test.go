package text

import (
	"strings"
	"testing"
)

func TestVisibleWidth(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"never", 5},
		{"\x1b[2mnever\x1b[22m", 5},
		{"\x1b[32m✓ succeeded\x1b[0m", 11},
		{"チーム", 6},
		{"x\u0301", 1},
		{"", 0},
	} {
		if got := VisibleWidth(tc.in); got != tc.want {
			t.Errorf("VisibleWidth(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestTableAlignsByVisibleWidth(t *testing.T) {
	var tb Table
	tb.Row("\x1b[1mNAME\x1b[22m", "\x1b[1mOWNER\x1b[22m", "LAST")
	tb.Row("ok", "チーム", "\x1b[2mnever\x1b[22m")
	tb.Row("longer-name", "ops", "")
	var sb strings.Builder
	if err := tb.Write(&sb, "  "); err != nil {
		t.Fatal(err)
	}
	want := "  \x1b[1mNAME\x1b[22m         \x1b[1mOWNER\x1b[22m   LAST\n" +
		"  ok           チーム  \x1b[2mnever\x1b[22m\n" +
		"  longer-name  ops\n"
	if got := sb.String(); got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}
