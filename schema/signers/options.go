package signers

import (
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// options parses the comma-separated options in text[from:to] into e.
func (l *line) options(e *Entry, from, to int) *hcl.Diagnostic {
	for i := from; ; {
		start := i
		for i < to && l.text[i] != '=' && l.text[i] != ',' {
			i++
		}
		name, value, hasValue := l.text[start:i], "", false
		if i < to && l.text[i] == '=' {
			var diag *hcl.Diagnostic
			if value, i, diag = l.quoted(name, i+1, to); diag != nil {
				return diag
			}
			hasValue = true
		}
		if diag := l.option(e, name, value, hasValue, start, i); diag != nil {
			return diag
		}
		if i == to {
			break
		}
		if l.text[i] != ',' {
			return l.fail(i, i+1, "Invalid options", "Options are separated by commas, with no spaces.")
		}
		if i++; i == to {
			return l.fail(i-1, i, "Invalid options", "The options end with a comma.")
		}
	}
	if !e.ValidAfter.IsZero() && !e.ValidBefore.IsZero() && !e.ValidBefore.After(e.ValidAfter) {
		return l.fail(from, to, "Invalid validity", "valid-before is not later than valid-after: the key could never sign.")
	}
	return nil
}

// quoted reads the double-quoted value of option name at text[i:to],
// where \" stands for a quote, and returns it and the offset after it.
func (l *line) quoted(name string, i, to int) (string, int, *hcl.Diagnostic) {
	if i == to || l.text[i] != '"' {
		return "", i, l.fail(i, min(i+1, to), "Missing quote", fmt.Sprintf("The value of %s must be in double quotes.", name))
	}
	var b strings.Builder
	for i++; i < to && l.text[i] != '"'; i++ {
		if l.text[i] == '\\' && i+1 < to && l.text[i+1] == '"' {
			i++
		}
		b.WriteByte(l.text[i])
	}
	if i == to {
		return "", i, l.fail(i, i, "Unterminated quote", fmt.Sprintf("The value of %s has no closing quote.", name))
	}
	return b.String(), i + 1, nil
}

// option applies one option, written at text[from:to], to e.
func (l *line) option(e *Entry, name, value string, hasValue bool, from, to int) *hcl.Diagnostic {
	lower := strings.ToLower(name)
	if lower == "cert-authority" {
		if hasValue {
			return l.fail(from, to, "Invalid option", "cert-authority takes no value.")
		}
		e.CertAuthority = true
		return nil
	}
	if !optionNames[lower] {
		return l.fail(from, from+len(name), "Unknown option",
			fmt.Sprintf("%q is not an option; the options are cert-authority, namespaces, valid-after and valid-before.", name))
	}
	if !hasValue {
		return l.fail(from, to, "Missing value", fmt.Sprintf("%s needs a value in double quotes, as in %s=\"...\".", lower, lower))
	}
	if lower == "namespaces" {
		if e.Namespaces != nil {
			return l.fail(from, to, "Duplicate option", "namespaces is given twice.")
		}
		e.Namespaces = strings.Split(value, ",")
		return nil
	}
	t, err := parseTime(value)
	if err != nil {
		return l.fail(from, to, "Invalid time", fmt.Sprintf("%s: %v.", lower, err))
	}
	dst := &e.ValidAfter
	if lower == "valid-before" {
		dst = &e.ValidBefore
	}
	if !dst.IsZero() {
		return l.fail(from, to, "Duplicate option", lower+" is given twice.")
	}
	*dst = t
	return nil
}

// parseTime parses YYYYMMDD, YYYYMMDDHHMM or YYYYMMDDHHMMSS, in UTC with a
// Z or UTC suffix and in the local time zone without one, as ssh-keygen does.
func parseTime(s string) (time.Time, error) {
	loc, digits := time.Local, s
	switch upper := strings.ToUpper(s); {
	case len(s) > 1 && strings.HasSuffix(upper, "Z"):
		loc, digits = time.UTC, s[:len(s)-1]
	case len(s) > 3 && strings.HasSuffix(upper, "UTC"):
		loc, digits = time.UTC, s[:len(s)-3]
	}
	layouts := map[int]string{8: "20060102", 12: "200601021504", 14: "20060102150405"}
	layout, ok := layouts[len(digits)]
	if ok {
		ok = strings.Trim(digits, "0123456789") == ""
	}
	if !ok {
		return time.Time{}, fmt.Errorf("%q is not a time: expected YYYYMMDD, YYYYMMDDHHMM or YYYYMMDDHHMMSS, with Z for UTC", s)
	}
	t, err := time.ParseInLocation(layout, digits, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a valid date and time", s)
	}
	return t, nil
}
