// Package redact masks secrets in text before it reaches a terminal or a
// transcript. A Masker knows the secrets of a run (sensitive variables, and
// any secret a plugin declares) and replaces every occurrence of each one,
// and of its common encodings (base64 standard and URL, padded and
// unpadded; URL query and path escaping), with "(sensitive)". Its
// StreamWriter does the same for output that arrives in chunks.
package redact

import (
	"encoding/base64"
	"io"
	"net/url"
	"sort"
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
	forms   map[string]bool // every form masked as a substring
	index   *index          // built from forms on first use after a change
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
		m.secrets, m.forms = map[string]bool{}, map[string]bool{}
	}
	for _, s := range []string{secret, strings.TrimSpace(secret)} {
		if s == "" || m.secrets[s] {
			continue
		}
		m.secrets[s] = true
		if len(s) < MinLen {
			continue
		}
		for _, f := range Forms(s) {
			m.forms[f] = true
		}
		m.index = nil
	}
}

// Forms returns secret as it may appear in text: itself, its base64
// encodings and its URL escapings, without duplicates.
func Forms(secret string) []string {
	b := []byte(secret)
	all := []string{
		secret,
		base64.StdEncoding.EncodeToString(b),
		base64.RawStdEncoding.EncodeToString(b),
		base64.URLEncoding.EncodeToString(b),
		base64.RawURLEncoding.EncodeToString(b),
		url.QueryEscape(secret),
		url.PathEscape(secret),
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
	m.mu.RLock()
	short := m.secrets[strings.TrimSpace(s)]
	m.mu.RUnlock()
	if short {
		// The white space around it may hold a secret of its own.
		t := strings.TrimSpace(s)
		i := strings.Index(s, t)
		return m.substrings(s[:i]) + Marker + m.substrings(s[i+len(t):])
	}
	return m.substrings(s)
}

// substrings returns s with every secret form in it replaced by Marker.
func (m *Masker) substrings(s string) string {
	idx := m.current()
	if idx == nil || s == "" {
		return s
	}
	out, _ := idx.mask(nil, []byte(s), true)
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

// index finds forms by their first byte, longest first.
type index struct {
	byFirst [256][]string
	maxLen  int
}

func newIndex(forms map[string]bool) *index {
	idx := &index{}
	for f := range forms {
		idx.byFirst[f[0]] = append(idx.byFirst[f[0]], f)
		idx.maxLen = max(idx.maxLen, len(f))
	}
	for i := range idx.byFirst {
		sort.Slice(idx.byFirst[i], func(a, b int) bool {
			fa, fb := idx.byFirst[i][a], idx.byFirst[i][b]
			if len(fa) != len(fb) {
				return len(fa) > len(fb)
			}
			return fa < fb
		})
	}
	return idx
}

// mask appends src to dst with every form replaced, scanning left to right
// and taking the longest form that starts at each position. Unless final,
// it stops where a form could still begin with bytes not yet seen (the
// last maxLen-1 bytes) and returns how much of src it consumed.
func (idx *index) mask(dst, src []byte, final bool) ([]byte, int) {
	limit := len(src)
	if !final {
		limit = len(src) - (idx.maxLen - 1)
	}
	i, plain := 0, 0
	for i < limit {
		form := idx.match(src[i:])
		if form == "" {
			i++
			continue
		}
		dst = append(dst, src[plain:i]...)
		dst = append(dst, Marker...)
		i += len(form)
		plain = i
	}
	return append(dst, src[plain:i]...), i
}

func (idx *index) match(b []byte) string {
	for _, f := range idx.byFirst[b[0]] {
		if len(f) <= len(b) && string(b[:len(f)]) == f {
			return f
		}
	}
	return ""
}

// Writer returns a StreamWriter that masks what is written to it before
// passing it on to w.
func (m *Masker) Writer(w io.Writer) *StreamWriter {
	return &StreamWriter{m: m, w: w}
}

// StreamWriter masks a stream of output written in arbitrary chunks: a
// secret split across two writes is still masked. It holds back up to the
// longest form's length minus one byte until more arrives or Flush. It
// masks substrings only: the whole-value rule for short secrets does not
// apply to a stream. It is not safe for concurrent use.
type StreamWriter struct {
	m       *Masker
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
		s.out, n = idx.mask(s.out[:0], s.pending, final)
	} else {
		s.out = append(s.out[:0], s.pending...)
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
