package fallback

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runbookdev/runbook/examples/sample"
)

// flagd's own positive and negative test files (testdata/positive and
// testdata/negative, copied from flagd-schemas): what flagd accepts we read,
// what it refuses we refuse with the schema's complaint.
func TestFlagdSchemaTestFiles(t *testing.T) {
	// The gist of the schema's complaint about each negative file.
	complaints := map[string]string{
		"empty-variants.json":                 "at '/flags/myBoolFlag/variants': minProperties: got 0, want 1",
		"example.flagdimport.array.json":      "at '/flags': got array, want object",
		"malformed-flag.json":                 "at '/flags/not-a-flag': missing properties 'state', 'variants'",
		"missing-variants.json":               "at '/flags/myBoolFlag': missing property 'variants'",
		"mixed-variant-types.ffconfig.json":   "at '/flags/myBoolFlag/variants/off': got string, want boolean",
		"state-set-incorrectly.json":          "at '/flags/myBoolFlag/state': value must be one of 'ENABLED', 'DISABLED'",
		"with-array-flags.json":               "at '/flags': got array, want object",
		"with-invalid-flag-metadata.json":     "at '/flags/myBoolFlag/metadata/invalid': got object, want boolean or number or string",
		"with-invalid-flag-set-metadata.json": "at '/metadata/invalid': got object, want boolean or number or string",
		"with-invalid-targeting.json":         "at '/flags/targetedFlag/targeting': additional properties 'not-a-real-rule' not allowed",
	}
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
				_, err = parseFlagFile(data)
				var invalid *InvalidFileError
				switch dir {
				case "positive":
					if err != nil {
						t.Fatalf("refused a file flagd accepts: %v", err)
					}
				case "negative":
					// example.flagdimport.array.json is valid for the flagd
					// daemon's schema, but flags.json, the schema of the
					// file providers read, wants flags as an object.
					if !errors.As(err, &invalid) {
						t.Fatalf("err = %v, want an *InvalidFileError", err)
					}
					want, ok := complaints[filepath.Base(file)]
					if !ok {
						t.Fatalf("no complaint listed for %s: %v", file, err)
					}
					if !strings.Contains(err.Error(), "flagd's schema") || !strings.Contains(err.Error(), want) {
						t.Errorf("err = %v, want the schema's complaint %q", err, want)
					}
					if n := strings.Count(err.Error(), "\n- "); n > 2 {
						t.Errorf("complaint of %d lines, want the gist:\n%v", n, err)
					}
				}
			})
		}
	}
}

func TestExampleRoutesFile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(sample.Copy(t, "examples/state/routes.flagd.json"), "examples", "state", "routes.flagd.json"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := parseFlagFile(data)
	if err != nil {
		t.Fatalf("the example does not validate: %v", err)
	}
	if got, want := f.routeNames(), []string{"chat", "embeddings", "summarize"}; !cmp.Equal(got, want) {
		t.Errorf("routes %v, want %v", got, want)
	}
	for _, name := range f.routeNames() {
		r, err := f.route(name)
		if err != nil {
			t.Fatalf("route %s: %v", name, err)
		}
		if r.Active != primaryVariant || len(r.Variants) != 2 || r.Variants[fallbackVariant] == "" {
			t.Errorf("route %s = %+v, want primary active with a fallback", name, r)
		}
	}
	r, _ := f.route("chat")
	if r.Variants["primary"] != "openai/gpt-4.1" || r.Variants["fallback"] != "anthropic/claude-sonnet-4" {
		t.Errorf("chat variants %v", r.Variants)
	}
}

func TestParseFlagFile(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		route   string
		want    *Route
		wantErr string
	}{
		{
			name:  "model route",
			file:  `{"flags": {"chat": {"state": "ENABLED", "variants": {"primary": "a", "fallback": "b"}, "defaultVariant": "fallback"}}}`,
			route: "chat",
			want:  &Route{Name: "chat", State: "ENABLED", Active: "fallback", Variants: map[string]string{"primary": "a", "fallback": "b"}, VariantNames: []string{"primary", "fallback"}},
		},
		{
			name:  "null default variant",
			file:  `{"flags": {"chat": {"state": "DISABLED", "variants": {"primary": "a"}, "defaultVariant": null}}}`,
			route: "chat",
			want:  &Route{Name: "chat", State: "DISABLED", Variants: map[string]string{"primary": "a"}, VariantNames: []string{"primary"}},
		},
		{
			name:  "escaped names",
			file:  `{"flags": {"ch\u0061t": {"state": "ENABLED", "variants": {"prim\u0061ry": "a\"b"}, "defaultVariant": "primary"}}}`,
			route: "chat",
			want:  &Route{Name: "chat", State: "ENABLED", Active: "primary", Variants: map[string]string{"primary": `a"b`}, VariantNames: []string{"primary"}},
		},
		{
			name:    "boolean flag",
			file:    `{"flags": {"beta": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"}}}`,
			route:   "beta",
			wantErr: `flag "beta" is not a model route: variant "on" is true, not a model name (a string)`,
		},
		{
			name:    "unknown route",
			file:    `{"flags": {"chat": {"state": "ENABLED", "variants": {"primary": "a"}}, "embed": {"state": "ENABLED", "variants": {"primary": "a"}}}}`,
			route:   "nope",
			wantErr: `no route "nope"; routes: chat, embed`,
		},
		{
			name:    "no flags",
			file:    `{"flags": {}}`,
			route:   "chat",
			wantErr: `no route "chat": the flag file defines no flags`,
		},
		{
			name:    "duplicate flag",
			file:    `{"flags": {"chat": {"state": "ENABLED", "variants": {"primary": "a"}}, "chat": {"state": "ENABLED", "variants": {"primary": "b"}}}}`,
			route:   "chat",
			wantErr: `key "chat" appears twice`,
		},
		{
			name:    "not JSON",
			file:    `{"flags": `,
			route:   "chat",
			wantErr: "not a valid flagd flag file: not JSON",
		},
		{
			name:    "trailing garbage",
			file:    `{"flags": {}} {}`,
			route:   "chat",
			wantErr: "not a valid flagd flag file: not JSON",
		},
		{
			name:    "wrong state",
			file:    `{"flags": {"chat": {"state": "ON", "variants": {"primary": "a"}}}}`,
			route:   "chat",
			wantErr: "flagd's schema",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := parseFlagFile([]byte(tt.file))
			var r *Route
			if err == nil {
				r, err = f.route(tt.route)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, r); diff != "" {
				t.Errorf("route (-want +got):\n%s", diff)
			}
		})
	}
}

// withActive replaces one value and keeps every other byte; a missing
// defaultVariant is added in the layout of the flag's other members.
func TestWithActive(t *testing.T) {
	tests := []struct {
		name, file, route, variant, want string
	}{
		{
			name:    "replace",
			file:    "{\"flags\": {\"chat\": {\"defaultVariant\" :  \"primary\" ,\"state\": \"ENABLED\", \"variants\": {\"primary\": \"a\", \"fallback\": \"b\"}}}}\n",
			route:   "chat",
			variant: "fallback",
			want:    "{\"flags\": {\"chat\": {\"defaultVariant\" :  \"fallback\" ,\"state\": \"ENABLED\", \"variants\": {\"primary\": \"a\", \"fallback\": \"b\"}}}}\n",
		},
		{
			name:    "replace null",
			file:    `{"flags":{"chat":{"state":"ENABLED","variants":{"primary":"a"},"defaultVariant":null}}}`,
			route:   "chat",
			variant: "primary",
			want:    `{"flags":{"chat":{"state":"ENABLED","variants":{"primary":"a"},"defaultVariant":"primary"}}}`,
		},
		{
			name:    "add compact",
			file:    `{"flags":{"chat":{"state":"ENABLED","variants":{"primary":"a"}}}}`,
			route:   "chat",
			variant: "primary",
			want:    `{"flags":{"chat":{"state":"ENABLED","variants":{"primary":"a"},"defaultVariant":"primary"}}}`,
		},
		{
			name:    "add one line",
			file:    `{"flags": {"chat": {"state": "ENABLED", "variants": {"primary": "a"}}}}`,
			route:   "chat",
			variant: "primary",
			want:    `{"flags": {"chat": {"state": "ENABLED", "variants": {"primary": "a"}, "defaultVariant": "primary"}}}`,
		},
		{
			name:    "add indented",
			file:    "{\n  \"flags\": {\n    \"chat\": {\n      \"state\": \"ENABLED\",\n      \"variants\": {\"primary\": \"a\"}\n    }\n  }\n}\n",
			route:   "chat",
			variant: "primary",
			want:    "{\n  \"flags\": {\n    \"chat\": {\n      \"state\": \"ENABLED\",\n      \"variants\": {\"primary\": \"a\"},\n      \"defaultVariant\": \"primary\"\n    }\n  }\n}\n",
		},
		{
			name:    "special characters",
			file:    `{"flags":{"a<b":{"state":"ENABLED","variants":{"x&\"y":"m"},"defaultVariant":"z"}}}`,
			route:   "a<b",
			variant: `x&"y`,
			want:    `{"flags":{"a<b":{"state":"ENABLED","variants":{"x&\"y":"m"},"defaultVariant":"x&\"y"}}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := parseFlagFile([]byte(tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.withActive(tt.route, tt.variant)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("file (-want +got):\n%s", diff)
			}
			changed, err := parseFlagFile(got)
			if err != nil {
				t.Fatalf("the changed file does not validate: %v", err)
			}
			r, err := changed.route(tt.route)
			if err != nil || r.Active != tt.variant {
				t.Errorf("route %+v, %v; want %q active", r, err, tt.variant)
			}
		})
	}
}

// decoded is a file's JSON as generic values.
func decoded(t testing.TB, data []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return v
}
