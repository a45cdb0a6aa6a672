// Package draft07 is a JSON Schema validator made for one job: checking
// flag files against flagd's schema (plugins/fallback/flagdschema,
// flags.json and targeting.json, draft-07).
//
// It replaces github.com/santhosh-tekuri/jsonschema/v6, whose package init
// compiles the meta-schemas of all five drafts it supports: 16 ms of CPU of
// the 48 ms `runbook version` took, paid at the start of every runbook
// process (the CLI and each plugin process) whether or not it ever reads a
// flag file. This one does nothing until the first flag file is read.
//
// It implements the keywords flagd's two schemas use, with their draft-07
// meaning, and no others. Compiling a schema that uses any other keyword, or
// a keyword in a form not implemented (an anchor $ref, a nested $id, another
// draft), fails: a flagd schema update that needs more makes the tests fail
// instead of being checked in part. The tests hold its verdicts to the
// library's, which they keep as a test-only reference, on flagd's own test
// files, on edge cases of every keyword and on fuzzed input.
//
// Patterns are Go regular expressions (RE2), as in the library. flagd's
// patterns are valid RE2 and mean what they mean in ECMA 262, except that
// RE2's "." also matches "\r", U+2028 and U+2029.
package draft07

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// SchemaURI is the only $schema the validator implements.
const SchemaURI = "http://json-schema.org/draft-07/schema#"

// Schema is one compiled schema or subschema.
type Schema struct {
	at      string // URL#pointer, for compile errors
	boolean *bool  // the schema is true or false

	ref *Schema // $ref; in draft-07 its siblings are ignored

	types jsonType // 0: any
	enum  []any    // nil: any

	properties        map[string]*Schema
	patternProperties []patternSchema
	additional        *Schema // additionalProperties as a schema
	noAdditional      bool    // additionalProperties: false
	required          []string
	minProperties     int // -1: none

	items           *Schema   // items as one schema
	itemList        []*Schema // items as an array
	additionalItems *Schema   // with itemList: the items after it
	noAdditionalIt  bool      // with itemList: additionalItems: false
	minItems        int       // -1: none
	maxItems        int       // -1: none

	minLength int // -1: none
	pattern   *regexp.Regexp

	minimum *decimal

	allOf, anyOf, oneOf []*Schema
	not                 *Schema
}

type patternSchema struct {
	re     *regexp.Regexp
	schema *Schema
}

// jsonType is a set of JSON types, as the type keyword names them.
type jsonType uint8

const (
	typeNull jsonType = 1 << iota
	typeBoolean
	typeNumber
	typeInteger
	typeString
	typeArray
	typeObject
)

// typeNames are the type names, in the order messages list them.
var typeNames = []struct {
	t    jsonType
	name string
}{
	{typeNull, "null"}, {typeBoolean, "boolean"}, {typeNumber, "number"}, {typeInteger, "integer"},
	{typeString, "string"}, {typeArray, "array"}, {typeObject, "object"},
}

func (t jsonType) String() string {
	var names []string
	for _, n := range typeNames {
		if t&n.t != 0 {
			names = append(names, n.name)
		}
	}
	return strings.Join(names, " or ")
}

// typeOf is the type of a decoded JSON value; a number is a number, never
// an integer.
func typeOf(v any) jsonType {
	switch v.(type) {
	case nil:
		return typeNull
	case bool:
		return typeBoolean
	case json.Number:
		return typeNumber
	case string:
		return typeString
	case []any:
		return typeArray
	case map[string]any:
		return typeObject
	}
	return 0
}

// admits reports whether v is of one of the types t. An integer is a number
// whose fractional part is zero, 1.0 included (draft-07).
func (t jsonType) admits(v any) bool {
	vt := typeOf(v)
	if t&vt != 0 {
		return true
	}
	if vt == typeNumber && t&typeInteger != 0 {
		d, ok := parseDecimal(string(v.(json.Number)))
		return ok && d.isInteger()
	}
	return false
}

// DecodeJSON decodes one JSON value, numbers as json.Number, and refuses
// anything after it.
func DecodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("invalid character after top-level value")
	}
	return v, nil
}

// Resource is a schema document and the URL it is known by, its $id.
type Resource struct {
	URL  string
	Data []byte
}

// schemaCompiler compiles schema documents that refer to each other.
type schemaCompiler struct {
	docs  map[string]any     // document URL → decoded document
	nodes map[string]*Schema // URL#pointer → compiled schema
}

// Compile compiles the documents, all of each, and returns the
// schema of the first. Any keyword the validator does not implement is an
// error, wherever it is.
func Compile(resources ...Resource) (*Schema, error) {
	c := &schemaCompiler{docs: map[string]any{}, nodes: map[string]*Schema{}}
	for _, r := range resources {
		doc, err := DecodeJSON(r.Data)
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", r.URL, err)
		}
		c.docs[r.URL] = doc
	}
	var roots []*Schema
	for _, r := range resources {
		s, err := c.compile(r.URL, nil, c.docs[r.URL])
		if err != nil {
			return nil, err
		}
		roots = append(roots, s)
	}
	if len(roots) == 0 {
		return nil, errors.New("no schema")
	}
	state := map[*Schema]int{}
	for _, at := range slices.Sorted(maps.Keys(c.nodes)) {
		if err := checkCycles(c.nodes[at], state); err != nil {
			return nil, err
		}
	}
	return roots[0], nil
}

// pointer is the JSON pointer of the tokens.
func pointer(tokens []string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(escapeToken(t))
	}
	return b.String()
}

// escapeToken escapes a JSON pointer token (RFC 6901).
func escapeToken(t string) string {
	if !strings.ContainsAny(t, "~/") {
		return t
	}
	return strings.ReplaceAll(strings.ReplaceAll(t, "~", "~0"), "/", "~1")
}

// unescapeToken unescapes a JSON pointer token; false if it is not one.
func unescapeToken(t string) (string, bool) {
	for i := 0; i < len(t); i++ {
		if t[i] == '~' {
			if i+1 == len(t) || t[i+1] != '0' && t[i+1] != '1' {
				return "", false
			}
			i++
		}
	}
	return strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~"), true
}

// compile compiles the schema v found at tokens in the document docURL.
func (c *schemaCompiler) compile(docURL string, tokens []string, v any) (*Schema, error) {
	at := docURL + "#" + pointer(tokens)
	if s, ok := c.nodes[at]; ok {
		return s, nil
	}
	s := &Schema{at: at, minProperties: -1, minItems: -1, maxItems: -1, minLength: -1}
	c.nodes[at] = s // before the subschemas: they may refer back to it
	switch v := v.(type) {
	case bool:
		s.boolean = &v
		return s, nil
	case map[string]any:
	default:
		return nil, fmt.Errorf("schema %s: a %s, not a schema", at, typeOf(v))
	}
	obj := v.(map[string]any)
	if _, ok := obj["$schema"]; !ok && len(tokens) == 0 {
		// Without it, readers may take it for another draft: the library
		// this validator replaces takes it for 2020-12.
		return nil, fmt.Errorf("schema %s: $schema: a document must declare %s", at, SchemaURI)
	}
	n := &node{c: c, docURL: docURL, tokens: tokens, at: at, s: s}
	for _, kw := range sortedKeys(obj) {
		if err := n.keyword(kw, obj[kw]); err != nil {
			return nil, err
		}
	}
	if s.itemList == nil {
		s.additionalItems, s.noAdditionalIt = nil, false
	}
	return s, nil
}

// node is a schema object being compiled: where it stands and the Schema
// its keywords fill in.
type node struct {
	c      *schemaCompiler
	docURL string
	tokens []string
	at     string
	s      *Schema
}

// sub compiles the subschema v found at the node's tokens followed by tok.
func (n *node) sub(v any, tok ...string) (*Schema, error) {
	return n.c.compile(n.docURL, append(slices.Clone(n.tokens), tok...), v)
}

// subs compiles an array of schemas; allOf, anyOf and oneOf want at least
// one.
func (n *node) subs(kw string, v any) ([]*Schema, error) {
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		return nil, fmt.Errorf("schema %s: %s is not a non-empty array of schemas", n.at, kw)
	}
	var list []*Schema
	for i, item := range arr {
		s, err := n.sub(item, kw, strconv.Itoa(i))
		if err != nil {
			return nil, err
		}
		list = append(list, s)
	}
	return list, nil
}

// bad is the error for the keyword kw whose value is not what it must be.
func (n *node) bad(kw, want string) error {
	return fmt.Errorf("schema %s: %s is not %s", n.at, kw, want)
}

// keyword compiles one keyword of the node into its Schema.
func (n *node) keyword(kw string, val any) error {
	switch kw {
	case "$schema", "$id", "$comment", "title", "description", "definitions", "$ref":
		return n.core(kw, val)
	case "properties", "patternProperties", "additionalProperties", "required", "minProperties":
		return n.objectKeyword(kw, val)
	case "items", "additionalItems", "minItems", "maxItems":
		return n.arrayKeyword(kw, val)
	case "type", "enum", "minimum", "minLength", "pattern":
		return n.valueKeyword(kw, val)
	case "allOf", "anyOf", "oneOf", "not":
		return n.applicator(kw, val)
	default:
		return fmt.Errorf("schema %s: keyword %q is not implemented", n.at, kw)
	}
}

// core compiles the keywords that identify, annotate or refer.
func (n *node) core(kw string, val any) error {
	s, at := n.s, n.at
	var err error
	switch kw {
	case "$schema":
		if len(n.tokens) > 0 || val != SchemaURI {
			return fmt.Errorf("schema %s: $schema %v: only %s, at the root of a document, is implemented", at, val, SchemaURI)
		}
	case "$id":
		if len(n.tokens) > 0 || val != n.docURL {
			return fmt.Errorf("schema %s: $id %v: only the document's own URL, at its root, is implemented", at, val)
		}
	case "$comment", "title", "description":
		if _, ok := val.(string); !ok {
			return n.bad(kw, "a string")
		}
	case "definitions":
		defs, ok := val.(map[string]any)
		if !ok {
			return n.bad(kw, "an object")
		}
		for _, name := range sortedKeys(defs) {
			if _, err := n.sub(defs[name], kw, name); err != nil {
				return err
			}
		}
	case "$ref":
		// Its siblings mean nothing in draft-07 (validate ignores
		// them), but are compiled all the same: they too must use
		// only keywords implemented.
		ref, ok := val.(string)
		if !ok {
			return n.bad(kw, "a string")
		}
		if s.ref, err = n.c.resolve(n.docURL, ref); err != nil {
			return fmt.Errorf("schema %s: %w", at, err)
		}
	}
	return nil
}

// objectKeyword compiles the keywords that apply to objects.
func (n *node) objectKeyword(kw string, val any) error {
	s := n.s
	var err error
	switch kw {
	case "properties":
		props, ok := val.(map[string]any)
		if !ok {
			return n.bad(kw, "an object")
		}
		s.properties = map[string]*Schema{}
		for _, name := range sortedKeys(props) {
			if s.properties[name], err = n.sub(props[name], kw, name); err != nil {
				return err
			}
		}
	case "patternProperties":
		props, ok := val.(map[string]any)
		if !ok {
			return n.bad(kw, "an object")
		}
		for _, pat := range sortedKeys(props) {
			re, err := regexp.Compile(pat)
			if err != nil {
				return fmt.Errorf("schema %s: patternProperties: %w", n.at, err)
			}
			ps, err := n.sub(props[pat], kw, pat)
			if err != nil {
				return err
			}
			s.patternProperties = append(s.patternProperties, patternSchema{re, ps})
		}
	case "additionalProperties":
		if b, ok := val.(bool); ok {
			s.noAdditional = !b
		} else if s.additional, err = n.sub(val, kw); err != nil {
			return err
		}
	case "required":
		arr, ok := val.([]any)
		if !ok {
			return n.bad(kw, "an array of strings")
		}
		for _, item := range arr {
			name, ok := item.(string)
			if !ok || slices.Contains(s.required, name) {
				return n.bad(kw, "an array of distinct strings")
			}
			s.required = append(s.required, name)
		}
	case "minProperties":
		s.minProperties, err = n.count(kw, val)
	}
	return err
}

// arrayKeyword compiles the keywords that apply to arrays.
func (n *node) arrayKeyword(kw string, val any) error {
	s := n.s
	var err error
	switch kw {
	case "items":
		if arr, ok := val.([]any); ok {
			s.itemList, err = n.subs(kw, arr)
		} else {
			s.items, err = n.sub(val, kw)
		}
	case "additionalItems":
		// Only an items array gives it a meaning; compiled anyway.
		if b, ok := val.(bool); ok {
			s.noAdditionalIt = !b
		} else {
			s.additionalItems, err = n.sub(val, kw)
		}
	case "minItems":
		s.minItems, err = n.count(kw, val)
	case "maxItems":
		s.maxItems, err = n.count(kw, val)
	}
	return err
}

// valueKeyword compiles the keywords on a value's type, number or string.
func (n *node) valueKeyword(kw string, val any) error {
	s := n.s
	var err error
	switch kw {
	case "type":
		if s.types, err = parseTypes(val); err != nil {
			return fmt.Errorf("schema %s: %w", n.at, err)
		}
	case "enum":
		arr, ok := val.([]any)
		if !ok || len(arr) == 0 {
			return n.bad(kw, "a non-empty array")
		}
		s.enum = arr
	case "minimum":
		num, ok := val.(json.Number)
		d, okd := parseDecimal(string(num))
		if !ok || !okd {
			return n.bad(kw, "a number")
		}
		s.minimum = &d
	case "minLength":
		s.minLength, err = n.count(kw, val)
	case "pattern":
		pat, ok := val.(string)
		if !ok {
			return n.bad(kw, "a string")
		}
		if s.pattern, err = regexp.Compile(pat); err != nil {
			return fmt.Errorf("schema %s: pattern: %w", n.at, err)
		}
	}
	return err
}

// count parses the value of minProperties, minItems, maxItems or
// minLength: a non-negative integer.
func (n *node) count(kw string, val any) (int, error) {
	num, ok := val.(json.Number)
	i, err := strconv.Atoi(string(num))
	if !ok || err != nil || i < 0 {
		return -1, n.bad(kw, "a non-negative integer")
	}
	return i, nil
}

// applicator compiles allOf, anyOf, oneOf and not.
func (n *node) applicator(kw string, val any) error {
	s := n.s
	var err error
	switch kw {
	case "allOf":
		s.allOf, err = n.subs(kw, val)
	case "anyOf":
		s.anyOf, err = n.subs(kw, val)
	case "oneOf":
		s.oneOf, err = n.subs(kw, val)
	case "not":
		s.not, err = n.sub(val, kw)
	}
	return err
}

func sortedKeys(m map[string]any) []string {
	return slices.Sorted(maps.Keys(m))
}

// parseTypes parses the type keyword: a type name or an array of them.
func parseTypes(v any) (jsonType, error) {
	names, ok := v.([]any)
	if !ok {
		names = []any{v}
	}
	var t jsonType
	for _, name := range names {
		var nt jsonType
		for _, n := range typeNames {
			if name == n.name {
				nt = n.t
			}
		}
		if nt == 0 || t&nt != 0 {
			return 0, fmt.Errorf("type %v: not a type name or array of distinct type names", v)
		}
		t |= nt
	}
	if t == 0 {
		return 0, errors.New("type: an empty array")
	}
	return t, nil
}

// resolve compiles the schema a $ref in the document docURL refers to: in
// the same or another of the compiler's documents, the whole document or a
// JSON pointer into it.
func (c *schemaCompiler) resolve(docURL, ref string) (*Schema, error) {
	base, err := url.Parse(docURL)
	if err != nil {
		return nil, fmt.Errorf("$ref %q: %w", ref, err)
	}
	r, err := url.Parse(ref)
	if err != nil {
		return nil, fmt.Errorf("$ref %q: %w", ref, err)
	}
	u := base.ResolveReference(r)
	frag := u.Fragment
	u.Fragment, u.RawFragment = "", ""
	doc, ok := c.docs[u.String()]
	if !ok {
		return nil, fmt.Errorf("$ref %q: no document %s", ref, u)
	}
	if frag != "" && frag[0] != '/' {
		return nil, fmt.Errorf("$ref %q: only JSON pointer fragments are implemented", ref)
	}
	var tokens []string
	v := doc
	if frag != "" {
		for _, raw := range strings.Split(frag[1:], "/") {
			tok, ok := unescapeToken(raw)
			if !ok {
				return nil, fmt.Errorf("$ref %q: bad JSON pointer", ref)
			}
			tokens = append(tokens, tok)
			switch cur := v.(type) {
			case map[string]any:
				v, ok = cur[tok]
			case []any:
				i, err := strconv.Atoi(tok)
				ok = err == nil && i >= 0 && i < len(cur) && strconv.Itoa(i) == tok
				if ok {
					v = cur[i]
				}
			default:
				ok = false
			}
			if !ok {
				return nil, fmt.Errorf("$ref %q: nothing there", ref)
			}
		}
	}
	return c.compile(u.String(), tokens, v)
}

// checkCycles refuses a schema that applies itself to the same value
// through $ref, allOf, anyOf, oneOf or not, without stepping into a
// property or item: validating with it would never end. state holds 1 for
// a schema on the way, 2 for one checked.
func checkCycles(s *Schema, state map[*Schema]int) error {
	switch state[s] {
	case 1:
		return fmt.Errorf("schema %s: applies itself to the same value", s.at)
	case 2:
		return nil
	}
	state[s] = 1
	in := []*Schema{s.ref}
	if s.ref == nil {
		in = slices.Concat(s.allOf, s.anyOf, s.oneOf, []*Schema{s.not})
	}
	for _, t := range in {
		if t != nil {
			if err := checkCycles(t, state); err != nil {
				return err
			}
		}
	}
	state[s] = 2
	return nil
}

// instancePath is the location of a value in the document validated, as a
// list from the value up to the root (nil).
type instancePath struct {
	up    *instancePath
	token string
}

// String is the location as a JSON pointer, "" for the root.
func (p *instancePath) String() string {
	if p == nil {
		return ""
	}
	return p.up.String() + "/" + escapeToken(p.token)
}

// errorKind tells the failures of subschemas apart from failures of values.
type errorKind uint8

const (
	errValue errorKind = iota // the value fails a keyword: msg says how
	errGroup                  // the value fails several keywords: causes
	errRef                    // the schema $ref refers to fails: causes
	errAllOf                  // some allOf subschemas fail: causes
	errAnyOf                  // every anyOf subschema fails: causes
	errOneOf                  // every oneOf subschema fails: causes
)

// Error is why a value fails a schema: a message about the value at
// a location, or keywords whose subschemas fail, with their errors.
type Error struct {
	kind   errorKind
	at     *instancePath
	msg    string
	causes []*Error
}

// Error is the message of the value's failure, "at '/flags/x': …".
func (e *Error) Error() string {
	if e.kind != errValue {
		var msgs []string
		for _, c := range e.causes {
			msgs = append(msgs, c.Error())
		}
		return strings.Join(msgs, "; ")
	}
	return "at " + quote(e.at.String()) + ": " + e.msg
}

// Lines are the failures of values worth showing, each once:
// all of them, but of the subschemas of an anyOf or oneOf only those
// that failed least (see closest).
func (err *Error) Lines() []string {
	var lines []string
	seen := map[string]bool{}
	c := complaints{failed: map[*Error]int{}}
	var collect func(*Error)
	collect = func(e *Error) {
		if len(e.causes) == 0 {
			if msg := e.Error(); !seen[msg] {
				seen[msg] = true
				lines = append(lines, msg)
			}
			return
		}
		for _, cause := range c.closest(e) {
			collect(cause)
		}
	}
	collect(err)
	return lines
}

// complaints picks the failures of a validation worth showing.
type complaints struct {
	failed map[*Error]int // memo of failures
}

// closest returns the causes of e worth showing: all of them, but of the
// alternatives of an anyOf or oneOf only those that failed least, the ones
// the author most likely meant (a boolean flag with a bad state, not the
// same flag read as a number flag).
func (c *complaints) closest(e *Error) []*Error {
	if e.kind != errAnyOf && e.kind != errOneOf {
		return e.causes
	}
	best := -1
	var closest []*Error
	for _, cause := range e.causes {
		switch n := c.failures(cause); {
		case best < 0 || n < best:
			best, closest = n, []*Error{cause}
		case n == best:
			closest = append(closest, cause)
		}
	}
	return closest
}

// failures counts the failures closest would show for e.
func (c *complaints) failures(e *Error) int {
	if len(e.causes) == 0 {
		return 1
	}
	if n, ok := c.failed[e]; ok {
		return n
	}
	n := 0
	for _, cause := range c.closest(e) {
		n += c.failures(cause)
	}
	c.failed[e] = n
	return n
}

// errInvalid is the verdict of a quick validation, without the reasons.
var errInvalid = &Error{msg: "invalid"}

// Valid reports whether v passes the schema. It stops at the first
// failure and says nothing about it.
func (s *Schema) Valid(v any) bool {
	return validation{quick: true}.validate(s, v, nil) == nil
}

// Explain returns why v fails the schema, every failure; nil if v passes.
func (s *Schema) Explain(v any) *Error {
	return validation{}.validate(s, v, nil)
}

// validation is one validation: quick, it stops at the first failure and
// returns errInvalid; else it collects every failure the way
// github.com/santhosh-tekuri/jsonschema/v6 does, so that the complaints
// built from them stay the same, with objects' properties in sorted order.
type validation struct {
	quick bool
}

// fail is the failure of the value at at, errInvalid if quick.
func (vd validation) fail(at *instancePath, format string, args ...any) *Error {
	if vd.quick {
		return errInvalid
	}
	return &Error{kind: errValue, at: at, msg: fmt.Sprintf(format, args...)}
}

// step is the location of a member or item of the value at at; nil if
// quick, where locations do not matter.
func (vd validation) step(at *instancePath, token func() string) *instancePath {
	if vd.quick {
		return nil
	}
	return &instancePath{up: at, token: token()}
}

func (vd validation) validate(s *Schema, v any, at *instancePath) *Error {
	if s.boolean != nil {
		if *s.boolean {
			return nil
		}
		return vd.fail(at, "false schema")
	}
	if s.ref != nil {
		return vd.ref(s, v, at)
	}
	if s.types != 0 && !s.types.admits(v) {
		return vd.fail(at, "got %s, want %s", typeOf(v), s.types)
	}
	if s.enum != nil && !slices.ContainsFunc(s.enum, func(e any) bool { return jsonEqual(v, e) }) {
		if vd.quick {
			return errInvalid
		}
		return vd.fail(at, "%s", enumMessage(s.enum))
	}
	var errs []*Error
	switch v := v.(type) {
	case map[string]any:
		errs = vd.object(s, v, at)
	case []any:
		errs = vd.array(s, v, at)
	case string:
		errs = vd.str(s, v, at)
	case json.Number:
		if s.minimum != nil {
			if d, ok := parseDecimal(string(v)); !ok || d.cmp(*s.minimum) < 0 {
				errs = append(errs, vd.fail(at, "minimum: got %s, want %s", v, s.minimum))
			}
		}
	}
	if vd.quick && len(errs) > 0 {
		return errInvalid
	}
	errs = vd.applicators(s, v, at, errs)
	switch {
	case len(errs) == 0:
		return nil
	case vd.quick:
		return errInvalid
	case len(errs) == 1:
		return errs[0]
	}
	return &Error{kind: errGroup, at: at, causes: errs}
}

// ref validates v against the schema s refers to; in draft-07 the
// siblings of $ref are ignored.
func (vd validation) ref(s *Schema, v any, at *instancePath) *Error {
	err := vd.validate(s.ref, v, at)
	if err == nil || vd.quick {
		return err
	}
	causes := []*Error{err}
	if err.kind == errGroup {
		causes = err.causes
	}
	return &Error{kind: errRef, at: at, causes: causes}
}

// str applies the string keywords.
func (vd validation) str(s *Schema, v string, at *instancePath) []*Error {
	var errs []*Error
	if s.minLength >= 0 {
		if n := utf8.RuneCountInString(v); n < s.minLength {
			errs = append(errs, vd.fail(at, "minLength: got %d, want %d", n, s.minLength))
		}
	}
	if s.pattern != nil && !s.pattern.MatchString(v) {
		errs = append(errs, vd.fail(at, "%s does not match pattern %s", quote(v), quote(s.pattern.String())))
	}
	return errs
}

// missing is the failure of required on obj; nil if no property is
// missing.
func (vd validation) missing(s *Schema, obj map[string]any, at *instancePath) *Error {
	var missing []string
	for _, name := range s.required {
		if _, ok := obj[name]; !ok {
			missing = append(missing, name)
		}
	}
	switch {
	case len(missing) == 1:
		return vd.fail(at, "missing property %s", quote(missing[0]))
	case len(missing) > 1:
		return vd.fail(at, "missing properties %s", joinQuoted(missing))
	}
	return nil
}

// object applies the object keywords.
func (vd validation) object(s *Schema, obj map[string]any, at *instancePath) []*Error {
	var errs []*Error
	if s.minProperties >= 0 && len(obj) < s.minProperties {
		errs = append(errs, vd.fail(at, "minProperties: got %d, want %d", len(obj), s.minProperties))
	}
	if err := vd.missing(s, obj, at); err != nil {
		errs = append(errs, err)
	}
	if vd.quick && len(errs) > 0 {
		return errs
	}
	var extra []string
	member := func(name string, v any) {
		at := vd.step(at, func() string { return name })
		evaluated := false
		if ps, ok := s.properties[name]; ok {
			evaluated = true
			if err := vd.validate(ps, v, at); err != nil {
				errs = append(errs, err)
			}
		}
		for _, p := range s.patternProperties {
			if p.re.MatchString(name) {
				evaluated = true
				if err := vd.validate(p.schema, v, at); err != nil {
					errs = append(errs, err)
				}
			}
		}
		switch {
		case evaluated:
		case s.noAdditional:
			extra = append(extra, name)
		case s.additional != nil:
			if err := vd.validate(s.additional, v, at); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if vd.quick {
		for name, v := range obj {
			if member(name, v); len(errs) > 0 || len(extra) > 0 {
				return append(errs, errInvalid)
			}
		}
		return nil
	}
	for _, name := range sortedKeys(obj) {
		member(name, obj[name])
	}
	if len(extra) > 0 {
		errs = append(errs, vd.fail(at, "additional properties %s not allowed", joinQuoted(extra)))
	}
	return errs
}

// array applies the array keywords.
func (vd validation) array(s *Schema, arr []any, at *instancePath) []*Error {
	var errs []*Error
	if s.minItems >= 0 && len(arr) < s.minItems {
		errs = append(errs, vd.fail(at, "minItems: got %d, want %d", len(arr), s.minItems))
	}
	if s.maxItems >= 0 && len(arr) > s.maxItems {
		errs = append(errs, vd.fail(at, "maxItems: got %d, want %d", len(arr), s.maxItems))
	}
	if vd.quick && len(errs) > 0 {
		return errs
	}
	item := func(i int, sch *Schema) bool {
		if err := vd.validate(sch, arr[i], vd.step(at, func() string { return strconv.Itoa(i) })); err != nil {
			errs = append(errs, err)
			return vd.quick
		}
		return false
	}
	switch {
	case s.items != nil:
		for i := range arr {
			if item(i, s.items) {
				return errs
			}
		}
	case s.itemList != nil:
		n := min(len(arr), len(s.itemList))
		for i := range n {
			if item(i, s.itemList[i]) {
				return errs
			}
		}
		switch {
		case s.noAdditionalIt && len(arr) > n:
			errs = append(errs, vd.fail(at, "last %d additionalItem(s) not allowed", len(arr)-n))
		case s.additionalItems != nil:
			for i := n; i < len(arr); i++ {
				if item(i, s.additionalItems) {
					return errs
				}
			}
		}
	}
	return errs
}

// applicators applies not, allOf, anyOf and oneOf, after the keywords
// that failed with errs.
func (vd validation) applicators(s *Schema, v any, at *instancePath, errs []*Error) []*Error {
	for _, apply := range [...]func(validation, *Schema, any, *instancePath) *Error{
		validation.not, validation.allOf, validation.anyOf, validation.oneOf,
	} {
		if err := apply(vd, s, v, at); err != nil {
			if errs = append(errs, err); vd.quick {
				return errs
			}
		}
	}
	return errs
}

// not is the failure of not; nil if it holds or is absent.
func (vd validation) not(s *Schema, v any, at *instancePath) *Error {
	if s.not != nil && (validation{quick: true}).validate(s.not, v, nil) == nil {
		return vd.fail(at, "'not' failed")
	}
	return nil
}

// allOf is the failure of allOf; if quick, that of its first subschema
// that fails.
func (vd validation) allOf(s *Schema, v any, at *instancePath) *Error {
	var failed []*Error
	for _, t := range s.allOf {
		if err := vd.validate(t, v, at); err != nil {
			if vd.quick {
				return err
			}
			failed = append(failed, err)
		}
	}
	if failed != nil {
		return &Error{kind: errAllOf, at: at, causes: failed}
	}
	return nil
}

// anyOf is the failure of anyOf; nil if a subschema holds or it is absent.
func (vd validation) anyOf(s *Schema, v any, at *instancePath) *Error {
	if s.anyOf == nil {
		return nil
	}
	var failed []*Error
	for _, t := range s.anyOf {
		err := vd.validate(t, v, at)
		if err == nil {
			return nil
		}
		failed = append(failed, err)
	}
	if vd.quick {
		return errInvalid
	}
	return &Error{kind: errAnyOf, at: at, causes: failed}
}

// oneOf is the failure of oneOf: no subschema holds, or a second one does.
func (vd validation) oneOf(s *Schema, v any, at *instancePath) *Error {
	if s.oneOf == nil {
		return nil
	}
	matched := -1
	var failed []*Error
	for i, t := range s.oneOf {
		if matched >= 0 {
			// Only whether a second one matches matters.
			if (validation{quick: true}).validate(t, v, nil) == nil {
				return vd.fail(at, "'oneOf' failed, subschemas %d, %d matched", matched, i)
			}
			continue
		}
		err := vd.validate(t, v, at)
		if err == nil {
			matched = i
		} else if !vd.quick {
			failed = append(failed, err)
		}
	}
	if matched < 0 {
		if vd.quick {
			return errInvalid
		}
		return &Error{kind: errOneOf, at: at, causes: failed}
	}
	return nil
}

// jsonEqual reports whether two decoded JSON values are equal, numbers by
// value (1.0 equals 1).
func jsonEqual(a, b any) bool {
	switch a := a.(type) {
	case nil:
		return b == nil
	case bool:
		b, ok := b.(bool)
		return ok && a == b
	case string:
		b, ok := b.(string)
		return ok && a == b
	case json.Number:
		b, ok := b.(json.Number)
		if !ok {
			return false
		}
		da, oka := parseDecimal(string(a))
		db, okb := parseDecimal(string(b))
		return oka && okb && da.cmp(db) == 0
	case []any:
		b, ok := b.([]any)
		return ok && slices.EqualFunc(a, b, jsonEqual)
	case map[string]any:
		b, ok := b.(map[string]any)
		return ok && maps.EqualFunc(a, b, jsonEqual)
	}
	return false
}

// enumMessage is the complaint about a value not in enum.
func enumMessage(enum []any) string {
	var want []string
	for _, v := range enum {
		switch v := v.(type) {
		case string:
			want = append(want, quote(v))
		case nil:
			want = append(want, "null")
		case bool, json.Number:
			want = append(want, fmt.Sprint(v))
		default:
			return "'enum' failed"
		}
	}
	if len(want) == 1 {
		return "value must be " + want[0]
	}
	return "value must be one of " + strings.Join(want, ", ")
}

// quote single-quotes s, escaping as Go would.
func quote(s string) string {
	s = strconv.Quote(s)
	s = strings.ReplaceAll(s, `\"`, `"`)
	s = strings.ReplaceAll(s, `'`, `\'`)
	return "'" + s[1:len(s)-1] + "'"
}

func joinQuoted(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = quote(n)
	}
	return strings.Join(quoted, ", ")
}

// decimal is a JSON number, exactly: -1 if neg × 0.digits × 10^exp, with
// digits free of leading and trailing zeros, "" for zero. Exponents beyond
// ±maxExponent are clamped, which keeps comparisons with the numbers of a
// schema exact.
type decimal struct {
	neg    bool
	digits string
	exp    int64
	text   string // as written
}

const maxExponent = 1 << 50

// parseDecimal parses a JSON number.
func parseDecimal(s string) (decimal, bool) {
	d := decimal{text: s}
	if rest, ok := strings.CutPrefix(s, "-"); ok {
		d.neg, s = true, rest
	}
	mantissa, exponent := s, ""
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mantissa, exponent = s[:i], s[i+1:]
		if exponent == "" {
			return d, false
		}
	}
	whole, frac, hasFrac := strings.Cut(mantissa, ".")
	if !allDigits(whole) || hasFrac && !allDigits(frac) {
		return d, false
	}
	var exp int64
	if exponent != "" {
		neg := exponent[0] == '-'
		if exponent[0] == '-' || exponent[0] == '+' {
			exponent = exponent[1:]
		}
		if !allDigits(exponent) {
			return d, false
		}
		if exponent = strings.TrimLeft(exponent, "0"); len(exponent) > 15 {
			exp = maxExponent
		} else if exponent != "" {
			exp, _ = strconv.ParseInt(exponent, 10, 64)
			exp = min(exp, maxExponent)
		}
		if neg {
			exp = -exp
		}
	}
	digits := whole + frac
	point := int64(len(whole))
	trimmed := strings.TrimLeft(digits, "0")
	point -= int64(len(digits) - len(trimmed))
	d.digits = strings.TrimRight(trimmed, "0")
	if d.digits == "" {
		d.neg = false
		return d, true
	}
	d.exp = point + exp
	return d, true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func (d decimal) String() string { return d.text }

func (d decimal) isInteger() bool {
	return d.digits == "" || d.exp >= int64(len(d.digits))
}

func (d decimal) sign() int {
	switch {
	case d.digits == "":
		return 0
	case d.neg:
		return -1
	}
	return 1
}

// cmp compares d and e by value: -1, 0 or +1.
func (d decimal) cmp(e decimal) int {
	if ds, es := d.sign(), e.sign(); ds != es || ds == 0 {
		return cmp.Compare(ds, es)
	}
	c := cmp.Compare(d.exp, e.exp)
	if c == 0 {
		c = strings.Compare(d.digits, e.digits)
	}
	if d.neg {
		c = -c
	}
	return c
}
