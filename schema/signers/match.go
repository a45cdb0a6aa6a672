package signers

import "strings"

// IsLiteral reports whether a principal as written names one principal:
// it holds no * or ? and does not start with !.
func IsLiteral(p string) bool {
	return !strings.ContainsAny(p, "*?") && !strings.HasPrefix(p, "!")
}

// matchList matches s against a list of patterns as OpenSSH does: -1 when
// a negated pattern (!pattern) matches, 1 when another pattern matches and
// no negated one does, 0 otherwise.
func matchList(s string, patterns []string) int {
	got := 0
	for _, p := range patterns {
		negated := strings.HasPrefix(p, "!")
		if negated {
			p = p[1:]
		}
		if !match(s, p) {
			continue
		}
		if negated {
			return -1
		}
		got = 1
	}
	return got
}

// match reports whether s matches pattern, where * matches any run of
// bytes and ? any one byte. It backtracks only to the last *, so it takes
// time proportional to len(s)*len(pattern) at most.
func match(s, pattern string) bool {
	si, pi := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(pattern) && pattern[pi] == '*':
			star, mark = pi, si
			pi++
		case pi < len(pattern) && (pattern[pi] == '?' || pattern[pi] == s[si]):
			si++
			pi++
		case star >= 0:
			mark++
			si, pi = mark, star+1
		default:
			return false
		}
	}
	for pi < len(pattern) && pattern[pi] == '*' {
		pi++
	}
	return pi == len(pattern)
}
