package engine

import (
	"encoding/json"
	"net/url"
	"regexp"
	"sort"

	"github.com/runbookdev/runbook/engine/redact"
	"github.com/zclconf/go-cty/cty"
)

// Unknown is how a not-yet-known value is shown and recorded; hidden ones
// are redact.Marker.
const Unknown = "(known after run)"

// masker hides literal secrets inside strings; engine/redact implements it.
type masker interface {
	String(s string) string
}

// export converts a value to plain Go data for events (and so for the
// terminal and the transcript): marked values become "(sensitive)", unknown
// ones "(known after run)", and secrets inside strings are masked.
func export(v cty.Value, m masker) any {
	if v == cty.NilVal {
		return nil
	}
	if v.IsMarked() {
		return redact.Marker
	}
	if !v.IsKnown() {
		return Unknown
	}
	if v.IsNull() {
		return nil
	}
	ty := v.Type()
	switch {
	case ty == cty.String:
		if m == nil {
			return v.AsString()
		}
		return m.String(v.AsString())
	case ty == cty.Number:
		bf := v.AsBigFloat()
		if i, acc := bf.Int64(); acc == 0 {
			return i
		}
		return json.Number(bf.Text('g', -1))
	case ty == cty.Bool:
		return v.True()
	case ty.IsListType(), ty.IsSetType(), ty.IsTupleType():
		out := make([]any, 0, v.LengthInt())
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			out = append(out, export(e, m))
		}
		return out
	case ty.IsMapType(), ty.IsObjectType():
		out := make(map[string]any, v.LengthInt())
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			out[k.AsString()] = export(e, m)
		}
		return out
	default:
		return Unknown
	}
}

// secretsOf collects the literal values inside a sensitive value, to be
// masked wherever a plugin repeats them: its strings, and its numbers too if
// numbers is set.
func secretsOf(v cty.Value, numbers bool) []string {
	v, _ = v.UnmarkDeep()
	var out []string
	var walk func(cty.Value)
	walk = func(v cty.Value) {
		if v.IsNull() || !v.IsKnown() {
			return
		}
		ty := v.Type()
		switch {
		case ty == cty.String:
			out = append(out, v.AsString())
			out = append(out, passwordsIn(v.AsString())...)
		case ty == cty.Number && numbers:
			out = append(out, v.AsBigFloat().Text('f', -1))
		case ty.IsCollectionType(), ty.IsObjectType(), ty.IsTupleType():
			for it := v.ElementIterator(); it.Next(); {
				_, e := it.Element()
				walk(e)
			}
		}
	}
	walk(v)
	sort.Strings(out)
	return out
}

// passwordsIn returns the passwords inside a connection string (a DSN):
// the password of a URL (postgres://user:PASSWORD@host/db) and the value of
// password=… in key=value form. A driver's error may quote one without the
// rest of the string.
func passwordsIn(s string) []string {
	var out []string
	if u, err := url.Parse(s); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok {
			out = append(out, p)
		}
	}
	for _, m := range dsnPassword.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1]+m[2])
	}
	return out
}

// dsnPassword matches password=… in a key=value connection string, quoted
// or not.
var dsnPassword = regexp.MustCompile(`(?i)\bpassword\s*=\s*(?:'((?:[^'\\]|\\.)*)'|([^\s']+))`)
