package fallback

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/runbookdev/runbook/plugins/fallback/internal/draft07"
)

// FuzzFlagFile feeds the flag file reader anything. It must never panic,
// and for a file it accepts, switching any model route to any of its
// variants must give a file it accepts again, serving that variant, and
// equal to the old one in everything else. The seed corpus in
// testdata/fuzz/FuzzFlagFile holds flagd's positive and negative examples.
func FuzzFlagFile(f *testing.F) {
	f.Add([]byte(routesFile))
	f.Fuzz(func(t *testing.T, data []byte) {
		ff, err := parseFlagFile(data)
		if err != nil {
			return
		}
		var before any
		if err := json.Unmarshal(data, &before); err != nil {
			t.Fatalf("accepted a file that is not JSON: %v", err)
		}
		for _, name := range ff.routeNames() {
			r, err := ff.route(name)
			if err != nil {
				continue // not a model route
			}
			for _, v := range r.VariantNames {
				out, err := ff.withActive(name, v)
				if err != nil {
					t.Fatalf("switch %q to %q: %v", name, v, err)
				}
				changed, err := parseFlagFile(out)
				if err != nil {
					t.Fatalf("switching %q to %q gives a file flagd refuses: %v\n%s", name, v, err, out)
				}
				got, err := changed.route(name)
				if err != nil || got.Active != v {
					t.Fatalf("after switching %q to %q: %+v, %v", name, v, got, err)
				}
				var after any
				if err := json.Unmarshal(out, &after); err != nil {
					t.Fatal(err)
				}
				// Compare with the old file as it would be with the switch.
				flag := before.(map[string]any)["flags"].(map[string]any)[name].(map[string]any)
				old, had := flag["defaultVariant"]
				flag["defaultVariant"] = v
				if !reflect.DeepEqual(before, after) {
					t.Fatalf("switching %q to %q changed more than its defaultVariant:\n%s\n%s", name, v, data, out)
				}
				if had {
					flag["defaultVariant"] = old
				} else {
					delete(flag, "defaultVariant")
				}
			}
		}
	})
}

// FuzzSchemaAgreement holds the validator of package draft07 to the library
// it replaces, github.com/santhosh-tekuri/jsonschema/v6: for any input,
// both decode it or neither does, and they give the same verdict and the
// same complaint lines (compare, sameLines), but for the library's quirk
// referenceQuirk describes. The input is validated as a flag file, as the
// targeting of a flag and as a flag (flagd's rules are where its schema is
// richest), and against each schema of keywordCases.
func FuzzSchemaAgreement(f *testing.F) {
	f.Add([]byte(routesFile))
	for _, tc := range flagdCases {
		f.Add([]byte(tc.file))
		if _, targeting, ok := strings.Cut(tc.file, `"targeting": `); ok {
			f.Add([]byte(strings.TrimSuffix(targeting, "}}}")))
		}
	}
	for _, tc := range keywordCases {
		for _, v := range append(tc.valid, tc.invalid...) {
			f.Add([]byte(v))
		}
	}
	files, err := filepath.Glob(filepath.Join("testdata", "*", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no test files: %v", err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	sch, ref := flagdSchemas(f)
	type pair struct {
		sch *draft07.Schema
		ref *jsonschema.Schema
	}
	var keywords []pair
	for _, tc := range keywordCases {
		r := keywordSchema(tc.schema)
		s, err := draft07.Compile(r...)
		if err != nil {
			f.Fatal(err)
		}
		rs, err := referenceCompile(r...)
		if err != nil {
			f.Fatal(err)
		}
		keywords = append(keywords, pair{s, rs})
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, doc := range [][]byte{
			data,
			[]byte(`{"flags": {"f": {"state": "ENABLED", "variants": {"on": true, "off": false}, "targeting": ` + string(data) + "}}}"),
			[]byte(`{"flags": {"f": ` + string(data) + "}}"),
		} {
			if v, ok := compare(t, sch, ref, doc); ok {
				sameLines(t, doc, v)
			}
		}
		for _, k := range keywords {
			if v, ok := compare(t, k.sch, k.ref, data); ok {
				sameLines(t, data, v)
			}
		}
	})
}
