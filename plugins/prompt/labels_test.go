package prompt

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseLabels(t *testing.T) {
	for _, tc := range []struct {
		in     string
		want   map[string]int
		errHas string
	}{
		{in: `{"production": 7, "staging": 8}`, want: map[string]int{"production": 7, "staging": 8}},
		{in: "{}\n", want: map[string]int{}},
		{in: " {\n  \"production\": 1\n}\n\n", want: map[string]int{"production": 1}},
		{in: `{"prod uction": 999999999}`, want: map[string]int{"prod uction": 999999999}},
		{in: ``, errHas: "empty"},
		{in: "  \n", errHas: "empty"},
		{in: `{"production": 7`, errHas: "invalid JSON"},
		{in: `{"production": 7,}`, errHas: "invalid JSON"},
		{in: `[1]`, errHas: "not an array"},
		{in: `7`, errHas: "not the number 7"},
		{in: `null`, errHas: "not null"},
		{in: `{"production": "7"}`, errHas: `label "production": want a version number, not "7"`},
		{in: `{"production": null}`, errHas: "not null"},
		{in: `{"production": {"version": 7}}`, errHas: "not an object"},
		{in: `{"production": [7]}`, errHas: "not an array"},
		{in: `{"production": true}`, errHas: "not a boolean"},
		{in: `{"production": 7.0}`, errHas: "7.0 is not a version number"},
		{in: `{"production": 7e0}`, errHas: "is not a version number"},
		{in: `{"production": 0}`, errHas: "0 is not a version number"},
		{in: `{"production": -1}`, errHas: "is not a version number"},
		{in: `{"production": 1000000000}`, errHas: "is not a version number"},
		{in: `{"production": 99999999999999999999999}`, errHas: "is not a version number"},
		{in: `{"": 7}`, errHas: "a label is empty"},
		{in: `{"production": 7, "production": 8}`, errHas: `label "production" is set twice`},
		{in: `{"production": 7} {}`, errHas: "after the object"},
		{in: `{"production": 7} x`, errHas: "after the object"},
		{in: "{\"prod\xffuction\": 7}", errHas: "UTF-8"},
	} {
		got, err := parseLabels([]byte(tc.in))
		if tc.errHas != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Errorf("parseLabels(%q) = %v, %v; want an error mentioning %q", tc.in, got, err, tc.errHas)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseLabels(%q): %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("parseLabels(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

// FuzzLabels checks the labels.json reader on any input: it never panics,
// whatever it accepts holds only valid versions, and what it accepts
// survives the round trip through the file the plugin writes.
func FuzzLabels(f *testing.F) {
	for _, seed := range []string{
		`{"production": 7, "staging": 8}`, `{}`, `[]`, `{"a": 1, "a": 2}`, `{"a": 1.5}`, `{"a": "1"}`,
		`{"a": 1} {"b": 2}`, `{"a": -0}`, `{"\u00e9": 3}`, "", "{", `{"a":`, `{"a": 1e3}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		labels, err := parseLabels(data)
		if err != nil {
			if labels != nil {
				t.Fatalf("error %v with labels %v", err, labels)
			}
			return
		}
		for label, v := range labels {
			if label == "" || v < 1 || v > maxVersion {
				t.Fatalf("accepted label %q = %d", label, v)
			}
		}
		b, err := json.MarshalIndent(labels, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		again, err := parseLabels(b)
		if err != nil {
			t.Fatalf("the file written for %q does not read back: %v", data, err)
		}
		if diff := cmp.Diff(labels, again); diff != "" {
			t.Fatalf("round trip of %q (-first +second):\n%s", data, diff)
		}
	})
}
