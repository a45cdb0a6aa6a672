package pluginlock

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/atomicfile"
)

// FileName is the lock file's name inside a runbook directory.
const FileName = "runbook.lock.hcl"

// maxSize bounds what Read reads: a lock file is a few kilobytes per plugin.
const maxSize = 8 << 20

// Entry is what the lock records of one external plugin.
type Entry struct {
	Name    string
	Version string
	// SHA256 is the checksum of the binary the schema was read from.
	SHA256 string
	Schema *plugins.Schema
	// DeclRange is the entry's block in the lock file ("" filename when the
	// entry was not read from a file).
	DeclRange hcl.Range
}

// Lock is a runbook directory's lock file as read.
type Lock struct {
	// Path is the lock file's path, whether or not it exists.
	Path string
	// Exists reports whether the file was there.
	Exists  bool
	Entries map[string]*Entry
	// File is the parsed file, for diagnostics' snippets; nil when absent.
	File *hcl.File
}

// Path returns the path of the lock file of runbook directory dir.
func Path(dir string) string { return filepath.Join(dir, FileName) }

// Read reads the lock file of runbook directory dir. A missing file is an
// empty lock, not an error; a file that cannot be read or parsed is
// reported with positioned diagnostics.
func Read(dir string) (*Lock, hcl.Diagnostics) {
	l := &Lock{Path: Path(dir), Entries: map[string]*Entry{}}
	src, err := readBounded(l.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return l, nil
	}
	if err != nil {
		return l, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read plugin lock file",
			Detail:   err.Error(),
			Subject:  &hcl.Range{Filename: l.Path, Start: hcl.InitialPos, End: hcl.InitialPos},
		}}
	}
	l.Exists = true
	entries, file, diags := Parse(src, l.Path)
	l.File = file
	for _, e := range entries {
		l.Entries[e.Name] = e
	}
	return l, diags
}

// readBounded reads a regular file of at most maxSize bytes.
func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxSize {
		return nil, fmt.Errorf("%s is larger than %d MiB", path, maxSize>>20)
	}
	return b, nil
}

var (
	fileSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "plugin", LabelNames: []string{"name"}}}}
	pluginBody = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "version"}, {Name: "sha256", Required: true}},
		Blocks: []hcl.BlockHeaderSchema{
			{Type: "config", LabelNames: []string{"name"}},
			{Type: "action", LabelNames: []string{"name"}},
		},
	}
	attributeBody = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{
			{Name: "type", Required: true}, {Name: "description"}, {Name: "required"},
			{Name: "sensitive"}, {Name: "path"}, {Name: "default"}, {Name: "has_default"},
		},
		Blocks: []hcl.BlockHeaderSchema{{Type: "validator"}},
	}
	validatorBody = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "one_of"}, {Name: "pattern"}, {Name: "url"}, {Name: "range"}, {Name: "length"}, {Name: "duration"},
	}}
	actionBody = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "description"}, {Name: "read_only"}, {Name: "output", Required: true}},
		Blocks: []hcl.BlockHeaderSchema{
			{Type: "read_only_when"},
			{Type: "argument", LabelNames: []string{"name"}},
		},
	}
	ruleBody = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "arg", Required: true}, {Name: "values", Required: true}}}
)

// Parse decodes the content of a lock file named filename.
func Parse(src []byte, filename string) ([]*Entry, *hcl.File, hcl.Diagnostics) {
	file, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, file, diags
	}
	content, d := file.Body.Content(fileSchema)
	diags = append(diags, d...)
	var entries []*Entry
	seen := map[string]hcl.Range{}
	for _, b := range content.Blocks {
		name := b.Labels[0]
		if prev, dup := seen[name]; dup {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate plugin in lock file",
				Detail:   fmt.Sprintf("Plugin %q is already locked at %s.", name, prev),
				Subject:  b.DefRange.Ptr(),
			})
			continue
		}
		seen[name] = b.DefRange
		e, d := decodeEntry(b)
		diags = append(diags, d...)
		if e != nil {
			entries = append(entries, e)
		}
	}
	return entries, file, diags
}

func decodeEntry(b *hcl.Block) (*Entry, hcl.Diagnostics) {
	e := &Entry{Name: b.Labels[0], DeclRange: b.DefRange, Schema: &plugins.Schema{Actions: map[string]*plugins.Action{}}}
	content, diags := b.Body.Content(pluginBody)
	e.Version = stringAttr(content.Attributes["version"], &diags)
	e.SHA256 = strings.ToLower(stringAttr(content.Attributes["sha256"], &diags))
	for _, blk := range content.Blocks {
		switch blk.Type {
		case "config":
			a, d := decodeAttribute(blk)
			diags = append(diags, d...)
			if a != nil {
				e.Schema.Config = append(e.Schema.Config, a)
			}
		case "action":
			a, d := decodeAction(blk)
			diags = append(diags, d...)
			if a == nil {
				continue
			}
			if _, dup := e.Schema.Actions[a.Name]; dup {
				diags = append(diags, invalid(blk.DefRange, fmt.Sprintf("action %q is locked twice", a.Name)))
				continue
			}
			e.Schema.Actions[a.Name] = a
		}
	}
	if diags.HasErrors() {
		return nil, diags
	}
	if err := e.Schema.Validate(); err != nil {
		return nil, append(diags, invalid(b.DefRange, fmt.Sprintf("the schema of plugin %q: %s", e.Name, err)))
	}
	return e, diags
}

func decodeAttribute(b *hcl.Block) (*plugins.Attribute, hcl.Diagnostics) {
	content, diags := b.Body.Content(attributeBody)
	if diags.HasErrors() {
		return nil, diags
	}
	a := &plugins.Attribute{Name: b.Labels[0]}
	a.Type = typeAttr(content.Attributes["type"], &diags)
	a.Description = stringAttr(content.Attributes["description"], &diags)
	a.Required = boolAttr(content.Attributes["required"], &diags)
	a.Sensitive = boolAttr(content.Attributes["sensitive"], &diags)
	a.Path = boolAttr(content.Attributes["path"], &diags)
	if attr, ok := content.Attributes["default"]; ok && a.Type != cty.NilType {
		a.Default = valueAttr(attr, a.Type, &diags)
	}
	// A sensitive default is not written down: the attribute has one, of
	// a value only the plugin knows.
	if boolAttr(content.Attributes["has_default"], &diags) && a.Default == cty.NilVal && a.Type != cty.NilType {
		a.Default = cty.UnknownVal(a.Type)
	}
	for _, blk := range content.Blocks {
		v, d := decodeValidator(blk)
		diags = append(diags, d...)
		if v != nil {
			a.Validators = append(a.Validators, v)
		}
	}
	return a, diags
}

// decodeValidator decodes a validator block; Schema.Validate checks that
// it has one kind that fits its attribute.
func decodeValidator(b *hcl.Block) (*plugins.Validator, hcl.Diagnostics) {
	content, diags := b.Body.Content(validatorBody)
	if diags.HasErrors() {
		return nil, diags
	}
	v := &plugins.Validator{}
	if attr, ok := content.Attributes["one_of"]; ok {
		v.OneOf = listAttr(attr, &diags)
	}
	v.Pattern = stringAttr(content.Attributes["pattern"], &diags)
	if attr, ok := content.Attributes["url"]; ok {
		v.URL = &plugins.URLRule{}
		for _, s := range listAttr(attr, &diags) {
			if s.Type() != cty.String {
				diags = append(diags, invalid(attr.Expr.Range(), "url must be a list of schemes"))
				break
			}
			v.URL.Schemes = append(v.URL.Schemes, s.AsString())
		}
	}
	v.Range = boundsAttr(content.Attributes["range"], &diags)
	v.Length = boundsAttr(content.Attributes["length"], &diags)
	if attr, ok := content.Attributes["duration"]; ok {
		v.Duration = &plugins.DurationBounds{}
		obj := valueAttr(attr, cty.Map(cty.String), &diags)
		if obj != cty.NilVal && !obj.IsNull() {
			for it := obj.ElementIterator(); it.Next(); {
				k, e := it.Element()
				d, err := time.ParseDuration(e.AsString())
				switch {
				case err != nil:
					diags = append(diags, invalid(attr.Expr.Range(), fmt.Sprintf("duration %s: %s", k.AsString(), err)))
				case k.AsString() == "min":
					v.Duration.Min = d
				case k.AsString() == "max":
					v.Duration.Max = d
				default:
					diags = append(diags, invalid(attr.Expr.Range(), fmt.Sprintf("duration has min and max, not %q", k.AsString())))
				}
			}
		}
	}
	return v, diags
}

// listAttr is a literal list's elements.
func listAttr(attr *hcl.Attribute, diags *hcl.Diagnostics) []cty.Value {
	v := valueAttr(attr, cty.DynamicPseudoType, diags)
	if v == cty.NilVal {
		return nil
	}
	if v.IsNull() || !(v.Type().IsTupleType() || v.Type().IsListType()) {
		*diags = append(*diags, invalid(attr.Expr.Range(), attr.Name+" must be a list"))
		return nil
	}
	out := []cty.Value{}
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		out = append(out, e)
	}
	return out
}

// boundsAttr is { min = N, max = N }, either optional.
func boundsAttr(attr *hcl.Attribute, diags *hcl.Diagnostics) *plugins.Bounds {
	if attr == nil {
		return nil
	}
	v := valueAttr(attr, cty.Map(cty.Number), diags)
	b := &plugins.Bounds{}
	if v == cty.NilVal || v.IsNull() {
		return b
	}
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		f, _ := e.AsBigFloat().Float64()
		switch k.AsString() {
		case "min":
			b.Min = &f
		case "max":
			b.Max = &f
		default:
			*diags = append(*diags, invalid(attr.Expr.Range(), fmt.Sprintf("%s has min and max, not %q", attr.Name, k.AsString())))
		}
	}
	return b
}

func decodeAction(b *hcl.Block) (*plugins.Action, hcl.Diagnostics) {
	content, diags := b.Body.Content(actionBody)
	if diags.HasErrors() {
		return nil, diags
	}
	a := &plugins.Action{Name: b.Labels[0]}
	a.Description = stringAttr(content.Attributes["description"], &diags)
	a.ReadOnly = boolAttr(content.Attributes["read_only"], &diags)
	a.Output = typeAttr(content.Attributes["output"], &diags)
	for _, blk := range content.Blocks {
		switch blk.Type {
		case "argument":
			arg, d := decodeAttribute(blk)
			diags = append(diags, d...)
			if arg != nil {
				a.Args = append(a.Args, arg)
			}
		case "read_only_when":
			if a.ReadOnlyWhen != nil {
				diags = append(diags, invalid(blk.DefRange, "read_only_when is given twice"))
				continue
			}
			rc, d := blk.Body.Content(ruleBody)
			diags = append(diags, d...)
			if d.HasErrors() {
				continue
			}
			r := &plugins.ReadOnlyRule{Arg: stringAttr(rc.Attributes["arg"], &diags)}
			values := valueAttr(rc.Attributes["values"], cty.DynamicPseudoType, &diags)
			if values != cty.NilVal && !values.IsNull() && values.IsKnown() && values.CanIterateElements() {
				for it := values.ElementIterator(); it.Next(); {
					_, v := it.Element()
					r.Values = append(r.Values, v)
				}
			} else if values != cty.NilVal {
				diags = append(diags, invalid(rc.Attributes["values"].Expr.Range(), "values must be a list"))
			}
			a.ReadOnlyWhen = r
		}
	}
	return a, diags
}

func invalid(rng hcl.Range, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Invalid plugin lock file",
		Detail:   detail + ". Run `runbook plugins lock` to write the lock file again.",
		Subject:  rng.Ptr(),
	}
}

// literal evaluates an attribute that must be a literal: a lock file has no
// variables or functions.
func literal(attr *hcl.Attribute, diags *hcl.Diagnostics) cty.Value {
	v, d := attr.Expr.Value(nil)
	*diags = append(*diags, d...)
	if d.HasErrors() {
		return cty.NilVal
	}
	return v
}

func stringAttr(attr *hcl.Attribute, diags *hcl.Diagnostics) string {
	if attr == nil {
		return ""
	}
	v := literal(attr, diags)
	if v == cty.NilVal {
		return ""
	}
	if v.IsNull() || !v.IsKnown() || v.Type() != cty.String {
		*diags = append(*diags, invalid(attr.Expr.Range(), attr.Name+" must be a string"))
		return ""
	}
	return v.AsString()
}

func boolAttr(attr *hcl.Attribute, diags *hcl.Diagnostics) bool {
	if attr == nil {
		return false
	}
	v := literal(attr, diags)
	if v == cty.NilVal {
		return false
	}
	if v.IsNull() || !v.IsKnown() || v.Type() != cty.Bool {
		*diags = append(*diags, invalid(attr.Expr.Range(), attr.Name+" must be true or false"))
		return false
	}
	return v.True()
}

func typeAttr(attr *hcl.Attribute, diags *hcl.Diagnostics) cty.Type {
	if attr == nil {
		return cty.NilType
	}
	ty, d := typeexpr.TypeConstraint(attr.Expr)
	*diags = append(*diags, d...)
	if d.HasErrors() {
		return cty.NilType
	}
	return ty
}

// valueAttr is a literal value converted to ty.
func valueAttr(attr *hcl.Attribute, ty cty.Type, diags *hcl.Diagnostics) cty.Value {
	if attr == nil {
		return cty.NilVal
	}
	v := literal(attr, diags)
	if v == cty.NilVal {
		return cty.NilVal
	}
	if !v.IsWhollyKnown() {
		*diags = append(*diags, invalid(attr.Expr.Range(), attr.Name+" must be a literal value"))
		return cty.NilVal
	}
	if ty == cty.DynamicPseudoType {
		return v
	}
	cv, err := convert.Convert(v, ty)
	if err != nil {
		*diags = append(*diags, invalid(attr.Expr.Range(), fmt.Sprintf("%s: %s", attr.Name, err)))
		return cty.NilVal
	}
	return cv
}

// Encode returns the content of a lock file holding entries, in name order.
func Encode(entries []*Entry) ([]byte, error) {
	f := hclwrite.NewEmptyFile()
	body := f.Body()
	byName := map[string]*Entry{}
	for _, e := range entries {
		byName[e.Name] = e
	}
	for i, name := range slices.Sorted(maps.Keys(byName)) {
		e := byName[name]
		if i > 0 {
			body.AppendNewline()
		}
		if err := encodeEntry(body.AppendNewBlock("plugin", []string{e.Name}).Body(), e); err != nil {
			return nil, fmt.Errorf("lock plugin %q: %w", e.Name, err)
		}
	}
	return append([]byte(header), hclwrite.Format(f.Bytes())...), nil
}

// header opens every lock file: what it is, and that it is reviewed.
const header = `# This file is written by "runbook plugins lock", which runs each external
# plugin once to record its version, its binary's sha256 and its schema.
# validate, list, show, test and plugins read the schemas from here and never
# run a plugin binary. Review changes to this file like code.

`

func encodeEntry(body *hclwrite.Body, e *Entry) error {
	if e.Version != "" {
		body.SetAttributeValue("version", cty.StringVal(e.Version))
	}
	body.SetAttributeValue("sha256", cty.StringVal(strings.ToLower(e.SHA256)))
	if e.Schema == nil {
		return errors.New("no schema")
	}
	for _, a := range e.Schema.Config {
		body.AppendNewline()
		if err := encodeAttribute(body.AppendNewBlock("config", []string{a.Name}).Body(), a); err != nil {
			return fmt.Errorf("config %s: %w", a.Name, err)
		}
	}
	for _, name := range e.Schema.ActionNames() {
		a := e.Schema.Actions[name]
		body.AppendNewline()
		ab := body.AppendNewBlock("action", []string{name}).Body()
		if a.Description != "" {
			ab.SetAttributeValue("description", cty.StringVal(a.Description))
		}
		if a.ReadOnly {
			ab.SetAttributeValue("read_only", cty.True)
		}
		if err := setType(ab, "output", a.Output); err != nil {
			return fmt.Errorf("action %s: %w", name, err)
		}
		if r := a.ReadOnlyWhen; r != nil {
			ab.AppendNewline()
			rb := ab.AppendNewBlock("read_only_when", nil).Body()
			rb.SetAttributeValue("arg", cty.StringVal(r.Arg))
			values := make([]cty.Value, len(r.Values))
			for i, v := range r.Values {
				values[i], _ = v.UnmarkDeep()
			}
			rb.SetAttributeValue("values", cty.TupleVal(values))
		}
		for _, arg := range a.Args {
			ab.AppendNewline()
			if err := encodeAttribute(ab.AppendNewBlock("argument", []string{arg.Name}).Body(), arg); err != nil {
				return fmt.Errorf("action %s: argument %s: %w", name, arg.Name, err)
			}
		}
	}
	return nil
}

func encodeAttribute(body *hclwrite.Body, a *plugins.Attribute) error {
	if err := setType(body, "type", a.Type); err != nil {
		return err
	}
	if a.Description != "" {
		body.SetAttributeValue("description", cty.StringVal(a.Description))
	}
	for _, flag := range []struct {
		name string
		set  bool
	}{{"required", a.Required}, {"sensitive", a.Sensitive}, {"path", a.Path}} {
		if flag.set {
			body.SetAttributeValue(flag.name, cty.True)
		}
	}
	switch def, _ := a.Default.UnmarkDeep(); {
	case a.Default == cty.NilVal:
	case a.Sensitive || !def.IsWhollyKnown():
		body.SetAttributeValue("has_default", cty.True)
	default:
		body.SetAttributeValue("default", def)
	}
	for _, v := range a.Validators {
		if err := encodeValidator(body.AppendNewBlock("validator", nil).Body(), v); err != nil {
			return err
		}
	}
	return nil
}

func encodeValidator(body *hclwrite.Body, v *plugins.Validator) error {
	if v == nil {
		return errors.New("nil validator")
	}
	if len(v.OneOf) > 0 {
		values := make([]cty.Value, len(v.OneOf))
		for i, o := range v.OneOf {
			values[i], _ = o.UnmarkDeep()
			if !values[i].IsWhollyKnown() {
				return errors.New("one_of validator with an unknown value")
			}
		}
		body.SetAttributeValue("one_of", cty.TupleVal(values))
	}
	if v.Pattern != "" {
		body.SetAttributeValue("pattern", cty.StringVal(v.Pattern))
	}
	if v.URL != nil {
		schemes := make([]cty.Value, len(v.URL.Schemes))
		for i, s := range v.URL.Schemes {
			schemes[i] = cty.StringVal(s)
		}
		body.SetAttributeValue("url", cty.TupleVal(schemes))
	}
	for _, b := range []struct {
		name   string
		bounds *plugins.Bounds
	}{{"range", v.Range}, {"length", v.Length}} {
		if b.bounds == nil {
			continue
		}
		obj := map[string]cty.Value{}
		if b.bounds.Min != nil {
			obj["min"] = cty.NumberFloatVal(*b.bounds.Min)
		}
		if b.bounds.Max != nil {
			obj["max"] = cty.NumberFloatVal(*b.bounds.Max)
		}
		body.SetAttributeValue(b.name, cty.ObjectVal(obj))
	}
	if d := v.Duration; d != nil {
		obj := map[string]cty.Value{}
		if d.Min > 0 {
			obj["min"] = cty.StringVal(d.Min.String())
		}
		if d.Max > 0 {
			obj["max"] = cty.StringVal(d.Max.String())
		}
		body.SetAttributeValue("duration", cty.ObjectVal(obj))
	}
	return nil
}

// setType writes a type as the language writes it: object({name=string}).
func setType(body *hclwrite.Body, name string, ty cty.Type) error {
	if ty == cty.NilType {
		return errors.New(name + ": no type")
	}
	src := "t = " + typeexpr.TypeString(ty) + "\n"
	f, diags := hclwrite.ParseConfig([]byte(src), "", hcl.InitialPos)
	if diags.HasErrors() {
		return fmt.Errorf("%s: type %s: %s", name, ty.FriendlyName(), diags.Error())
	}
	body.SetAttributeRaw(name, f.Body().GetAttribute("t").Expr().BuildTokens(nil))
	return nil
}

// Write replaces the lock file of runbook directory dir with entries,
// atomically.
func Write(dir string, entries []*Entry) error {
	b, err := Encode(entries)
	if err != nil {
		return err
	}
	return atomicfile.Write(Path(dir), b, 0o644)
}
