package redact

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	const secret = "s3cr3t/tok+en=="
	tests := []struct {
		name    string
		secrets []string
		in      string
		want    string
	}{
		{name: "no secrets", in: "hello", want: "hello"},
		{name: "plain", secrets: []string{"hunter2!"}, in: "pw=hunter2! ok", want: "pw=(sensitive) ok"},
		{name: "every occurrence", secrets: []string{"abcd"}, in: "abcd abcdabcd", want: "(sensitive) (sensitive)(sensitive)"},
		{name: "base64 std", secrets: []string{secret}, in: "b=" + base64.StdEncoding.EncodeToString([]byte(secret)), want: "b=(sensitive)"},
		{name: "base64 raw url", secrets: []string{"user:pa>?ss"}, in: "x " + base64.RawURLEncoding.EncodeToString([]byte("user:pa>?ss")) + " y", want: "x (sensitive) y"},
		{name: "query escaped", secrets: []string{secret}, in: "https://h/?t=" + url.QueryEscape(secret), want: "https://h/?t=(sensitive)"},
		{name: "path escaped", secrets: []string{"a b/c?d"}, in: "/x/" + url.PathEscape("a b/c?d") + "/y", want: "/x/(sensitive)/y"},
		{name: "longest first", secrets: []string{"abcd", "abcdefgh"}, in: "xabcdefghx", want: "x(sensitive)x"},
		{name: "longest first, added the other way", secrets: []string{"abcdefgh", "abcd"}, in: "abcdefgh abcd", want: "(sensitive) (sensitive)"},
		{name: "overlapping occurrences", secrets: []string{"aaaa"}, in: "aaaaaa", want: "(sensitive)aa"},
		{name: "short secret not masked inside text", secrets: []string{"dev"}, in: "/dev/null on dev", want: "/dev/null on dev"},
		{name: "short secret masked as the whole value", secrets: []string{"dev"}, in: "dev", want: "(sensitive)"},
		{name: "short secret as the whole value with a newline", secrets: []string{"123"}, in: "123\n", want: "(sensitive)\n"},
		{name: "trailing newline of a secret file", secrets: []string{"tokenvalue\n"}, in: "Bearer tokenvalue", want: "Bearer (sensitive)"},
		{name: "empty secret ignored", secrets: []string{""}, in: "abc", want: "abc"},
		{name: "whole-value short secret beside a white-space secret", secrets: []string{"    ", "1"}, in: "    1", want: "(sensitive)(sensitive)"},
		{name: "unicode", secrets: []string{"pässwörd"}, in: "p=pässwörd;q=" + url.QueryEscape("pässwörd"), want: "p=(sensitive);q=(sensitive)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New(tt.secrets...)
			if got := m.String(tt.in); got != tt.want {
				t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
			}
			var buf bytes.Buffer
			w := m.Writer(&buf)
			for i := 0; i < len(tt.in); i++ {
				w.Write([]byte{tt.in[i]})
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if want := m.substrings(tt.in); buf.String() != want {
				t.Errorf("byte-by-byte stream = %q, want %q", buf.String(), want)
			}
		})
	}
}

func TestNilAndZeroMasker(t *testing.T) {
	var m *Masker
	if m.String("x") != "x" {
		t.Error("nil masker changed text")
	}
	var z Masker
	if z.String("abcd") != "abcd" {
		t.Error("zero masker changed text")
	}
	z.Add("abcd")
	if z.String("abcd!") != "(sensitive)!" {
		t.Error("zero masker after Add")
	}
}

func TestAddLater(t *testing.T) {
	m := New("first-secret")
	var buf bytes.Buffer
	w := m.Writer(&buf)
	w.Write([]byte("first-secret then second-"))
	m.Add("second-secret")
	w.Write([]byte("secret end"))
	w.Flush()
	if got, want := buf.String(), "(sensitive) then (sensitive) end"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestStreamHoldsBackOnlyWhatItMust(t *testing.T) {
	m := New("abcdefgh")
	var buf bytes.Buffer
	w := m.Writer(&buf)
	w.Write([]byte("0123456789abcdefghij"))
	// The last (longest form - 1) bytes could still begin a secret; the
	// longest form is the base64 one.
	maxForm := len(base64.StdEncoding.EncodeToString([]byte("abcdefgh")))
	if got, want := buf.Len(), 20-(maxForm-1); got != want {
		t.Errorf("forwarded %d bytes of 20, want %d", got, want)
	}
	w.Write([]byte(" abcdefg"))
	w.Write([]byte("h!"))
	w.Flush()
	if got, want := buf.String(), "0123456789(sensitive)ij (sensitive)!"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	f.n++
	return 0, errors.New("broken pipe")
}

func TestStreamWriteError(t *testing.T) {
	fw := &failWriter{}
	w := New("abcd").Writer(fw)
	w.Write([]byte(strings.Repeat("x", 100)))
	if _, err := w.Write([]byte("more")); err == nil {
		t.Error("write after a failed write succeeded")
	}
	if err := w.Flush(); err == nil {
		t.Error("flush after a failed write succeeded")
	}
	if fw.n != 1 {
		t.Errorf("underlying writer called %d times after failing", fw.n)
	}
}

func TestBase64Forms(t *testing.T) {
	got := Base64Forms("a b")
	want := []string{"YSBi"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("Base64Forms = %q, want %q", got, want)
	}
}

// TestEncodings masks a secret however a command or a server may have
// encoded it: base64 at each of the three offsets it can start at inside
// longer data, wrapped over lines, and URL-escaped in any of the ways
// tools escape.
func TestEncodings(t *testing.T) {
	const secret = "tok/en+s3cr3t?value"
	std := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	wrap := func(s string, n int, eol string) string {
		var lines []string
		for len(s) > n {
			lines, s = append(lines, s[:n]), s[n:]
		}
		return strings.Join(append(lines, s), eol)
	}
	tests := map[string]string{
		"offset 0":             std(secret + ":x"),
		"offset 1":             std("u:" + secret),
		"offset 2":             std("us:" + secret),
		"basic auth":           "Authorization: Basic " + std("user:"+secret),
		"url alphabet":         base64.RawURLEncoding.EncodeToString([]byte("ab:" + secret + "?")),
		"wrapped at 20":        wrap(std("user:"+secret+"\n"), 20, "\n"),
		"wrapped at 4, CRLF":   wrap(std(secret), 4, "\r\n"),
		"wrapped, offset 1":    wrap(std("x"+secret+"yz"), 7, "\n"),
		"query escaped":        url.QueryEscape(secret),
		"path escaped":         url.PathEscape(secret),
		"lower-case escapes":   strings.ToLower(url.QueryEscape(secret)),
		"some bytes escaped":   strings.ReplaceAll(secret, "/", "%2F"),
		"every byte escaped":   escapeAll(secret),
		"space as plus":        strings.ReplaceAll(url.QueryEscape("a secret with spaces"), "%20", "+"),
		"escaped percent sign": url.QueryEscape("100%-secret%2F"),
	}
	m := New(secret, "a secret with spaces", "100%-secret%2F")
	var cores []string
	for _, s := range []string{secret, "a secret with spaces", "100%-secret%2F"} {
		for _, f := range Base64Forms(s) {
			cores = append(cores, f[2:len(f)-2])
		}
	}
	for name, text := range tests {
		t.Run(name, func(t *testing.T) {
			// Wrapped base64 is on lines of its own.
			in := "before:\n" + text + "\nafter"
			got := m.String(in)
			if !strings.Contains(got, Marker) {
				t.Fatalf("String(%q) = %q: nothing masked", in, got)
			}
			flat := strings.NewReplacer("\r", "", "\n", "").Replace(got)
			for _, c := range cores {
				if strings.Contains(flat, c) {
					t.Errorf("String(%q) = %q: %q survives", in, got, c)
				}
			}
			var buf bytes.Buffer
			w := m.Writer(&buf)
			for i := 0; i < len(in); i++ {
				w.Write([]byte{in[i]})
			}
			w.Close()
			if buf.String() != got {
				t.Errorf("byte-by-byte stream = %q, String = %q", buf.String(), got)
			}
		})
	}
}

func escapeAll(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&sb, "%%%02x", s[i])
	}
	return sb.String()
}

func FuzzMasker(f *testing.F) {
	f.Add("hunter22", "abc", "my pw is hunter22 and aHVudGVyMjI= and abc", uint8(3))
	f.Add("aaaa", "aaaaaaaa", "aaaaaaaaaaaaaaaaaaaaa", uint8(1))
	f.Add("sens", "itive", "(sensitive) sensitive", uint8(2))
	f.Add("a b/c?d", "", "/x/a%20b%2Fc%3Fd?q=a+b%2Fc%3Fd", uint8(5))
	f.Fuzz(func(t *testing.T, s1, s2, text string, chunk uint8) {
		m := New(s1, s2)
		out := m.String(text)
		checkNoSecrets(t, m, out)
		if strings.TrimSpace(text) != "" && (strings.TrimSpace(text) == s1 || strings.TrimSpace(text) == s2 ||
			strings.TrimSpace(text) == strings.TrimSpace(s1) || strings.TrimSpace(text) == strings.TrimSpace(s2)) {
			if !strings.Contains(out, Marker) {
				t.Fatalf("whole-value secret %q not masked: %q", text, out)
			}
			return
		}
		var buf bytes.Buffer
		w := m.Writer(&buf)
		size := int(chunk%16) + 1
		for i := 0; i < len(text); i += size {
			w.Write([]byte(text[i:min(i+size, len(text))]))
		}
		w.Close()
		if buf.String() != out {
			t.Fatalf("stream in %d-byte chunks = %q, String = %q", size, buf.String(), out)
		}
	})
}

// checkNoSecrets fails when a secret form survives in the text between
// markers (a form that straddles a marker shows nothing of the secret).
func checkNoSecrets(t *testing.T, m *Masker, out string) {
	t.Helper()
	for _, piece := range strings.Split(out, Marker) {
		for f := range m.forms {
			if strings.Contains(piece, f.text) {
				t.Fatalf("secret form %q survives in %q", f.text, out)
			}
		}
	}
}

func TestLines(t *testing.T) {
	const secret = "tok/en+s3cr3t?value"
	encoded := base64.StdEncoding.EncodeToString([]byte("user:" + secret))
	var got []string
	lw := New(secret, "42").Lines(func(line string) { got = append(got, line) })
	lw.Line(" 42")
	lw.Line("starting")
	// It ends with what could begin a wrapped base64 form, but it is not a
	// line of base64.
	lw.Line("waiting for " + Base64Forms(secret)[0][:2])
	if len(got) != 3 {
		t.Errorf("a line with nothing secret in it was held back: %q", got)
	}
	for i := 0; i < len(encoded); i += 8 {
		lw.Line(encoded[i:min(i+8, len(encoded))])
	}
	lw.Line("done")
	lw.Flush()
	all := strings.Join(got, "\n")
	if !strings.Contains(all, Marker) || strings.Contains(strings.ReplaceAll(all, "\n", ""), encoded[8:24]) {
		t.Errorf("a secret wrapped over lines was not masked: %q", got)
	}
	if got[0] != " (sensitive)" || got[1] != "starting" || got[len(got)-1] != "done" {
		t.Errorf("lines = %q", got)
	}
}

// TestLinesByPrefix: a secret wrapped over the lines of a command's stderr
// is masked even when lines of its stdout come between them.
func TestLinesByPrefix(t *testing.T) {
	const secret = "tok/en+s3cr3t?value"
	encoded := base64.StdEncoding.EncodeToString([]byte("user:" + secret))
	var got []string
	lw := New(secret).Lines(func(line string) { got = append(got, line) }, "stderr: ")
	for i := 0; i < len(encoded); i += 8 {
		lw.Line("stderr: " + encoded[i:min(i+8, len(encoded))])
		lw.Line("progress " + strconv.Itoa(i))
	}
	lw.Flush()
	var stderr strings.Builder
	for _, line := range got {
		if rest, ok := strings.CutPrefix(line, "stderr: "); ok {
			stderr.WriteString(rest)
		}
	}
	if !strings.Contains(stderr.String(), Marker) || strings.Contains(stderr.String(), encoded[8:24]) {
		t.Errorf("a secret wrapped over stderr lines was not masked: %q", got)
	}
	if progress := len(got) - strings.Count(strings.Join(got, "\n"), "stderr: "); got[0] != "progress 0" || progress != (len(encoded)+7)/8 {
		t.Errorf("the lines of stdout were held back or lost: %q", got)
	}
}
