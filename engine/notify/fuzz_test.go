package notify

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzAnswer feeds arbitrary receiver answers (a body, a Retry-After
// header) to what reads them: the excerpt kept of a body is one short
// printable line, and a wait is never negative.
func FuzzAnswer(f *testing.F) {
	for _, seed := range []struct{ body, retryAfter string }{
		{"ok", ""},
		{"invalid_token", "1"},
		{"rollup_error\nstack trace", "Wed, 21 Oct 2015 07:28:00 GMT"},
		{"<html><body>502 Bad Gateway</body></html>", "-1"},
		{"\x1b[31mred\x00", "99999999999999999999"},
		{"", "9999999999"},
	} {
		f.Add([]byte(seed.body), seed.retryAfter)
	}
	f.Fuzz(func(t *testing.T, body []byte, header string) {
		e := excerpt(body)
		if utf8.RuneCountInString(e) > 80 || strings.ContainsRune(e, '\n') {
			t.Fatalf("excerpt %q is not one short line", e)
		}
		for _, r := range e {
			if !unicode.IsPrint(r) {
				t.Fatalf("excerpt %q holds %U", e, r)
			}
		}
		if d := retryAfter(header); d < 0 {
			t.Fatalf("Retry-After %q: wait %s", header, d)
		}
	})
}
