package redact

import (
	"bytes"
	"encoding/base64"
	"io"
	"strings"
	"sync"
)

// Marker replaces every secret.
const Marker = "(sensitive)"

// MinLen is the shortest secret masked inside longer text. Shorter ones
// ("1", "yes", "dev") would shred output: every "1" in a number, every "dev"
// in a path would become (sensitive) and the text would leak what it hides
// by where the markers fall. They are still masked as whole values.
const MinLen = 4

// Masker replaces secrets in text. It is safe for concurrent use; its zero
// value masks nothing.
type Masker struct {
	mu      sync.RWMutex
	secrets map[string]bool // every secret added, for whole-value equality
	forms   map[form]bool   // every form masked as a substring
	index   *index          // built from forms on first use after a change
}

// form is a secret as it may appear in text: the secret itself, matched
// with any of its bytes URL-escaped, or one of its base64 encodings,
// matched across line breaks.
type form struct {
	text   string
	base64 bool
}

// New returns a Masker for secrets.
func New(secrets ...string) *Masker {
	m := &Masker{}
	for _, s := range secrets {
		m.Add(s)
	}
	return m
}

// Add makes m mask secret from now on. Empty secrets are ignored. A secret
// with surrounding white space (a token read from a file with its newline)
// is masked trimmed as well.
func (m *Masker) Add(secret string) {
	if secret == "" {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.secrets == nil {
		m.secrets, m.forms = map[string]bool{}, map[form]bool{}
	}
	for _, s := range []string{secret, strings.TrimSpace(secret)} {
		if s == "" || m.secrets[s] {
			continue
		}
		m.secrets[s] = true
		if len(s) < MinLen {
			continue
		}
		m.forms[form{text: s}] = true
		for _, f := range Base64Forms(s) {
			m.forms[form{text: f, base64: true}] = true
		}
		m.index = nil
	}
}

// Base64Forms returns the base64 text that encodes secret wherever it
// starts in the encoded data: its full encodings (standard and URL
// alphabets, padded and raw) and, for each of the three byte offsets it
// can start at, the characters that depend on the secret's bytes alone
// (the one or two characters at each end also encode the bytes around
// it). No duplicates.
func Base64Forms(secret string) []string {
	b := []byte(secret)
	var all []string
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		all = append(all, enc.EncodeToString(b), enc.Strict().WithPadding(base64.NoPadding).EncodeToString(b))
		for offset := 0; offset < 3; offset++ {
			encoded := enc.EncodeToString(append(make([]byte, offset), b...))
			// Character j holds bits 6j to 6j+6; the secret holds bits
			// 8·offset to 8·(offset+len).
			first, end := (8*offset+5)/6, (8*offset+8*len(b))/6
			if end-first >= MinLen {
				all = append(all, encoded[first:end])
			}
		}
	}
	var out []string
	seen := map[string]bool{}
	for _, f := range all {
		if f != "" && !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}

// String returns s with every secret form replaced by Marker, the longest
// first where they overlap. A secret shorter than MinLen is replaced only
// when it is all of s (ignoring surrounding white space).
func (m *Masker) String(s string) string {
	if m == nil {
		return s
	}
	if i, j, ok := m.whole(s); ok {
		// The white space around it may hold a secret of its own.
		return m.substrings(s[:i]) + Marker + m.substrings(s[j:])
	}
	return m.substrings(s)
}

// whole reports whether s, but for the white space around it (before i,
// from j), is a secret.
func (m *Masker) whole(s string) (i, j int, ok bool) {
	t := strings.TrimSpace(s)
	m.mu.RLock()
	ok = m.secrets[t]
	m.mu.RUnlock()
	if !ok {
		return 0, 0, false
	}
	i = strings.Index(s, t)
	return i, i + len(t), true
}

// substrings returns s with every secret form in it replaced by Marker.
func (m *Masker) substrings(s string) string {
	idx := m.current()
	if idx == nil || s == "" {
		return s
	}
	out, _, _ := idx.mask(nil, []byte(s), true, 0, false)
	return string(out)
}

// current returns the index of the forms, building it when they changed.
func (m *Masker) current() *index {
	m.mu.RLock()
	idx, stale := m.index, m.index == nil && len(m.forms) > 0
	m.mu.RUnlock()
	if !stale {
		return idx
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.index == nil && len(m.forms) > 0 {
		m.index = newIndex(m.forms)
	}
	return m.index
}

// index finds forms by the first byte of text they can match.
type index struct {
	byFirst [256][]form
	maxLen  int
}

func newIndex(forms map[form]bool) *index {
	idx := &index{}
	for f := range forms {
		idx.maxLen = max(idx.maxLen, len(f.text))
		idx.byFirst[f.text[0]] = append(idx.byFirst[f.text[0]], f)
		if !f.base64 {
			// Its first byte may be escaped.
			idx.byFirst['%'] = append(idx.byFirst['%'], f)
			if f.text[0] == ' ' {
				idx.byFirst['+'] = append(idx.byFirst['+'], f)
			}
		}
	}
	return idx
}

// mask appends src to dst with every form replaced, scanning left to right
// and taking the longest match that starts at each position. Unless final,
// it stops where a form could still match with bytes not yet seen, and
// before the last hold bytes (where a secret added later could begin), and
// returns how much of src it consumed.
//
// Base64 is matched across line breaks only where it is wrapped: in lines
// that hold nothing but base64 (as `base64 -w 20` prints), so ordinary
// text that ends a line is never held back for the next one. mixed says
// whether the line src starts in already holds other text before src, and
// mask returns it for where it stopped.
func (idx *index) mask(dst, src []byte, final bool, hold int, mixed bool) ([]byte, int, bool) {
	i, plain := 0, 0
	for i < len(src) {
		if !final && i >= len(src)-hold {
			break
		}
		n, more := idx.match(src[i:], !mixed)
		if more && !final {
			break
		}
		if n == 0 {
			mixed = stillMixed(mixed, src[i])
			i++
			continue
		}
		for _, c := range src[i : i+n] {
			mixed = stillMixed(mixed, c)
		}
		dst = append(dst, src[plain:i]...)
		dst = append(dst, Marker...)
		i += n
		plain = i
	}
	return append(dst, src[plain:i]...), i, mixed
}

// stillMixed says whether a line holds text other than base64 after c.
func stillMixed(mixed bool, c byte) bool {
	switch {
	case c == '\n':
		return false
	case c == '\r', isBase64(c):
		return mixed
	}
	return true
}

func isBase64(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '+' || c == '/' || c == '-' || c == '_' || c == '='
}

// match returns the length of the longest form match at the start of b (0
// for none), and whether a form could still match if b went on. wrapped
// lets base64 go on over line breaks.
func (idx *index) match(b []byte, wrapped bool) (n int, more bool) {
	for _, f := range idx.byFirst[b[0]] {
		m, fmore := f.matchFrom(b, 0, 0, wrapped)
		n, more = max(n, m), more || fmore
	}
	return n, more
}

// matchFrom returns how many bytes of b[i:] spell f.text[j:] (0 if they do
// not), or more when b ends before it can tell.
func (f form) matchFrom(b []byte, i, j int, wrapped bool) (n int, more bool) {
	for ; j < len(f.text); j++ {
		c := f.text[j]
		if f.base64 && wrapped && j > 0 {
			// One line break may come between two characters.
			switch {
			case i < len(b) && b[i] == '\n':
				i++
			case i+1 < len(b) && b[i] == '\r' && b[i+1] == '\n':
				i += 2
			case i+1 == len(b) && b[i] == '\r':
				return 0, true
			}
		}
		if i >= len(b) {
			return 0, true
		}
		switch {
		case b[i] == c && !(c == '%' && !f.base64):
			i++
		case f.base64:
			return 0, false
		case c == ' ' && b[i] == '+':
			i++
		case b[i] == '%':
			if i+2 >= len(b) {
				// Too close to the end to tell whether it is escaped.
				couldEscape := i+1 == len(b) || isHex(b[i+1])
				if c != '%' {
					return 0, couldEscape
				}
				n, more := f.matchFrom(b, i+1, j+1, wrapped)
				return n, more || couldEscape
			}
			escaped := isHex(b[i+1]) && isHex(b[i+2]) && unhex(b[i+1])<<4|unhex(b[i+2]) == c
			if c != '%' {
				if !escaped {
					return 0, false
				}
				i += 3
				continue
			}
			// A '%' of the secret itself, or escaped as %25: try both.
			if !escaped {
				i++
				continue
			}
			n1, more1 := f.matchFrom(b, i+1, j+1, wrapped)
			n3, more3 := f.matchFrom(b, i+3, j+1, wrapped)
			return max(n1, n3), more1 || more3
		default:
			return 0, false
		}
	}
	return i, false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	default:
		return c - 'a' + 10
	}
}

// Writer returns a StreamWriter that masks what is written to it before
// passing it on to w.
func (m *Masker) Writer(w io.Writer) *StreamWriter {
	return &StreamWriter{m: m, w: w}
}

// StreamWriter masks a stream of output written in arbitrary chunks: a
// secret split across two writes is still masked. It holds back up to the
// longest form's length minus one byte, and anything longer that could still
// be an encoded secret, until more arrives or Flush. It
// masks substrings only: the whole-value rule for short secrets does not
// apply to a stream. It is not safe for concurrent use.
type StreamWriter struct {
	m *Masker
	// eager writers hold back only what could still be a known secret.
	eager bool
	// mixed: the current line holds text other than base64.
	mixed   bool
	w       io.Writer
	pending []byte
	out     []byte
	err     error
}

// Write masks and forwards what it can of p, holding back a possible
// beginning of a secret.
func (s *StreamWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	s.pending = append(s.pending, p...)
	return len(p), s.drain(false)
}

// Flush masks and forwards everything held back.
func (s *StreamWriter) Flush() error {
	if s.err != nil {
		return s.err
	}
	return s.drain(true)
}

// Close flushes. It does not close the underlying writer.
func (s *StreamWriter) Close() error { return s.Flush() }

// drain masks and writes what of pending is decided (all of it if final)
// and keeps the rest.
func (s *StreamWriter) drain(final bool) error {
	n := len(s.pending)
	if idx := s.m.current(); idx != nil {
		hold := idx.maxLen - 1
		if s.eager {
			hold = 0
		}
		s.out, n, s.mixed = idx.mask(s.out[:0], s.pending, final, hold, s.mixed)
	} else {
		s.out = append(s.out[:0], s.pending...)
		for _, c := range s.pending {
			s.mixed = stillMixed(s.mixed, c)
		}
	}
	s.pending = s.pending[:copy(s.pending, s.pending[n:])]
	if len(s.out) == 0 {
		return nil
	}
	if _, err := s.w.Write(s.out); err != nil {
		s.err = err
		return err
	}
	return nil
}

// Lines returns a LineWriter that masks the lines given to it as one
// stream, so that a secret wrapped over several lines (`base64 -w 20`) is
// masked too, and passes them on to emit. A line is passed on as soon as
// nothing in it can still be the beginning of a secret the Masker knows; a
// line that is all a secret shorter than MinLen is masked as well.
//
// Lines that start with one of prefixes belong to a stream of their own
// (shell.run passes a command's stderr as lines that start with
// "stderr: "), masked without its prefix: a secret wrapped over the lines
// of one stream is masked even when the other's lines come between.
func (m *Masker) Lines(emit func(line string), prefixes ...string) *LineWriter {
	lw := &LineWriter{emit: emit, prefixes: prefixes}
	for _, p := range append([]string{""}, prefixes...) {
		ls := &lineStream{lw: lw, prefix: p}
		ls.w = &StreamWriter{m: m, w: ls, eager: true}
		lw.streams = append(lw.streams, ls)
	}
	return lw
}

// LineWriter masks lines as streams; see Masker.Lines. It is safe for
// concurrent use.
type LineWriter struct {
	mu       sync.Mutex
	emit     func(string)
	prefixes []string
	streams  []*lineStream // the lines without a prefix, then one per prefix
}

// Line masks and passes on line, or holds it back until the next line of
// its stream or Flush tells whether it ends in a secret.
func (lw *LineWriter) Line(line string) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	ls := lw.streams[0]
	for i, p := range lw.prefixes {
		if strings.HasPrefix(line, p) {
			ls, line = lw.streams[i+1], line[len(p):]
			break
		}
	}
	_, _ = ls.w.Write([]byte(line + "\n"))
}

// Flush passes on every line held back.
func (lw *LineWriter) Flush() {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	for _, ls := range lw.streams {
		_ = ls.w.Flush()
	}
}

// lineStream is one stream of a LineWriter: it receives the masked text and
// passes it on a line at a time, with its prefix.
type lineStream struct {
	lw     *LineWriter
	prefix string
	w      *StreamWriter
	part   []byte // masked text after the last line break passed on
}

func (ls *lineStream) Write(p []byte) (int, error) {
	ls.part = append(ls.part, p...)
	for {
		i := bytes.IndexByte(ls.part, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(ls.part[:i])
		if i, j, ok := ls.w.m.whole(line); ok {
			line = line[:i] + Marker + line[j:]
		}
		ls.lw.emit(ls.prefix + line)
		ls.part = ls.part[:copy(ls.part, ls.part[i+1:])]
	}
}
