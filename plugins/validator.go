package plugins

import (
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Validator is a check of an attribute's value declared as data, so that
// `runbook validate` makes it without running the plugin, and it travels
// in the schema, over the protocol and in the plugin lock file. Exactly one
// kind is set. On a list, set or map, every kind but Length checks each
// element. Unknown and null values pass (a required attribute is
// Attribute.Required's business); a value known only when the run reaches
// the step is checked then.
type Validator struct {
	// OneOf: the value equals one of these (strings compare exactly).
	OneOf []cty.Value
	// Pattern: an RE2 regular expression that the whole string matches.
	Pattern string
	// URL: an absolute URL with a host and one of the rule's schemes.
	URL *URLRule
	// Range: a number within the bounds.
	Range *Bounds
	// Length: a string's length in characters, or a collection's in
	// elements, within the bounds.
	Length *Bounds
	// Duration: a duration as Go writes them ("30s", "1h30m"), within the
	// bounds.
	Duration *DurationBounds
}

// URLRule lists the schemes a URL may have, lower-case; any when empty.
type URLRule struct {
	Schemes []string
}

// Bounds are inclusive; nil is no bound.
type Bounds struct {
	Min, Max *float64
}

// DurationBounds are inclusive; zero is no bound.
type DurationBounds struct {
	Min, Max time.Duration
}

// OneOf is a validator: the value equals one of values.
func OneOf(values ...cty.Value) *Validator { return &Validator{OneOf: values} }

// OneOfStrings is OneOf for strings.
func OneOfStrings(values ...string) *Validator {
	vs := make([]cty.Value, len(values))
	for i, v := range values {
		vs[i] = cty.StringVal(v)
	}
	return OneOf(vs...)
}

// MatchPattern is a validator: the whole string matches the RE2 expression
// re.
func MatchPattern(re string) *Validator { return &Validator{Pattern: re} }

// URLWithScheme is a validator: an absolute URL with a host, with one of
// schemes (any when none is given).
func URLWithScheme(schemes ...string) *Validator {
	return &Validator{URL: &URLRule{Schemes: schemes}}
}

// Between is a validator: a number from min to max, inclusive.
func Between(min, max float64) *Validator { return &Validator{Range: &Bounds{Min: &min, Max: &max}} }

// AtLeast is a validator: a number of at least min.
func AtLeast(min float64) *Validator { return &Validator{Range: &Bounds{Min: &min}} }

// AtMost is a validator: a number of at most max.
func AtMost(max float64) *Validator { return &Validator{Range: &Bounds{Max: &max}} }

// LengthBetween is a validator: a length from min to max, inclusive; a
// negative bound is none.
func LengthBetween(min, max int) *Validator {
	b := &Bounds{}
	if min >= 0 {
		f := float64(min)
		b.Min = &f
	}
	if max >= 0 {
		f := float64(max)
		b.Max = &f
	}
	return &Validator{Length: b}
}

// PositiveDuration is a validator: a duration of more than zero.
func PositiveDuration() *Validator { return DurationBetween(time.Nanosecond, 0) }

// DurationBetween is a validator: a duration from min to max, inclusive;
// zero is no bound, so DurationBetween(0, 0) takes any duration.
func DurationBetween(min, max time.Duration) *Validator {
	return &Validator{Duration: &DurationBounds{Min: min, Max: max}}
}

// kinds counts the kinds set.
func (v *Validator) kinds() int {
	n := 0
	for _, set := range []bool{len(v.OneOf) > 0, v.Pattern != "", v.URL != nil, v.Range != nil, v.Length != nil, v.Duration != nil} {
		if set {
			n++
		}
	}
	return n
}

// check reports a validator that cannot apply to an attribute of type ty.
func (v *Validator) check(ty cty.Type) error {
	if v == nil {
		return errors.New("nil validator")
	}
	if n := v.kinds(); n != 1 {
		return fmt.Errorf("a validator has %d kinds set; exactly one is", n)
	}
	elem := ty
	if v.Length == nil && (ty.IsListType() || ty.IsSetType() || ty.IsMapType()) {
		elem = ty.ElementType()
	}
	need := func(want cty.Type, kind string) error {
		if elem != want && elem != cty.DynamicPseudoType {
			return fmt.Errorf("%s validator on a %s attribute", kind, ty.FriendlyName())
		}
		return nil
	}
	switch {
	case len(v.OneOf) > 0:
		for _, o := range v.OneOf {
			if o == cty.NilVal || !o.IsWhollyKnown() || o.IsNull() {
				return errors.New("one_of validator with a null or unknown value")
			}
			if _, err := convert.Convert(o, elem); err != nil {
				return fmt.Errorf("one_of validator: %s", err)
			}
		}
	case v.Pattern != "":
		if _, err := regexp.Compile(v.Pattern); err != nil {
			return fmt.Errorf("pattern validator: %w", err)
		}
		return need(cty.String, "pattern")
	case v.URL != nil:
		for _, s := range v.URL.Schemes {
			if s == "" || s != strings.ToLower(s) {
				return fmt.Errorf("url validator: scheme %q is not lower-case", s)
			}
		}
		return need(cty.String, "url")
	case v.Range != nil:
		if err := v.Range.check(); err != nil {
			return fmt.Errorf("range validator: %w", err)
		}
		return need(cty.Number, "range")
	case v.Length != nil:
		if err := v.Length.check(); err != nil {
			return fmt.Errorf("length validator: %w", err)
		}
		if !(ty == cty.String || ty.IsListType() || ty.IsSetType() || ty.IsMapType() || ty == cty.DynamicPseudoType) {
			return fmt.Errorf("length validator on a %s attribute", ty.FriendlyName())
		}
	case v.Duration != nil:
		d := v.Duration
		if d.Min < 0 || d.Max < 0 || (d.Max > 0 && d.Min > d.Max) {
			return errors.New("duration validator: bounds out of order")
		}
		return need(cty.String, "duration")
	}
	return nil
}

func (b *Bounds) check() error {
	if b.Min != nil && b.Max != nil && *b.Min > *b.Max {
		return errors.New("min is more than max")
	}
	return nil
}

// Validate checks v, a value of attribute a, against its validators; each
// problem carries the path of the element it is about, below the
// attribute (empty for the value itself).
func (a *Attribute) Validate(v cty.Value) []*Error {
	var out []*Error
	for _, vd := range a.Validators {
		out = append(out, vd.validate(v, a.Sensitive)...)
	}
	return out
}

// validate checks v against the validator; secret hides the value in the
// problem's text. A problem with a marked (sensitive) value does not show
// it either.
func (vd *Validator) validate(v cty.Value, secret bool) []*Error {
	if v == cty.NilVal {
		return nil
	}
	if v.ContainsMarked() {
		secret = true
		v, _ = v.UnmarkDeep()
	}
	if !v.IsKnown() || v.IsNull() {
		return nil
	}
	ty := v.Type()
	if vd.Length == nil && (ty.IsListType() || ty.IsSetType() || ty.IsMapType() || ty.IsTupleType()) {
		var out []*Error
		i := int64(0)
		for it := v.ElementIterator(); it.Next(); i++ {
			k, e := it.Element()
			step := cty.IndexStep{Key: k}
			if ty.IsSetType() {
				step = cty.IndexStep{Key: cty.NumberIntVal(i)}
			}
			for _, err := range vd.validate(e, secret) {
				err.Path = append(cty.Path{step}, err.Path...)
				out = append(out, err)
			}
		}
		return out
	}
	shown := show(v)
	if secret {
		shown = hidden
	}
	if msg := vd.problem(v, shown); msg != "" {
		return []*Error{{Summary: "Invalid value", Detail: msg}}
	}
	return nil
}

// hidden stands for a sensitive value in a problem's text.
const hidden = "The value (sensitive)"

// problem says what is wrong with v, a known, non-null value that is not a
// collection (unless the validator is Length), or "".
func (vd *Validator) problem(v cty.Value, shown string) string {
	switch {
	case len(vd.OneOf) > 0:
		return vd.oneOfProblem(v, shown)
	case vd.Pattern != "":
		return vd.patternProblem(v, shown)
	case vd.URL != nil:
		return vd.urlProblem(v, shown)
	case vd.Range != nil:
		if v.Type() != cty.Number {
			return ""
		}
		what := shown
		if v.Type() == cty.Number && shown != hidden {
			what = v.AsBigFloat().Text('g', -1)
		}
		return vd.Range.problem(v.AsBigFloat(), what, "")
	case vd.Length != nil:
		return vd.lengthProblem(v, shown)
	case vd.Duration != nil:
		return vd.durationProblem(v, shown)
	}
	return ""
}

// oneOfProblem is problem for OneOf.
func (vd *Validator) oneOfProblem(v cty.Value, shown string) string {
	for _, o := range vd.OneOf {
		if c, err := convert.Convert(o, v.Type()); err == nil && c.Equals(v).True() {
			return ""
		}
	}
	return fmt.Sprintf("%s is not one of %s.", shown, showAll(vd.OneOf))
}

// patternProblem is problem for Pattern.
func (vd *Validator) patternProblem(v cty.Value, shown string) string {
	s, ok := str(v)
	if !ok {
		return ""
	}
	re, err := regexp.Compile(`^(?:` + vd.Pattern + `)$`)
	if err != nil {
		return fmt.Sprintf("the plugin's pattern %q does not compile: %s.", vd.Pattern, err)
	}
	if !re.MatchString(s) {
		return fmt.Sprintf("%s does not match the pattern %s.", shown, vd.Pattern)
	}
	return ""
}

// urlProblem is problem for URL.
func (vd *Validator) urlProblem(v cty.Value, shown string) string {
	s, ok := str(v)
	if !ok {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Sprintf("%s is not a URL: %s.", shown, strings.TrimPrefix(err.Error(), "parse "+strconv.Quote(s)+": "))
	}
	schemes := vd.URL.Schemes
	switch {
	case u.Scheme == "" || u.Host == "":
		want := "an absolute URL"
		if len(schemes) > 0 {
			want = fmt.Sprintf("an absolute URL (%s://HOST/…)", schemes[0])
		}
		return fmt.Sprintf("%s is not %s.", shown, want)
	case len(schemes) > 0 && !slices.Contains(schemes, strings.ToLower(u.Scheme)):
		return fmt.Sprintf("the URL's scheme is %q; it must be %s.", u.Scheme, orList(schemes))
	}
	return ""
}

// lengthProblem is problem for Length.
func (vd *Validator) lengthProblem(v cty.Value, shown string) string {
	var n int
	switch ty := v.Type(); {
	case ty == cty.String:
		n = utf8.RuneCountInString(v.AsString())
	case ty.IsCollectionType() || ty.IsTupleType() || ty.IsObjectType():
		n = v.LengthInt()
	default:
		return ""
	}
	unit := "characters"
	if v.Type() != cty.String {
		unit = "elements"
	}
	what := fmt.Sprintf("%d %s", n, unit)
	if shown == hidden {
		what = "The value's length"
	}
	return vd.Length.problem(new(big.Float).SetInt64(int64(n)), what, " "+unit)
}

// durationProblem is problem for Duration.
func (vd *Validator) durationProblem(v cty.Value, shown string) string {
	s, ok := str(v)
	if !ok {
		return ""
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Sprintf("%s is not a duration; write one like \"30s\", \"5m\" or \"1h30m\".", shown)
	}
	b := vd.Duration
	if b.Min > 0 && d <= 0 {
		return fmt.Sprintf("%s is not a positive duration such as \"30s\".", shown)
	}
	if b.Min > 0 && d < b.Min {
		return fmt.Sprintf("%s is less than %s.", shown, b.Min)
	}
	if b.Max > 0 && d > b.Max {
		return fmt.Sprintf("%s is more than %s.", shown, b.Max)
	}
	return ""
}

func (b *Bounds) problem(n *big.Float, what, unit string) string {
	if b.Min != nil && n.Cmp(big.NewFloat(*b.Min)) < 0 {
		return fmt.Sprintf("%s is less than the minimum, %s%s.", what, strconv.FormatFloat(*b.Min, 'g', -1, 64), unit)
	}
	if b.Max != nil && n.Cmp(big.NewFloat(*b.Max)) > 0 {
		return fmt.Sprintf("%s is more than the maximum, %s%s.", what, strconv.FormatFloat(*b.Max, 'g', -1, 64), unit)
	}
	return ""
}

func str(v cty.Value) (string, bool) {
	if v.Type() != cty.String {
		return "", false
	}
	return v.AsString(), true
}

// show writes a primitive value as the runbook language does.
func show(v cty.Value) string {
	switch v.Type() {
	case cty.String:
		return strconv.Quote(v.AsString())
	case cty.Number:
		return v.AsBigFloat().Text('g', -1)
	case cty.Bool:
		return strconv.FormatBool(v.True())
	}
	return v.Type().FriendlyName()
}

func showAll(vs []cty.Value) string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = show(v)
	}
	return strings.Join(out, ", ")
}

func orList(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = strconv.Quote(w)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// String describes the validator in a few words, for `runbook plugins`.
func (vd *Validator) String() string {
	switch {
	case len(vd.OneOf) > 0:
		return "one of " + showAll(vd.OneOf)
	case vd.Pattern != "":
		return "matches " + vd.Pattern
	case vd.URL != nil && len(vd.URL.Schemes) > 0:
		return "URL (" + strings.Join(vd.URL.Schemes, ", ") + ")"
	case vd.URL != nil:
		return "URL"
	case vd.Range != nil:
		return "number " + vd.Range.String()
	case vd.Length != nil:
		return "length " + vd.Length.String()
	case vd.Duration != nil:
		s := "duration"
		if d := vd.Duration; d.Min == time.Nanosecond && d.Max == 0 {
			s = "positive duration"
		} else if d.Min > 0 && d.Max > 0 {
			s += fmt.Sprintf(" %s–%s", d.Min, d.Max)
		} else if d.Min > 0 {
			s += fmt.Sprintf(" ≥ %s", d.Min)
		} else if d.Max > 0 {
			s += fmt.Sprintf(" ≤ %s", d.Max)
		}
		return s
	}
	return "?"
}

func (b *Bounds) String() string {
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	switch {
	case b.Min != nil && b.Max != nil:
		return f(*b.Min) + "–" + f(*b.Max)
	case b.Min != nil:
		return "≥ " + f(*b.Min)
	case b.Max != nil:
		return "≤ " + f(*b.Max)
	}
	return "any"
}
