package pluginversion

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Version is a parsed version.
type Version struct {
	segments []int64
	pre      []string
	text     string
}

// maxSegments bounds the numbers of a version: "1.2.3.4" is plenty.
const maxSegments = 8

// Parse parses a version.
func Parse(s string) (*Version, error) {
	text := s
	s = strings.TrimPrefix(strings.TrimSpace(s), "v")
	if i := strings.IndexByte(s, '+'); i >= 0 {
		if i == len(s)-1 {
			return nil, fmt.Errorf("version %q: empty build metadata", text)
		}
		s = s[:i]
	}
	var pre string
	if i := strings.IndexByte(s, '-'); i >= 0 {
		s, pre = s[:i], s[i+1:]
		if pre == "" {
			return nil, fmt.Errorf("version %q: empty pre-release", text)
		}
	}
	if s == "" {
		return nil, fmt.Errorf("version %q: no number", text)
	}
	parts := strings.Split(s, ".")
	if len(parts) > maxSegments {
		return nil, fmt.Errorf("version %q: more than %d numbers", text, maxSegments)
	}
	v := &Version{text: strings.TrimSpace(text)}
	for _, p := range parts {
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil || n < 0 || p == "" || p[0] == '+' {
			return nil, fmt.Errorf("version %q: %q is not a number", text, p)
		}
		v.segments = append(v.segments, n)
	}
	if pre != "" {
		v.pre = strings.Split(pre, ".")
		for _, id := range v.pre {
			if id == "" || strings.IndexFunc(id, func(r rune) bool {
				return !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-')
			}) >= 0 {
				return nil, fmt.Errorf("version %q: pre-release %q is not dot-separated letters, digits and '-'", text, pre)
			}
		}
	}
	return v, nil
}

func (v *Version) String() string { return v.text }

// Compare returns -1, 0 or 1 as v is less than, equal to or greater than w.
func (v *Version) Compare(w *Version) int {
	for i := range max(len(v.segments), len(w.segments)) {
		a, b := seg(v.segments, i), seg(w.segments, i)
		if a != b {
			return cmp(a < b)
		}
	}
	switch {
	case len(v.pre) == 0 && len(w.pre) == 0:
		return 0
	case len(v.pre) == 0:
		return 1
	case len(w.pre) == 0:
		return -1
	}
	for i := range min(len(v.pre), len(w.pre)) {
		if c := comparePre(v.pre[i], w.pre[i]); c != 0 {
			return c
		}
	}
	switch {
	case len(v.pre) < len(w.pre):
		return -1
	case len(v.pre) > len(w.pre):
		return 1
	}
	return 0
}

func seg(s []int64, i int) int64 {
	if i < len(s) {
		return s[i]
	}
	return 0
}

func cmp(less bool) int {
	if less {
		return -1
	}
	return 1
}

// comparePre orders pre-release identifiers: numbers numerically and
// before words, words in ASCII order.
func comparePre(a, b string) int {
	an, aerr := strconv.ParseUint(a, 10, 64)
	bn, berr := strconv.ParseUint(b, 10, 64)
	switch {
	case aerr == nil && berr == nil:
		if an == bn {
			return 0
		}
		return cmp(an < bn)
	case aerr == nil:
		return -1
	case berr == nil:
		return 1
	case a == b:
		return 0
	}
	return cmp(a < b)
}

// Constraints is a comma-separated list of constraints that must all hold.
type Constraints struct {
	list []constraint
	text string
}

type constraint struct {
	op string
	v  *Version
}

// ops, longest first so that ">=" is not read as ">".
var ops = []string{">=", "<=", "!=", "~>", "=", ">", "<"}

// ParseConstraints parses ">= 0.2, < 1.0": each part an operator (=, !=,
// >, >=, <, <=, or ~>, "this version or a later one of the same series":
// ~> 1.2 allows 1.2 up to, not including, 2.0, and ~> 1.2.3 allows 1.2.3
// up to 1.3) and a version; a version alone means "=".
func ParseConstraints(s string) (*Constraints, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("an empty version constraint; write one like \">= 1.2, < 2.0\"")
	}
	c := &Constraints{text: strings.TrimSpace(s)}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		op := "="
		for _, o := range ops {
			if strings.HasPrefix(part, o) {
				op, part = o, strings.TrimSpace(part[len(o):])
				break
			}
		}
		if part == "" {
			return nil, fmt.Errorf("version constraint %q: an operator without a version", c.text)
		}
		v, err := Parse(part)
		if err != nil {
			return nil, fmt.Errorf("version constraint %q: %w", c.text, err)
		}
		if op == "~>" && len(v.segments) < 2 {
			return nil, fmt.Errorf("version constraint %q: ~> needs at least two numbers (~> 1.2)", c.text)
		}
		c.list = append(c.list, constraint{op, v})
	}
	return c, nil
}

func (c *Constraints) String() string { return c.text }

// Allows reports whether v meets every constraint.
func (c *Constraints) Allows(v *Version) bool {
	for _, k := range c.list {
		if !k.allows(v) {
			return false
		}
	}
	return true
}

func (k constraint) allows(v *Version) bool {
	c := v.Compare(k.v)
	switch k.op {
	case "=":
		return c == 0
	case "!=":
		return c != 0
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case "~>":
		if c < 0 {
			return false
		}
		// The same series: every number but the last one given equal.
		for i := range len(k.v.segments) - 1 {
			if seg(v.segments, i) != k.v.segments[i] {
				return false
			}
		}
		return true
	}
	return false
}
