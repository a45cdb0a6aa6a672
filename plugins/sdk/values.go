package sdk

import (
	"math/big"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/gocty"
)

// Values wraps an object value (an action's arguments or a plugin's
// configuration) with readers by attribute name. The readers return the
// zero value for an attribute that is absent, null or unknown (only Plan
// sees unknowns: check Known there), so handlers need no type switches.
type Values struct {
	v cty.Value
}

// NewValues wraps an object value, for tests of handlers.
func NewValues(v cty.Value) Values { return Values{v} }

// Value returns the whole object.
func (vs Values) Value() cty.Value { return vs.v }

// Get returns attribute name: null when absent, unknown when the whole
// object is unknown.
func (vs Values) Get(name string) cty.Value {
	v := vs.v
	if v == cty.NilVal || v.IsNull() {
		return cty.NullVal(cty.DynamicPseudoType)
	}
	if !v.IsKnown() {
		return cty.DynamicVal
	}
	if !v.Type().IsObjectType() || !v.Type().HasAttribute(name) {
		return cty.NullVal(cty.DynamicPseudoType)
	}
	out, _ := v.GetAttr(name).Unmark()
	return out
}

// Known reports whether attribute name is wholly known (always true in
// Apply).
func (vs Values) Known(name string) bool { return vs.Get(name).IsWhollyKnown() }

// Null reports whether attribute name is absent or null.
func (vs Values) Null(name string) bool {
	v := vs.Get(name)
	return v.IsKnown() && v.IsNull()
}

func (vs Values) primitive(name string, ty cty.Type) (cty.Value, bool) {
	v := vs.Get(name)
	if v.IsNull() || !v.IsKnown() || !v.Type().Equals(ty) {
		return cty.NilVal, false
	}
	return v, true
}

// String returns a string attribute.
func (vs Values) String(name string) string {
	if v, ok := vs.primitive(name, cty.String); ok {
		return v.AsString()
	}
	return ""
}

// Bool returns a bool attribute.
func (vs Values) Bool(name string) bool {
	if v, ok := vs.primitive(name, cty.Bool); ok {
		return v.True()
	}
	return false
}

// Float returns a number attribute.
func (vs Values) Float(name string) float64 {
	if v, ok := vs.primitive(name, cty.Number); ok {
		f, _ := v.AsBigFloat().Float64()
		return f
	}
	return 0
}

// Int returns a number attribute, its fraction dropped.
func (vs Values) Int(name string) int64 {
	if v, ok := vs.primitive(name, cty.Number); ok {
		i, _ := v.AsBigFloat().Int64()
		return i
	}
	return 0
}

// Number returns a number attribute at full precision, or nil.
func (vs Values) Number(name string) *big.Float {
	if v, ok := vs.primitive(name, cty.Number); ok {
		return v.AsBigFloat()
	}
	return nil
}

// Strings returns a list, set or tuple attribute of strings; elements
// that are not known strings are skipped.
func (vs Values) Strings(name string) []string {
	v := vs.Get(name)
	if v.IsNull() || !v.IsKnown() || !v.CanIterateElements() || v.Type().IsMapType() || v.Type().IsObjectType() {
		return nil
	}
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.IsKnown() && !e.IsNull() && e.Type() == cty.String {
			out = append(out, e.AsString())
		}
	}
	return out
}

// StringMap returns a map or object attribute of strings; elements that
// are not known strings are skipped.
func (vs Values) StringMap(name string) map[string]string {
	v := vs.Get(name)
	if v.IsNull() || !v.IsKnown() || !(v.Type().IsMapType() || v.Type().IsObjectType()) {
		return nil
	}
	out := map[string]string{}
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		if e.IsKnown() && !e.IsNull() && e.Type() == cty.String {
			out[k.AsString()] = e.AsString()
		}
	}
	return out
}

// Decode decodes the whole object into target, a pointer to a struct whose
// fields carry `cty:"name"` tags for every attribute (gocty's rules).
func (vs Values) Decode(target any) error {
	return gocty.FromCtyValue(vs.v, target)
}
