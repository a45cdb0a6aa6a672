package fallback

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"

	"github.com/runbookdev/runbook/plugins/fallback/internal/draft07"
)

// The validator of package draft07 is held to github.com/santhosh-tekuri/
// jsonschema/v6, the library it replaces, here only: a test dependency
// stays out of the binary. Both must give the same verdict, and the same
// complaint lines (see sameLines), on flagd's test files, on the edge cases
// below and on fuzzed input (FuzzSchemaAgreement).

// referenceCompile compiles the resources with the library and returns the
// first one's schema.
func referenceCompile(resources ...draft07.Resource) (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	for _, r := range resources {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(r.Data))
		if err != nil {
			return nil, err
		}
		if err := c.AddResource(r.URL, doc); err != nil {
			return nil, err
		}
	}
	return c.Compile(resources[0].URL)
}

func testFlagdResources(t testing.TB) []draft07.Resource {
	t.Helper()
	resources, err := flagdResources()
	if err != nil {
		t.Fatal(err)
	}
	return resources
}

// referenceFlagdSchema is flagd's schema compiled by the library.
var referenceFlagdSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	resources, err := flagdResources()
	if err != nil {
		return nil, err
	}
	return referenceCompile(resources...)
})

// referenceLines are the complaint lines the package made with the library:
// Lines on the library's error tree.
func referenceLines(err error) []string {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []string{err.Error()}
	}
	failed := map[*jsonschema.ValidationError]int{}
	var closest func(e *jsonschema.ValidationError) []*jsonschema.ValidationError
	var failures func(e *jsonschema.ValidationError) int
	closest = func(e *jsonschema.ValidationError) []*jsonschema.ValidationError {
		switch e.ErrorKind.(type) {
		case *kind.AnyOf, *kind.OneOf:
		default:
			return e.Causes
		}
		best := -1
		var list []*jsonschema.ValidationError
		for _, cause := range e.Causes {
			switch n := failures(cause); {
			case best < 0 || n < best:
				best, list = n, []*jsonschema.ValidationError{cause}
			case n == best:
				list = append(list, cause)
			}
		}
		return list
	}
	failures = func(e *jsonschema.ValidationError) int {
		if len(e.Causes) == 0 {
			return 1
		}
		if n, ok := failed[e]; ok {
			return n
		}
		n := 0
		for _, cause := range closest(e) {
			n += failures(cause)
		}
		failed[e] = n
		return n
	}
	var lines []string
	seen := map[string]bool{}
	var collect func(*jsonschema.ValidationError)
	collect = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			if msg := e.Error(); !seen[msg] {
				seen[msg] = true
				lines = append(lines, msg)
			}
			return
		}
		for _, cause := range closest(e) {
			collect(cause)
		}
	}
	collect(ve)
	return lines
}

var (
	// The library lists additional properties in map order.
	additionalRE = regexp.MustCompile(`^(.*: additional properties )(.*)( not allowed)$`)
	// The library prints a minimum's numbers as float64 values, this
	// validator as written.
	minimumRE = regexp.MustCompile(`^(.*: minimum: got ).*$`)
	// The library prints counts with thousands separators.
	thousandsRE = regexp.MustCompile(`(\d),(\d\d\d)\b`)
)

// normalized sorts complaint lines and irons out the differences of form
// listed above.
func normalized(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		if m := additionalRE.FindStringSubmatch(l); m != nil {
			names := strings.Split(m[2][1:len(m[2])-1], "', '")
			slices.Sort(names)
			l = m[1] + "'" + strings.Join(names, "', '") + "'" + m[3]
		}
		l = minimumRE.ReplaceAllString(l, "${1}N")
		l = thousandsRE.ReplaceAllString(l, "$1$2")
		out[i] = l
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// verdict is a document's verdict and both validators' complaint lines.
type verdict struct {
	valid     bool
	lines     []string // this validator's
	reference []string // the library's
}

// compare validates data with this validator's sch and the library's ref.
// It fails the test if they disagree on whether data is JSON, or on the
// verdict but for the library's quirk (then it returns false), or if this
// validator's quick and full validations disagree, or it refuses without a
// located complaint.
func compare(t testing.TB, sch *draft07.Schema, ref *jsonschema.Schema, data []byte) (verdict, bool) {
	t.Helper()
	doc, err := draft07.DecodeJSON(data)
	refDoc, refErr := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if (err == nil) != (refErr == nil) {
		t.Fatalf("decoding %q: %v; the library: %v", data, err, refErr)
	}
	if err != nil {
		return verdict{}, false
	}
	valid := sch.Valid(doc)
	explained := sch.Explain(doc)
	if valid != (explained == nil) {
		t.Fatalf("%s: valid says %v, explain says %v", data, valid, explained)
	}
	refErr = ref.Validate(refDoc)
	v := verdict{valid: valid}
	if !valid {
		v.lines = explained.Lines()
		if len(v.lines) == 0 {
			t.Fatalf("%s: invalid without a complaint", data)
		}
		for _, l := range v.lines {
			if !strings.HasPrefix(l, "at '") {
				t.Fatalf("%s: complaint %q has no location", data, l)
			}
		}
	}
	if refErr != nil {
		v.reference = referenceLines(refErr)
	}
	if valid != (refErr == nil) {
		if quirk := referenceQuirk(refDoc); quirk != "" {
			t.Logf("%s: verdicts differ (%v, the library %v) by the library's quirk: %s", data, valid, refErr == nil, quirk)
			return v, false
		}
		t.Fatalf("%s: valid = %v, the library says %v:\n%s\n%v", data, valid, refErr == nil, strings.Join(v.lines, "\n"), refErr)
	}
	return v, true
}

// sameLines fails the test unless both validators complain alike.
func sameLines(t testing.TB, data []byte, v verdict) {
	t.Helper()
	if got, want := normalized(v.lines), normalized(v.reference); !slices.Equal(got, want) {
		t.Fatalf("%s: complaint lines\n%s\nthe library's\n%s", data, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// referenceQuirk explains a verdict of the library's this validator does
// not share, or is "". The library reads numbers with big.Rat.SetString,
// which refuses a decimal exponent beyond a million (1e1000001, or
// 1.000…0 with more than a million zeros): such a number is then no
// integer for it, though it is one (draft-07: a number whose fractional
// part is zero), as it is for this validator.
func referenceQuirk(doc any) string {
	switch v := doc.(type) {
	case json.Number:
		if _, ok := new(big.Rat).SetString(string(v)); !ok {
			return fmt.Sprintf("big.Rat cannot read %s", v)
		}
	case []any:
		for _, item := range v {
			if q := referenceQuirk(item); q != "" {
				return q
			}
		}
	case map[string]any:
		for _, item := range v {
			if q := referenceQuirk(item); q != "" {
				return q
			}
		}
	}
	return ""
}

func flagdSchemas(t testing.TB) (*draft07.Schema, *jsonschema.Schema) {
	t.Helper()
	sch, err := flagdSchema()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := referenceFlagdSchema()
	if err != nil {
		t.Fatal(err)
	}
	return sch, ref
}

// flag is a valid flag with the members given replacing or adding to its
// own, in a flag file.
func flag(members string) string {
	if members != "" {
		members = ", " + members
	}
	return `{"flags": {"f": {"state": "ENABLED", "variants": {"on": true, "off": false}` + members + `}}}`
}

// rule is a flag file with one flag targeted by rule.
func rule(rule string) string {
	return flag(`"targeting": ` + rule)
}

// flagdCases are flag files on the edges of flagd's schema, and whether
// it accepts them.
var flagdCases = []struct {
	name, file string
	valid      bool
}{
	{"empty object", `{}`, false},
	{"array", `[]`, false},
	{"string", `"flags"`, false},
	{"no flags", `{"flags": {}}`, true},
	{"flags array", `{"flags": []}`, false},
	{"unknown top-level member", `{"flags": {}, "extra": 1}`, true},
	{"$schema member", `{"$schema": "https://flagd.dev/schema/v0/flags.json", "flags": {}}`, true},
	{"flag set metadata", `{"flags": {}, "metadata": {"flagSetId": "a", "version": "1", "n": 1.5, "b": false}}`, true},
	// metadata's properties are siblings of its $ref: ignored (draft-07).
	{"flag set id a number", `{"flags": {}, "metadata": {"flagSetId": 1}}`, true},
	{"flag set metadata null", `{"flags": {}, "metadata": {"x": null}}`, false},
	{"flag set metadata array", `{"flags": {}, "metadata": []}`, false},
	{"flag set metadata object value", `{"flags": {}, "metadata": {"x": {}}}`, false},
	{"evaluators", `{"flags": {}, "$evaluators": {"r": {"in": ["a", ["a", "b"]]}}}`, true},
	{"empty evaluator", `{"flags": {}, "$evaluators": {"r": {}}}`, true},
	{"bad evaluator", `{"flags": {}, "$evaluators": {"r": {"bogus": 1}}}`, false},
	{"evaluator without name", `{"flags": {}, "$evaluators": {"": {}}}`, false},
	{"evaluators array", `{"flags": {}, "$evaluators": []}`, false},

	{"flag", flag(``), true},
	{"flag not an object", `{"flags": {"f": 1}}`, false},
	{"flag without name", `{"flags": {"": {"state": "ENABLED", "variants": {"on": true}}}}`, false},
	{"flag name with a newline", `{"flags": {"a\nb": {"state": "ENABLED", "variants": {"on": true}}}}`, false},
	// RE2's "." matches "\r", ECMA 262's does not: both validators accept.
	{"flag name with a carriage return", `{"flags": {"a\rb": {"state": "ENABLED", "variants": {"on": true}}}}`, true},
	{"flag name unicode", `{"flags": {"é😀": {"state": "ENABLED", "variants": {"on": true}}}}`, true},
	{"disabled", `{"flags": {"f": {"state": "DISABLED", "variants": {"on": true}}}}`, true},
	{"state lower case", `{"flags": {"f": {"state": "enabled", "variants": {"on": true}}}}`, false},
	{"state a number", `{"flags": {"f": {"state": 1, "variants": {"on": true}}}}`, false},
	{"no state", `{"flags": {"f": {"variants": {"on": true}}}}`, false},
	{"no variants", `{"flags": {"f": {"state": "ENABLED"}}}`, false},
	{"nothing", `{"flags": {"f": {}}}`, false},
	{"default variant", flag(`"defaultVariant": "on"`), true},
	{"null default variant", flag(`"defaultVariant": null`), true},
	{"default variant a number", flag(`"defaultVariant": 1`), false},
	{"default variant a boolean", flag(`"defaultVariant": true`), false},
	{"empty variants", `{"flags": {"f": {"state": "ENABLED", "variants": {}}}}`, false},
	{"variants an array", `{"flags": {"f": {"state": "ENABLED", "variants": [true]}}}`, false},
	{"variant without name", `{"flags": {"f": {"state": "ENABLED", "variants": {"": true}}}}`, false},
	{"variant name a newline", `{"flags": {"f": {"state": "ENABLED", "variants": {"\n": true}}}}`, false},
	{"string variants", `{"flags": {"f": {"state": "ENABLED", "variants": {"a": "x", "b": ""}}}}`, true},
	{"number variants", `{"flags": {"f": {"state": "ENABLED", "variants": {"a": 1, "b": -1.5e-300, "c": 1e400, "d": 123456789012345678901234567890}}}}`, true},
	{"object variants", `{"flags": {"f": {"state": "ENABLED", "variants": {"a": {}, "b": {"x": [1]}}}}}`, true},
	{"array variants", `{"flags": {"f": {"state": "ENABLED", "variants": {"a": [], "b": [1]}}}}`, false},
	{"null variant", `{"flags": {"f": {"state": "ENABLED", "variants": {"a": null}}}}`, false},
	{"mixed variants", `{"flags": {"f": {"state": "ENABLED", "variants": {"a": 1, "b": "1"}}}}`, false},
	{"flag metadata", flag(`"metadata": {"a": true, "b": 1, "c": "s"}`), true},
	{"flag metadata object value", flag(`"metadata": {"a": {}}`), false},
	{"unknown flag member", flag(`"extra": [1]`), true},

	{"empty targeting", rule(`{}`), true},
	{"targeting an array", rule(`[]`), false},
	{"targeting a string", rule(`"on"`), false},
	{"targeting null", rule(`null`), false},
	{"unknown rule", rule(`{"nope": [1, 2]}`), false},
	{"rule without name", rule(`{"": 1}`), false},
	{"if", rule(`{"if": [true, "on", "off"]}`), true},
	{"if without arguments", rule(`{"if": []}`), false},
	{"two rules in one", rule(`{"if": [true, "on"], "or": [true]}`), false},
	{"var flagd timestamp", rule(`{"var": "$flagd.timestamp"}`), true},
	{"var flagd flag key", rule(`{"var": "$flagd.flagKey"}`), true},
	{"var other flagd key", rule(`{"var": "$flagd.other"}`), false},
	{"var flagd prefix only", rule(`{"var": "$flagd."}`), false},
	{"var flagd and a newline", rule(`{"var": "$flagd.\n"}`), true},
	{"var flagd without dot", rule(`{"var": "$flagdx"}`), true},
	{"var", rule(`{"var": "user.email"}`), true},
	{"var empty", rule(`{"var": ""}`), true},
	{"var with default", rule(`{"var": ["a", null]}`), true},
	{"var with defaults", rule(`{"var": ["a", 1, true, "x"]}`), true},
	// var's second alternative, not a string "$flagd.…", takes anything
	// else, so its third, the array with a default, never decides.
	{"var a number", rule(`{"var": 1}`), true},
	{"var with an object default", rule(`{"var": ["a", {}]}`), true},
	{"var empty array", rule(`{"var": []}`), true},
	{"var object", rule(`{"var": {"nope": 1}}`), true},
	{"var flagd in an array", rule(`{"var": ["$flagd.other"]}`), true},
	{"missing", rule(`{"missing": ["a", "b"]}`), true},
	{"missing none", rule(`{"missing": []}`), true},
	{"missing a number", rule(`{"missing": ["a", 1]}`), false},
	{"missing not an array", rule(`{"missing": "a"}`), false},
	{"missing_some", rule(`{"missing_some": [1, ["a", "b"]]}`), true},
	{"missing_some three", rule(`{"missing_some": [1, ["a"], 3]}`), false},
	{"missing_some one", rule(`{"missing_some": [1]}`), false},
	{"missing_some string count", rule(`{"missing_some": ["1", ["a"]]}`), false},
	{"missing_some number keys", rule(`{"missing_some": [1, [2]]}`), false},
	{"equality", rule(`{"==": [1, 2]}`), true},
	{"equality of one", rule(`{"==": [1]}`), false},
	{"equality of three", rule(`{"===": [1, 2, 3]}`), false},
	{"between", rule(`{"<": [1, 2, 3]}`), true},
	{"between four", rule(`{"<=": [1, 2, 3, 4]}`), false},
	{"substr", rule(`{"substr": ["abc", -2]}`), true},
	{"reduce", rule(`{"reduce": [[1, 2], {"+": [{"var": "current"}, {"var": "accumulator"}]}, 0]}`), true},
	{"reduce of two", rule(`{"reduce": [[1, 2], 0]}`), false},
	{"multiplication of one", rule(`{"*": [1]}`), false},
	{"multiplication", rule(`{"*": [1, 2, 3]}`), true},
	{"negation", rule(`{"!": true}`), true},
	{"negation of one", rule(`{"!": [true]}`), true},
	{"negation of an empty array", rule(`{"!": []}`), true},
	{"negation of two", rule(`{"!": [true, false]}`), true},
	{"negation of an object", rule(`{"!": {"var": "x"}}`), true},
	{"negation of an unknown rule", rule(`{"!": {"nope": 1}}`), false},
	{"starts_with", rule(`{"starts_with": [{"var": "email"}, "abc"]}`), true},
	{"ends_with one", rule(`{"ends_with": ["a"]}`), false},
	{"ends_with a number", rule(`{"ends_with": ["a", 1]}`), false},
	{"sem_ver", rule(`{"sem_ver": ["1.2.3", ">=", "1.0.0"]}`), true},
	{"sem_ver var", rule(`{"sem_ver": [{"var": "v"}, "^", "1.0.0-rc.1+build.5"]}`), true},
	{"sem_ver short", rule(`{"sem_ver": ["1.2", ">=", "1.0.0"]}`), false},
	{"sem_ver leading zero", rule(`{"sem_ver": ["01.2.3", ">=", "1.0.0"]}`), false},
	{"sem_ver bad operator", rule(`{"sem_ver": ["1.2.3", "=>", "1.0.0"]}`), false},
	{"sem_ver two", rule(`{"sem_ver": ["1.2.3", "="]}`), false},
	{"sem_ver bad rule", rule(`{"sem_ver": [{"missing": ["v"]}, "=", "1.0.0"]}`), false},
	{"fractional", rule(`{"fractional": [["on", 50], ["off", 50]]}`), true},
	{"fractional bucketed", rule(`{"fractional": [{"var": "id"}, ["on", 50], ["off", 50]]}`), true},
	{"fractional bucketed, more", rule(`{"fractional": [{"cat": ["a", {"var": "id"}]}, ["on", 1], ["off", 1], ["x", 1], ["y"]]}`), true},
	{"fractional bucketed, bad extra", rule(`{"fractional": [{"var": "id"}, ["on", 1], ["off", 1], ["x", -1]]}`), false},
	{"fractional no weight", rule(`{"fractional": [["on"], ["off"]]}`), true},
	{"fractional three", rule(`{"fractional": [["on", 1, 2]]}`), false},
	{"fractional empty", rule(`{"fractional": []}`), false},
	{"fractional empty weight arg", rule(`{"fractional": [[]]}`), false},
	{"fractional weight 1.0", rule(`{"fractional": [["on", 1.0]]}`), true},
	{"fractional weight 1e2", rule(`{"fractional": [["on", 1e2]]}`), true},
	{"fractional weight 1.5e1", rule(`{"fractional": [["on", 1.5e1]]}`), true},
	{"fractional weight 100e-2", rule(`{"fractional": [["on", 100e-2]]}`), true},
	{"fractional weight 1e400", rule(`{"fractional": [["on", 1e400]]}`), true},
	{"fractional weight huge", rule(`{"fractional": [["on", 123456789012345678901234567890]]}`), true},
	{"fractional weight 0", rule(`{"fractional": [["on", 0]]}`), true},
	{"fractional weight -0", rule(`{"fractional": [["on", -0]]}`), true},
	{"fractional weight -0.0", rule(`{"fractional": [["on", -0.0e5]]}`), true},
	{"fractional weight 1.5", rule(`{"fractional": [["on", 1.5]]}`), false},
	{"fractional weight 1e-1", rule(`{"fractional": [["on", 1e-1]]}`), false},
	{"fractional weight -1", rule(`{"fractional": [["on", -1]]}`), false},
	{"fractional weight -1e400", rule(`{"fractional": [["on", -1e400]]}`), false},
	{"fractional weight -1e-400", rule(`{"fractional": [["on", -1e-400]]}`), false},
	{"fractional weight a string", rule(`{"fractional": [["on", "1"]]}`), false},
	{"fractional weight a rule", rule(`{"fractional": [["on", {"var": "w"}]]}`), true},
	{"fractional weight an empty rule", rule(`{"fractional": [["on", {}]]}`), true},
	{"fractional variant a rule", rule(`{"fractional": [[{"if": [true, "on", "off"]}, 1]]}`), true},
	// {} is both a reference and a var rule with no var: oneOf fails.
	{"argument both a reference and a rule", rule(`{"if": [{}, "on", "off"]}`), false},
	{"reference", rule(`{"if": [{"$ref": "r"}, "on", "off"]}`), true},
	{"reference a number", rule(`{"if": [{"$ref": 1}, "on", "off"]}`), false},
	{"nested", rule(`{"if": [{"and": [{"in": ["@x", {"var": "email"}]}, {"!": {"var": "beta"}}]}, {"if": [{">": [{"var": "age"}, 18]}, "on", "off"]}, null]}`), true},
	{"nested bad", rule(`{"if": [{"and": [{"in": ["@x", {"var": "email"}]}, {"!": {"var": "beta"}}]}, {"if": [{">": [{"var": "age"}]}, "on", "off"]}, null]}`), false},
}

// TestSchemaAgreesWithReference validates flagd's test files and the edge
// cases with both validators.
func TestSchemaAgreesWithReference(t *testing.T) {
	sch, ref := flagdSchemas(t)
	for _, dir := range []string{"positive", "negative"} {
		files, err := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no test files in testdata/%s: %v", dir, err)
		}
		for _, file := range files {
			t.Run(dir+"/"+filepath.Base(file), func(t *testing.T) {
				data, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				v, ok := compare(t, sch, ref, data)
				if !ok || v.valid != (dir == "positive") {
					t.Fatalf("valid = %v in testdata/%s", v.valid, dir)
				}
				sameLines(t, data, v)
			})
		}
	}
	for _, tc := range flagdCases {
		t.Run(tc.name, func(t *testing.T) {
			v, ok := compare(t, sch, ref, []byte(tc.file))
			if !ok {
				t.Fatal("not compared")
			}
			if v.valid != tc.valid {
				t.Fatalf("valid = %v, want %v: %s\n%s", v.valid, tc.valid, tc.file, strings.Join(v.lines, "\n"))
			}
			sameLines(t, []byte(tc.file), v)
		})
	}
}

// keywordCases are schemas of one or two keywords, and values on their edges.
var keywordCases = []struct {
	schema  string
	valid   []string
	invalid []string
}{
	{`{"type": "integer"}`,
		[]string{`1`, `-1`, `0`, `-0`, `1.0`, `1e2`, `1E+2`, `1.10e1`, `100e-2`, `1e400`, `12345678901234567890.000`, `0.0e-7`},
		[]string{`1.5`, `1e-2`, `-1.5e-400`, `"1"`, `null`, `true`, `[]`, `{}`, `1.00000000000000000001`}},
	{`{"type": "number"}`, []string{`1`, `1.5`, `-1e-400`}, []string{`"1"`, `null`, `[1]`}},
	{`{"type": ["string", "null"]}`, []string{`"a"`, `null`}, []string{`1`, `false`, `{}`}},
	{`{"type": ["integer", "boolean"]}`, []string{`1`, `true`, `2.0`}, []string{`1.5`, `"a"`}},
	{`{"type": "object"}`, []string{`{}`}, []string{`[]`, `"{}"`}},
	{`{"type": "array"}`, []string{`[]`, `[[]]`}, []string{`{}`}},
	{`{"enum": ["a", 1, null, true, [1], {"a": 1}]}`,
		[]string{`"a"`, `1`, `1.0`, `10e-1`, `null`, `true`, `[1]`, `[1.0]`, `{"a": 1}`},
		[]string{`"b"`, `"1"`, `2`, `false`, `[]`, `[1, 1]`, `{"a": 2}`, `{"a": 1, "b": 1}`, `{}`}},
	{`{"enum": ["x"]}`, []string{`"x"`}, []string{`"y"`, `1`}},
	{`{"minLength": 2}`,
		[]string{`"ab"`, `"éé"`, `"😀😀"`, `1`, `null`},
		[]string{`""`, `"a"`, `"é"`, `"😀"`, `"\u0000"`}},
	{`{"minLength": 0}`, []string{`""`}, nil},
	{`{"pattern": "^a+$"}`, []string{`"aaa"`, `1`, `[]`}, []string{`"ab"`, `""`, `"a\n"`}},
	{`{"pattern": "^.{1,}$"}`, []string{`"x"`, `"\r"`, `"\u2028"`, `"😀"`}, []string{`""`, `"\n"`, `"a\nb"`}},
	{`{"pattern": "b"}`, []string{`"abc"`}, []string{`"ac"`}},
	{`{"minimum": 0}`,
		[]string{`0`, `-0`, `0.0`, `5`, `1e-400`, `1e400`, `"-1"`, `null`},
		[]string{`-1`, `-0.0001`, `-1e-400`, `-1e400`}},
	{`{"minimum": -1.5}`, []string{`-1.5`, `-1.50`, `-15e-1`, `-1.4999`, `0`}, []string{`-1.6`, `-2`, `-1.5000001`}},
	{`{"minimum": 1e2}`, []string{`100`, `100.5`, `1e3`}, []string{`99.999`, `99`, `-100`}},
	{`{"minProperties": 1}`, []string{`{"a": 1}`, `[]`, `"x"`}, []string{`{}`}},
	{`{"required": ["a", "b"]}`, []string{`{"a": 1, "b": null}`, `[]`}, []string{`{}`, `{"a": 1}`, `{"b": 1}`}},
	{`{"properties": {"a": {"type": "string"}}, "additionalProperties": false}`,
		[]string{`{}`, `{"a": "x"}`, `1`},
		[]string{`{"a": 1}`, `{"b": 1}`, `{"a": "x", "b": 1, "c": 2}`}},
	{`{"additionalProperties": {"type": "number"}}`, []string{`{"x": 1}`, `{}`}, []string{`{"x": "1"}`, `{"x": 1, "y": null}`}},
	{`{"additionalProperties": true}`, []string{`{"x": 1}`}, nil},
	{`{"patternProperties": {"^x": {"type": "string"}, "y$": {"minLength": 2}}, "additionalProperties": false}`,
		[]string{`{"xy": "ab"}`, `{"x": "a", "yy": "ab"}`, `{}`},
		[]string{`{"xy": "a"}`, `{"xy": 1}`, `{"z": 1}`, `{"x": 1, "z": 1}`}},
	{`{"properties": {"a": {"minimum": 1}}, "patternProperties": {"a": {"type": "integer"}}}`,
		[]string{`{"a": 1}`, `{"ab": 2}`, `{"b": 0.5}`}, []string{`{"a": 0}`, `{"a": 1.5}`, `{"a": 0.5}`, `{"ba": 0.5}`}},
	{`{"items": {"type": "string"}}`, []string{`[]`, `["a", "b"]`, `{}`}, []string{`[1]`, `["a", 1]`}},
	{`{"items": [{"type": "string"}, {"type": "number"}]}`,
		[]string{`[]`, `["a"]`, `["a", 1]`, `["a", 1, true]`},
		[]string{`[1]`, `["a", "b"]`}},
	{`{"items": [{"type": "string"}], "additionalItems": false}`, []string{`[]`, `["a"]`}, []string{`["a", "b"]`, `[1, 2, 3]`}},
	{`{"items": [{"type": "string"}], "additionalItems": {"type": "null"}}`,
		[]string{`["a"]`, `["a", null, null]`},
		[]string{`["a", 1]`, `["a", null, 1]`, `[1, null]`}},
	{`{"items": [{"type": "string"}], "additionalItems": true}`, []string{`["a", 1]`}, nil},
	// additionalItems means nothing without an items array.
	{`{"items": {"type": "string"}, "additionalItems": false}`, []string{`["a", "b"]`}, []string{`[1]`}},
	{`{"additionalItems": false}`, []string{`[1, 2]`}, nil},
	{`{"items": false}`, []string{`[]`, `{}`}, []string{`[1]`}},
	{`{"minItems": 2, "maxItems": 3}`, []string{`[1, 2]`, `[1, 2, 3]`, `"x"`}, []string{`[]`, `[1]`, `[1, 2, 3, 4]`}},
	{`{"maxItems": 0}`, []string{`[]`}, []string{`[1]`}},
	{`{"allOf": [{"type": "number"}, {"minimum": 0}]}`, []string{`1`, `0`}, []string{`-1`, `"a"`}},
	{`{"anyOf": [{"type": "string"}, {"minimum": 0}]}`, []string{`"a"`, `1`, `null`}, []string{`-1`}},
	{`{"anyOf": [{"type": "string"}, {"type": "number"}]}`, []string{`"a"`, `1`}, []string{`null`, `[]`}},
	{`{"oneOf": [{"type": "number"}, {"minimum": 0}]}`, []string{`-1`, `"a"`}, []string{`1`, `0`}},
	{`{"oneOf": [{"type": "string"}, {"type": "number"}, {"type": "integer"}]}`, []string{`"a"`, `1.5`}, []string{`1`, `null`}},
	{`{"oneOf": [{"minimum": 0}, {"minimum": 1}, {"minimum": 2}]}`, []string{`0.5`}, []string{`1`, `3`}},
	{`{"not": {"type": "string"}}`, []string{`1`, `null`}, []string{`"a"`}},
	{`{"not": {"not": {"type": "string"}}}`, []string{`"a"`}, []string{`1`}},
	{`{"not": {}}`, nil, []string{`1`, `{}`}},
	{`{"properties": {"a": false, "b": true}}`, []string{`{}`, `{"b": 1}`}, []string{`{"a": 1}`}},
	{`{"$ref": "#/definitions/a", "type": "string", "minLength": 9, "definitions": {"a": {"type": "number"}}}`,
		[]string{`1`}, []string{`"x"`, `"longer than nine"`}},
	{`{"definitions": {"a/b": {"type": "string"}, "c~d": {"minLength": 2}, "e%f": {"pattern": "x"}}, "allOf": [{"$ref": "#/definitions/a~1b"}, {"$ref": "#/definitions/c~0d"}, {"$ref": "#/definitions/e%25f"}]}`,
		[]string{`"xx"`}, []string{`"ab"`, `"x"`, `1`}},
	{`{"definitions": {"list": {"type": "array", "items": {"$ref": "#"}}}, "anyOf": [{"type": "string"}, {"$ref": "#/definitions/list"}]}`,
		[]string{`"a"`, `[]`, `["a", ["b", []]]`}, []string{`1`, `["a", [1]]`}},
	{`{"items": [{"type": "string"}, {"type": "number"}], "additionalItems": {"$ref": "#/items/0"}}`,
		[]string{`["a", 1, "b"]`}, []string{`["a", 1, 2]`}},
	{`{"$comment": "c", "title": "t", "description": "d"}`, []string{`1`, `{}`}, nil},
	{`true`, []string{`1`, `{}`}, nil},
	{`false`, nil, []string{`1`, `{}`, `null`}},
}

// keywordSchema is the schema of a keyword case, a draft-07 document.
func keywordSchema(schema string) []draft07.Resource {
	if strings.HasPrefix(schema, "{") && !strings.Contains(schema, `"$schema"`) {
		schema = `{"$schema": "` + draft07.SchemaURI + `", ` + schema[1:]
	}
	return []draft07.Resource{{URL: "https://flagd.dev/schema/v0/test.json", Data: []byte(schema)}}
}

// TestKeywordsAgreeWithReference validates the keyword cases with both
// validators, and the cross-file $ref forms flagd's schema uses.
func TestKeywordsAgreeWithReference(t *testing.T) {
	run := func(t *testing.T, resources []draft07.Resource, valid, invalid []string) {
		sch, err := draft07.Compile(resources...)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := referenceCompile(resources...)
		if err != nil {
			t.Fatalf("the library: %v", err)
		}
		for _, want := range []bool{true, false} {
			values := valid
			if !want {
				values = invalid
			}
			for _, value := range values {
				v, ok := compare(t, sch, ref, []byte(value))
				if !ok {
					t.Fatalf("%s: not compared", value)
				}
				if v.valid != want {
					t.Errorf("%s: valid = %v, want %v\n%s", value, v.valid, want, strings.Join(v.lines, "\n"))
				}
				sameLines(t, []byte(value), v)
			}
		}
	}
	for _, tc := range keywordCases {
		t.Run(tc.schema, func(t *testing.T) {
			run(t, keywordSchema(tc.schema), tc.valid, tc.invalid)
		})
	}
	t.Run("cross-file", func(t *testing.T) {
		main := `{"$id": "https://flagd.dev/schema/v0/main.json", "$schema": "` + draft07.SchemaURI + `",
			"properties": {"a": {"$ref": "./other.json"}, "b": {"$ref": "./other.json#/definitions/n"}, "c": {"$ref": "other.json#/definitions/n"}}}`
		other := `{"$id": "https://flagd.dev/schema/v0/other.json", "$schema": "` + draft07.SchemaURI + `",
			"type": "string", "definitions": {"n": {"type": "number", "minimum": 1}}}`
		run(t, []draft07.Resource{
			{URL: "https://flagd.dev/schema/v0/main.json", Data: []byte(main)},
			{URL: "https://flagd.dev/schema/v0/other.json", Data: []byte(other)},
		}, []string{`{}`, `{"a": "x", "b": 1, "c": 2}`}, []string{`{"a": 1}`, `{"b": "1"}`, `{"c": 0}`})
	})
}

// TestCompileSchemaRefuses: what the validator does not implement, it
// refuses to compile rather than ignore.
func TestCompileSchemaRefuses(t *testing.T) {
	const url = "https://flagd.dev/schema/v0/test.json"
	tests := []struct{ schema, want string }{
		{`{"maxLength": 3}`, `keyword "maxLength" is not implemented`},
		{`{"type": "string"}`, `$schema: a document must declare ` + draft07.SchemaURI},
		{`{"format": "email"}`, `keyword "format" is not implemented`},
		{`{"const": 1}`, `keyword "const" is not implemented`},
		{`{"if": {}, "then": {}}`, `keyword "if" is not implemented`},
		{`{"uniqueItems": true}`, `keyword "uniqueItems" is not implemented`},
		{`{"propertyNames": {}}`, `keyword "propertyNames" is not implemented`},
		{`{"examples": []}`, `keyword "examples" is not implemented`},
		{`{"definitions": {"unused": {"items": {"contains": {}}}}}`, `#/definitions/unused/items: keyword "contains" is not implemented`},
		{`{"$ref": "#/definitions/a", "maximum": 1, "definitions": {"a": {}}}`, `keyword "maximum" is not implemented`},
		{`{"properties": {"a": {"$id": "https://example.test/a.json"}}}`, `$id`},
		{`{"$id": "https://example.test/other.json"}`, `$id`},
		{`{"$schema": "http://json-schema.org/draft-04/schema#"}`, `$schema`},
		{`{"properties": {"a": {"$schema": "http://json-schema.org/draft-07/schema#"}}}`, `$schema`},
		{`{"$ref": "#foo"}`, `only JSON pointer fragments`},
		{`{"$ref": "./elsewhere.json"}`, `no document https://flagd.dev/schema/v0/elsewhere.json`},
		{`{"$ref": "#/definitions/missing"}`, `nothing there`},
		{`{"$ref": "#/definitions/a~2b", "definitions": {"a~2b": {}}}`, `bad JSON pointer`},
		{`{"$ref": "#/definitions/a~", "definitions": {"a~": {}}}`, `bad JSON pointer`},
		{`{"$ref": "#/allOf/01", "allOf": [{}, {}]}`, `nothing there`},
		{`{"$ref": 1}`, `$ref is not a string`},
		{`{"pattern": "(?=a)"}`, `pattern: error parsing regexp`},
		{`{"patternProperties": {"(": {}}}`, `patternProperties: error parsing regexp`},
		{`{"type": "int"}`, `type int: not a type name`},
		{`{"type": []}`, `type: an empty array`},
		{`{"type": ["string", "string"]}`, `distinct type names`},
		{`{"minLength": -1}`, `minLength is not a non-negative integer`},
		{`{"minItems": 1.5}`, `minItems is not a non-negative integer`},
		{`{"minimum": "0"}`, `minimum is not a number`},
		{`{"enum": []}`, `enum is not a non-empty array`},
		{`{"anyOf": []}`, `anyOf is not a non-empty array of schemas`},
		{`{"required": ["a", "a"]}`, `required is not an array of distinct strings`},
		{`{"properties": {"a": 1}}`, `#/properties/a: a number, not a schema`},
		{`{"title": 1}`, `title is not a string`},
		{`{"$ref": "#"}`, `applies itself to the same value`},
		{`{"allOf": [{"not": {"$ref": "#"}}]}`, `applies itself to the same value`},
		{`{"definitions": {"a": {"$ref": "#/definitions/b"}, "b": {"oneOf": [{"$ref": "#/definitions/a"}]}}}`, `applies itself to the same value`},
	}
	for _, tt := range tests {
		t.Run(tt.schema, func(t *testing.T) {
			r := keywordSchema(tt.schema)
			if strings.Contains(tt.want, "must declare") {
				r = []draft07.Resource{{URL: url, Data: []byte(tt.schema)}}
			}
			_, err := draft07.Compile(r...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	// A schema that applies itself to a property's value is no cycle.
	if _, err := draft07.Compile(keywordSchema(`{"properties": {"a": {"$ref": "#"}}, "items": {"anyOf": [{"$ref": "#"}]}}`)...); err != nil {
		t.Errorf("recursion through a property: %v", err)
	}
}

// A flagd schema update that uses a keyword the validator does not
// implement makes the flagd schema fail to compile, loudly.
func TestFlagdSchemaWithNewKeywordRefused(t *testing.T) {
	resources := testFlagdResources(t)
	if _, err := draft07.Compile(resources...); err != nil {
		t.Fatalf("flagd's schema: %v", err)
	}
	for i, edit := range []struct{ old, new string }{
		{`"minItems": 1,`, `"minItems": 1, "uniqueItems": true,`},
		{`"minProperties": 1,`, `"minProperties": 1, "maxProperties": 9,`},
	} {
		r := slices.Clone(resources)
		for j := range r {
			if bytes.Contains(r[j].Data, []byte(edit.old)) {
				r[j].Data = bytes.Replace(r[j].Data, []byte(edit.old), []byte(edit.new), 1)
				break
			}
		}
		_, err := draft07.Compile(r...)
		if err == nil || !strings.Contains(err.Error(), "is not implemented") {
			t.Errorf("edit %d: err = %v, want a keyword not implemented", i, err)
		}
	}
}

// 1e1000001 is an integer (draft-07: a number whose fractional part is
// zero), so a valid weight; the library says otherwise (referenceQuirk).
func TestHugeIntegerWeight(t *testing.T) {
	sch, ref := flagdSchemas(t)
	data := []byte(rule(`{"fractional": [["on", 1e1000001], ["off", 1.0e+1000001]]}`))
	if v, ok := compare(t, sch, ref, data); ok || !v.valid {
		t.Fatalf("compared = %v, valid = %v; want this validator alone to accept", ok, v.valid)
	}
	if _, err := parseFlagFile(data); err != nil {
		t.Fatal(err)
	}
	if _, err := parseFlagFile([]byte(rule(`{"fractional": [["on", 1e-1000001]]}`))); err == nil {
		t.Fatal("accepted a weight of 1e-1000001")
	}
}
