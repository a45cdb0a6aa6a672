package fmtcmd

import (
	"fmt"
	"strings"
)

// unifiedDiff returns the changes from old to new as a unified diff (the
// format of `diff -u`, with 3 lines of context), headed by the two names;
// "" when they are equal. Runbook files are small, so a longest-common-
// subsequence table over their lines is fast enough.
func unifiedDiff(oldName, newName string, old, new []byte) string {
	ops := editScript(splitLines(string(old)), splitLines(string(new)))
	const context = 3
	var sb strings.Builder
	for k := 0; k < len(ops); {
		if ops[k].kind == ' ' {
			k++
			continue
		}
		start, end := hunk(ops, k, context)
		if sb.Len() == 0 {
			fmt.Fprintf(&sb, "--- %s\n+++ %s\n", oldName, newName)
		}
		writeHunk(&sb, ops[start:end])
		k = end
	}
	return sb.String()
}

// op is one line of an edit script: ' ' kept, '-' removed, '+' added, with
// its line number in the old text (ai) and the new (bi).
type op struct {
	kind   byte
	text   string
	ai, bi int
}

// editScript is the shortest edit script from a to b, from their longest
// common subsequence, removals before additions as diff -u orders them.
func editScript(a, b []string) []op {
	// lcs[i][j] is the length of the longest common subsequence of a[i:]
	// and b[j:].
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var ops []op
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			ops = append(ops, op{' ', a[i], i, j})
			i++
			j++
		case i < len(a) && (j == len(b) || lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, op{'-', a[i], i, j})
			i++
		default:
			ops = append(ops, op{'+', b[j], i, j})
			j++
		}
	}
	return ops
}

// hunk returns the ops of the hunk whose first change is ops[k]: from
// context lines before it to context lines after the last change that is
// within 2*context of the next.
func hunk(ops []op, k, context int) (start, end int) {
	start, end = max(k-context, 0), k
	for end < len(ops) {
		if ops[end].kind != ' ' {
			end++
			continue
		}
		run := end
		for run < len(ops) && ops[run].kind == ' ' {
			run++
		}
		if run == len(ops) || run-end > 2*context {
			return start, min(end+context, len(ops))
		}
		end = run
	}
	return start, end
}

// writeHunk writes one hunk: its header, then its lines.
func writeHunk(sb *strings.Builder, ops []op) {
	aLen, bLen := 0, 0
	for _, o := range ops {
		if o.kind != '+' {
			aLen++
		}
		if o.kind != '-' {
			bLen++
		}
	}
	fmt.Fprintf(sb, "@@ -%s +%s @@\n", hunkRange(ops[0].ai, aLen), hunkRange(ops[0].bi, bLen))
	for _, o := range ops {
		sb.WriteByte(o.kind)
		sb.WriteString(o.text)
		if !strings.HasSuffix(o.text, "\n") {
			sb.WriteString("\n\\ No newline at end of file\n")
		}
	}
}

// hunkRange is a hunk header's "start,length" (1-based; an empty range
// names the line before it).
func hunkRange(start, n int) string {
	if n == 0 {
		return fmt.Sprintf("%d,0", start)
	}
	if n == 1 {
		return fmt.Sprintf("%d", start+1)
	}
	return fmt.Sprintf("%d,%d", start+1, n)
}

// splitLines splits s after each newline, keeping it.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}
