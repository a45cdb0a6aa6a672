package engine

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/schema"
)

// FuzzVars feeds arbitrary text to what parses operator input: --var
// NAME=VALUE, values of every type, and var files. Nothing may panic; a
// value either converts to its type or is an input error (exit 2).
func FuzzVars(f *testing.F) {
	for _, seed := range []string{
		"prompt=support-agent", "n=5", "l=[\"a\", \"b\"]", "m={a = 1}", "b=true", "=x", "x", "n=1e999",
		"l=[", "m={a = var.x}", "s=${}", `{"prompt": "x", "n": 3}`, "prompt = \"x\"\nn = 2\n", "n = [[[",
	} {
		f.Add(seed)
	}
	types := []cty.Type{cty.String, cty.Number, cty.Bool, cty.List(cty.String), cty.Map(cty.Number), cty.DynamicPseudoType,
		cty.Object(map[string]cty.Type{"a": cty.Number})}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, in string) {
		if name, value, err := ParseVarFlag(in); err == nil {
			if name == "" {
				t.Fatalf("ParseVarFlag(%q) accepted an empty name", in)
			}
			for _, ty := range types {
				v, err := parseRaw(&schema.Variable{Name: name, Type: ty}, value, "--var "+name)
				if err == nil && ty != cty.DynamicPseudoType && !v.Type().Equals(ty) && !ty.IsCollectionType() && !ty.IsObjectType() {
					t.Fatalf("parseRaw(%q as %s) gave a %s", value, ty.FriendlyName(), v.Type().FriendlyName())
				}
				if _, isInput := err.(*InputError); err != nil && !isInput {
					t.Fatalf("parseRaw(%q): %T is not an input error", value, err)
				}
			}
		}
		for _, ext := range []string{".json", ".hcl"} {
			path := filepath.Join(dir, "vars"+ext)
			if err := os.WriteFile(path, []byte(in), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := readVarFile(path); err != nil {
				if _, isInput := err.(*InputError); !isInput {
					t.Fatalf("readVarFile: %T is not an input error", err)
				}
			}
		}
	})
}
