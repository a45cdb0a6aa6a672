package text

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"
)

// Short abbreviates a hash to its first 12 characters.
func Short(hash string) string {
	if len(hash) > 12 {
		return hash[:12] + "…"
	}
	return hash
}

// OrDash is s, or "-" for an empty table cell.
func OrDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// FormatTime shows a transcript time in UTC, as it is recorded.
func FormatTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z07:00") }

// IsAre is the verb for n things.
func IsAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

// Plural is "1 step", "2 steps".
func Plural(n int, word string) string {
	return fmt.Sprintf("%d %s", n, Word(n, word))
}

// Word is word for a count of n: as it is for one, with an s for any
// other count (for the regular plurals the output uses: step, approval).
func Word(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// Compact renders a value on one line, at most max runes.
func Compact(val any, max int) string {
	var s string
	switch x := val.(type) {
	case string:
		s = x
	case nil:
		s = "null"
	default:
		b, err := json.Marshal(x)
		if err != nil {
			s = fmt.Sprint(x)
		} else {
			s = string(b)
		}
	}
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > max {
		s = string(r[:max-1]) + "…"
	}
	return s
}

// FormatDuration is a duration as the views show it: <1ms, 250ms, 1.5s, 2m3s.
func FormatDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return "<1ms"
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	default:
		return d.Round(time.Second).String()
	}
}

// ShortDuration prints 10m rather than 10m0s.
func ShortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Ago renders how long ago t was, coarsely, as people say it.
func Ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	default:
		return fmt.Sprintf("%dd ago", int(d.Hours()/24))
	}
}

// ValuesText lists values as a condition on them reads: "a" or "b".
func ValuesText(vals []cty.Value) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		if v.Type() == cty.String {
			parts[i] = fmt.Sprintf("%q", v.AsString())
		} else if v.Type() == cty.Bool {
			parts[i] = fmt.Sprintf("%t", v.True())
		} else {
			parts[i] = v.GoString()
		}
	}
	return strings.Join(parts, " or ")
}
