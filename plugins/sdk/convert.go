package sdk

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/gocty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// ToValue converts what a handler returns to a value of type ty, strictly:
// an object attribute that is missing, an attribute the type does not have
// (only maps and cty.DynamicPseudoType take any), or a value of another
// type (the string "3" for a number) is an error naming the attribute's
// path ("output.blocked: attribute is missing"). A cty.Value is checked as
// it is (unknown parts pass: a Plan may predict them); nil is null; a
// struct with `cty:"name"` tags converts by its tags, and any other Go
// value (maps, slices, primitives, untagged structs) by its JSON encoding.
func ToValue(v any, ty cty.Type) (cty.Value, error) {
	return ToValueAt(v, ty, "output")
}

// ToValueAt is ToValue with root, instead of "output", opening the paths
// in its errors ("args.message: a string is required, got a number").
func ToValueAt(v any, ty cty.Type, root string) (cty.Value, error) {
	if v == nil {
		return cty.NullVal(ty), nil
	}
	val, err := goValue(v)
	if err != nil {
		return cty.NilVal, fmt.Errorf("%s: %w", root, err)
	}
	if errs := check(val, ty, nil); len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = formatPath(root, e.Path) + ": " + e.Err.Error()
		}
		return cty.NilVal, errors.New(strings.Join(msgs, "; "))
	}
	if ty == cty.DynamicPseudoType {
		return val, nil
	}
	out, err := convert.Convert(val, ty)
	if err != nil {
		// check let through what convert refuses: say so, not panic.
		return cty.NilVal, fmt.Errorf("%s: %s", root, err)
	}
	return out, nil
}

// goValue is a cty value faithful to what a handler returned: the types it
// has, not those of the output it should be.
func goValue(v any) (cty.Value, error) {
	switch v := v.(type) {
	case cty.Value:
		out, _ := v.UnmarkDeep()
		return out, nil
	case Values:
		out, _ := v.Value().UnmarkDeep()
		return out, nil
	}
	if taggedStruct(v) {
		if ty, err := gocty.ImpliedType(v); err == nil {
			out, err := gocty.ToCtyValue(v, ty)
			if err != nil {
				return cty.NilVal, fmt.Errorf("convert %T: %w", v, err)
			}
			return out, nil
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return cty.NilVal, fmt.Errorf("convert %T: %w", v, err)
	}
	ty, err := ctyjson.ImpliedType(b)
	if err != nil {
		return cty.NilVal, fmt.Errorf("convert %T: %w", v, err)
	}
	out, err := ctyjson.Unmarshal(b, ty)
	if err != nil {
		return cty.NilVal, fmt.Errorf("convert %T: %w", v, err)
	}
	return out, nil
}

// taggedStruct reports a struct (or pointer to one) with `cty` tags, which
// converts by them; any other struct converts by its JSON encoding.
func taggedStruct(v any) bool {
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return false
	}
	for i := range t.NumField() {
		if _, ok := t.Field(i).Tag.Lookup("cty"); ok {
			return true
		}
	}
	return false
}

// check reports where v does not strictly have type ty. Null and unknown
// values pass, as do the conversions that lose nothing: a tuple for a list,
// a map for an object with the same keys, and back.
func check(v cty.Value, ty cty.Type, path cty.Path) []*pathErr {
	if ty == cty.DynamicPseudoType || !v.IsKnown() || v.IsNull() {
		return nil
	}
	vt := v.Type()
	wrong := func() []*pathErr {
		return []*pathErr{pathError(path, fmt.Errorf("%s is required, got %s", friendly(ty), friendly(vt)))}
	}
	switch {
	case ty.IsPrimitiveType():
		if !vt.Equals(ty) {
			return wrong()
		}
		return nil
	case ty.IsListType() || ty.IsSetType():
		if !(vt.IsListType() || vt.IsSetType() || vt.IsTupleType()) {
			return wrong()
		}
		var errs []*pathErr
		i := int64(0)
		for it := v.ElementIterator(); it.Next(); i++ {
			_, e := it.Element()
			errs = append(errs, check(e, ty.ElementType(), append(slices.Clip(path), cty.IndexStep{Key: cty.NumberIntVal(i)}))...)
		}
		return errs
	case ty.IsTupleType():
		if !(vt.IsListType() || vt.IsTupleType()) {
			return wrong()
		}
		return checkTuple(v, ty, path)
	case ty.IsMapType():
		if !(vt.IsMapType() || vt.IsObjectType()) {
			return wrong()
		}
		var errs []*pathErr
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			errs = append(errs, check(e, ty.ElementType(), append(slices.Clip(path), cty.IndexStep{Key: k}))...)
		}
		return errs
	case ty.IsObjectType():
		if !(vt.IsMapType() || vt.IsObjectType()) {
			return wrong()
		}
		return checkObject(v, ty, path)
	}
	return nil
}

// checkTuple is check for a tuple type ty.
func checkTuple(v cty.Value, ty cty.Type, path cty.Path) []*pathErr {
	elems := ty.TupleElementTypes()
	if n := v.LengthInt(); n != len(elems) {
		return []*pathErr{pathError(path, fmt.Errorf("%d elements are required, got %d", len(elems), n))}
	}
	var errs []*pathErr
	i := 0
	for it := v.ElementIterator(); it.Next(); i++ {
		_, e := it.Element()
		errs = append(errs, check(e, elems[i], append(slices.Clip(path), cty.IndexStep{Key: cty.NumberIntVal(int64(i))}))...)
	}
	return errs
}

// checkObject is check for an object type ty: every attribute it requires,
// none it does not have.
func checkObject(v cty.Value, ty cty.Type, path cty.Path) []*pathErr {
	have := map[string]cty.Value{}
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		have[k.AsString()] = e
	}
	var errs []*pathErr
	attrs := ty.AttributeTypes()
	for _, name := range sortedKeys(attrs) {
		e, ok := have[name]
		at := append(slices.Clip(path), cty.GetAttrStep{Name: name})
		if !ok {
			if !ty.AttributeOptional(name) {
				errs = append(errs, pathError(at, errors.New("attribute is missing")))
			}
			continue
		}
		errs = append(errs, check(e, attrs[name], at)...)
	}
	for _, name := range sortedKeys(have) {
		if _, ok := attrs[name]; !ok {
			errs = append(errs, pathError(append(slices.Clip(path), cty.GetAttrStep{Name: name}),
				fmt.Errorf("unexpected attribute: the type has only %s", strings.Join(sortedKeys(attrs), ", "))))
		}
	}
	return errs
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// pathErr is a problem at one place of a value.
type pathErr struct {
	Path cty.Path
	Err  error
}

func pathError(path cty.Path, err error) *pathErr {
	return &pathErr{Path: slices.Clone(path), Err: err}
}

// friendly names a type with its article: "a number", "an object".
func friendly(ty cty.Type) string {
	switch {
	case ty == cty.String:
		return "a string"
	case ty == cty.Number:
		return "a number"
	case ty == cty.Bool:
		return "a bool"
	case ty.IsObjectType():
		return "an object"
	case ty.IsTupleType():
		return "a tuple"
	case ty.IsListType():
		return "a list"
	case ty.IsSetType():
		return "a set"
	case ty.IsMapType():
		return "a map"
	}
	return ty.FriendlyName()
}

// formatPath writes a path as the runbook language would reach it:
// output.items[0].name, output.labels["env"].
func formatPath(root string, path cty.Path) string {
	var b strings.Builder
	b.WriteString(root)
	for _, step := range path {
		switch s := step.(type) {
		case cty.GetAttrStep:
			b.WriteString("." + s.Name)
		case cty.IndexStep:
			switch k := s.Key; {
			case k.Type() == cty.String:
				fmt.Fprintf(&b, "[%q]", k.AsString())
			case k.Type() == cty.Number:
				fmt.Fprintf(&b, "[%s]", k.AsBigFloat().Text('f', -1))
			default:
				b.WriteString("[…]")
			}
		}
	}
	return b.String()
}
