package fallback

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/runbookdev/runbook/plugins/fallback/internal/draft07"
)

// flagd's own schema for flag files, and the targeting schema it refers to
// by "./targeting.json" (see flagdschema/NOTE).
//
//go:embed flagdschema/flags.json flagdschema/targeting.json
var schemaFiles embed.FS

const (
	flagsSchemaURL     = "https://flagd.dev/schema/v0/flags.json"
	targetingSchemaURL = "https://flagd.dev/schema/v0/targeting.json"
)

// flagdResources are flagd's schema documents, flags.json first.
func flagdResources() ([]draft07.Resource, error) {
	var resources []draft07.Resource
	for _, res := range []struct{ file, url string }{
		{"flagdschema/flags.json", flagsSchemaURL},
		{"flagdschema/targeting.json", targetingSchemaURL},
	} {
		b, err := schemaFiles.ReadFile(res.file)
		if err != nil {
			return nil, fmt.Errorf("flagd schema: %w", err)
		}
		resources = append(resources, draft07.Resource{URL: res.url, Data: b})
	}
	return resources, nil
}

// flagdSchema is the compiled flags.json, compiled when the first flag file
// is read (see package draft07). The schemas are part of the binary, so an
// error here is a bug the tests catch.
var flagdSchema = sync.OnceValues(func() (*draft07.Schema, error) {
	resources, err := flagdResources()
	if err != nil {
		return nil, err
	}
	sch, err := draft07.Compile(resources...)
	if err != nil {
		return nil, fmt.Errorf("flagd schema: %w", err)
	}
	return sch, nil
})

// InvalidFileError is a flag file that is not JSON or does not validate
// against flagd's schema. Such a file is never written.
type InvalidFileError struct {
	// Complaint is the JSON parser's or the schema's message.
	Complaint string
}

func (e *InvalidFileError) Error() string {
	return "not a valid flagd flag file: " + e.Complaint
}

// RouteNotFoundError is a route the flag file has no flag for.
type RouteNotFoundError struct {
	Route  string
	Routes []string // the routes there are, in file order
}

func (e *RouteNotFoundError) Error() string {
	if len(e.Routes) == 0 {
		return fmt.Sprintf("no route %q: the flag file defines no flags", e.Route)
	}
	return fmt.Sprintf("no route %q; routes: %s", e.Route, strings.Join(e.Routes, ", "))
}

// VariantNotFoundError is a variant the route does not have.
type VariantNotFoundError struct {
	Route    string
	Variant  string
	Variants []string // the route's variants, in file order
}

func (e *VariantNotFoundError) Error() string {
	return fmt.Sprintf("route %q has no variant %q; variants: %s", e.Route, e.Variant, strings.Join(e.Variants, ", "))
}

// NotModelRouteError is a flag whose variants are not all strings: a model
// route's variants are model names, so switching it would be a mistake.
type NotModelRouteError struct {
	Route   string
	Variant string
	Value   string // the variant's JSON value, cut short
}

func (e *NotModelRouteError) Error() string {
	return fmt.Sprintf("flag %q is not a model route: variant %q is %s, not a model name (a string)", e.Route, e.Variant, e.Value)
}

// Route is one model route: a flag whose variants name models.
type Route struct {
	Name string
	// State is the flag's state, "ENABLED" or "DISABLED".
	State string
	// Active is the flag's defaultVariant; empty when it has none (absent
	// or null: flagd then serves the application's code default).
	Active string
	// Variants maps variant names to model names.
	Variants map[string]string
	// VariantNames are the variant names in file order.
	VariantNames []string
}

// Model returns the active variant's model, and whether there is one.
func (r *Route) Model() (string, bool) {
	m, ok := r.Variants[r.Active]
	return m, ok && r.Active != ""
}

// checkVariant reports a variant the route does not have.
func (r *Route) checkVariant(variant string) error {
	if _, ok := r.Variants[variant]; !ok {
		return &VariantNotFoundError{Route: r.Name, Variant: variant, Variants: r.VariantNames}
	}
	return nil
}

// with returns a copy of the route with variant active.
func (r *Route) with(variant string) *Route {
	c := *r
	c.Active = variant
	return &c
}

// flagFile is a flagd flag file that parsed and validated, with the byte
// offsets of its flags so that a change rewrites one value and leaves every
// other byte as it was.
type flagFile struct {
	data  []byte
	flags []member // the members of the "flags" object, offsets into data
}

// member is one member of a JSON object: its key and the span of its value.
type member struct {
	key        string
	keyStart   int // offset of the key's opening quote
	start, end int // the value is data[start:end]
}

// parseFlagFile parses and validates a flag file. A file that is not JSON,
// that flagd's schema refuses, or that repeats a key on the way to a flag
// (ambiguous: readers disagree about which one counts) is an
// *InvalidFileError.
func parseFlagFile(data []byte) (*flagFile, error) {
	doc, err := draft07.DecodeJSON(data)
	if err != nil {
		return nil, &InvalidFileError{Complaint: "not JSON: " + err.Error()}
	}
	sch, err := flagdSchema()
	if err != nil {
		return nil, err
	}
	if !sch.Valid(doc) {
		return nil, &InvalidFileError{Complaint: schemaComplaint(sch.Explain(doc))}
	}
	top, err := objectMembers(data, 0, len(data))
	if err != nil {
		return nil, err
	}
	flags := find(top, "flags")
	if flags == nil {
		// The schema requires "flags"; this is a guard, not a case.
		return nil, &InvalidFileError{Complaint: `no "flags" object`}
	}
	members, err := objectMembers(data, flags.start, flags.end)
	if err != nil {
		return nil, err
	}
	return &flagFile{data: data, flags: members}, nil
}

// maxComplaints bounds the lines of a schema complaint.
const maxComplaints = 5

// schemaComplaint is the gist of the schema's failure. flags.json tries
// each flag type in turn (anyOf), so the full failure repeats every problem
// once per flag type; Lines keeps the gist.
func schemaComplaint(err *draft07.Error) string {
	lines := err.Lines()
	if len(lines) > maxComplaints {
		lines = append(lines[:maxComplaints], fmt.Sprintf("… and %d more", len(lines)-maxComplaints))
	}
	return "flagd's schema (" + flagsSchemaURL + ") refuses it:\n- " + strings.Join(lines, "\n- ")
}

// routeNames returns the flags' names in file order.
func (f *flagFile) routeNames() []string {
	names := make([]string, len(f.flags))
	for i, m := range f.flags {
		names[i] = m.key
	}
	return names
}

// flag finds the flag named name and parses its members.
func (f *flagFile) flag(name string) (*member, []member, error) {
	flag := find(f.flags, name)
	if flag == nil {
		return nil, nil, &RouteNotFoundError{Route: name, Routes: f.routeNames()}
	}
	members, err := objectMembers(f.data, flag.start, flag.end)
	if err != nil {
		return nil, nil, err
	}
	return flag, members, nil
}

// route reads the flag named name as a model route.
func (f *flagFile) route(name string) (*Route, error) {
	_, members, err := f.flag(name)
	if err != nil {
		return nil, err
	}
	r := &Route{Name: name, Variants: map[string]string{}}
	if m := find(members, "state"); m != nil {
		if err := json.Unmarshal(f.data[m.start:m.end], &r.State); err != nil {
			return nil, fmt.Errorf("flag %q: state: %w", name, err)
		}
	}
	if m := find(members, "defaultVariant"); m != nil {
		var active *string // null is allowed: no default variant
		if err := json.Unmarshal(f.data[m.start:m.end], &active); err != nil {
			return nil, fmt.Errorf("flag %q: defaultVariant: %w", name, err)
		}
		if active != nil {
			r.Active = *active
		}
	}
	v := find(members, "variants")
	if v == nil {
		return nil, &InvalidFileError{Complaint: fmt.Sprintf("flag %q has no variants", name)}
	}
	variants, err := objectMembers(f.data, v.start, v.end)
	if err != nil {
		return nil, err
	}
	for _, m := range variants {
		raw := f.data[m.start:m.end]
		var model string
		if raw[0] != '"' || json.Unmarshal(raw, &model) != nil {
			return nil, &NotModelRouteError{Route: name, Variant: m.key, Value: cut(string(raw), 40)}
		}
		r.Variants[m.key] = model
		r.VariantNames = append(r.VariantNames, m.key)
	}
	return r, nil
}

// withActive returns the file's bytes with route's defaultVariant set to
// variant: the one value replaced, or the member added after the flag's
// last one, every other byte as it was.
func (f *flagFile) withActive(route, variant string) ([]byte, error) {
	flag, members, err := f.flag(route)
	if err != nil {
		return nil, err
	}
	value, err := jsonString(variant)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.Grow(len(f.data) + len(value) + 32)
	if m := find(members, "defaultVariant"); m != nil {
		out.Write(f.data[:m.start])
		out.Write(value)
		out.Write(f.data[m.end:])
		return out.Bytes(), nil
	}
	if len(members) == 0 {
		// The schema requires state and variants; this is a guard.
		return nil, &InvalidFileError{Complaint: fmt.Sprintf("flag %q is empty", route)}
	}
	// Lay the new member out like the others: the separator of the first
	// two members (or the blanks before the first), the first one's colon.
	first, last := members[0], members[len(members)-1]
	var sep []byte
	if len(members) > 1 {
		gap := f.data[first.end:members[1].keyStart]
		sep = gap[bytes.IndexByte(gap, ',')+1:]
	} else {
		sep = f.data[flag.start+1 : first.keyStart]
		if i := bytes.LastIndexByte(sep, '\n'); i >= 0 {
			sep = sep[i:]
		}
	}
	colon := f.data[first.keyStart:first.start]
	colon = colon[bytes.LastIndexByte(colon, '"')+1:]
	out.Write(f.data[:last.end])
	out.WriteByte(',')
	out.Write(sep)
	out.WriteString(`"defaultVariant"`)
	out.Write(colon)
	out.Write(value)
	out.Write(f.data[last.end:])
	return out.Bytes(), nil
}

// jsonString encodes s as a JSON string, without escaping HTML characters.
func jsonString(s string) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return nil, fmt.Errorf("encode %q: %w", s, err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func find(members []member, key string) *member {
	for i := range members {
		if members[i].key == key {
			return &members[i]
		}
	}
	return nil
}

// objectMembers lists the members of the JSON object data[start:end], with
// offsets into data. A repeated key is an *InvalidFileError.
func objectMembers(data []byte, start, end int) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(data[start:end]))
	tok, err := dec.Token()
	if err != nil {
		return nil, &InvalidFileError{Complaint: "not JSON: " + err.Error()}
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, &InvalidFileError{Complaint: fmt.Sprintf("expected an object at byte %d", start)}
	}
	var members []member
	seen := map[string]bool{}
	for dec.More() {
		prev := int(dec.InputOffset())
		tok, err := dec.Token()
		if err != nil {
			return nil, &InvalidFileError{Complaint: "not JSON: " + err.Error()}
		}
		key, ok := tok.(string)
		if !ok {
			return nil, &InvalidFileError{Complaint: fmt.Sprintf("expected a key at byte %d", start+prev)}
		}
		if seen[key] {
			return nil, &InvalidFileError{Complaint: fmt.Sprintf("key %q appears twice in the object at byte %d; readers disagree on which one counts", key, start)}
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, &InvalidFileError{Complaint: "not JSON: " + err.Error()}
		}
		valEnd := int(dec.InputOffset())
		valStart := valEnd - len(raw)
		if valStart < 0 || !bytes.Equal(data[start+valStart:start+valEnd], raw) {
			return nil, fmt.Errorf("flag file: cannot locate the value of %q", key)
		}
		// The key starts after the separator and blanks that follow the
		// previous value (or the opening brace).
		keyStart := prev + bytes.IndexFunc(data[start+prev:start+valEnd], func(r rune) bool {
			return r != ',' && r != ' ' && r != '\t' && r != '\n' && r != '\r'
		})
		members = append(members, member{key: key, keyStart: start + keyStart, start: start + valStart, end: start + valEnd})
	}
	if _, err := dec.Token(); err != nil && !errors.Is(err, io.EOF) {
		return nil, &InvalidFileError{Complaint: "not JSON: " + err.Error()}
	}
	return members, nil
}

// cut shortens s to at most n runes.
func cut(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
