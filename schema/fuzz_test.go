package schema

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to the directory loader as one runbook file
// next to a fixed plugin file: nothing may panic, and a config comes back.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/*.hcl")
	more, _ := filepath.Glob("testdata/*/*/*.hcl")
	shipped, _ := filepath.Glob("../runbooks/*.hcl")
	for _, name := range append(append(seeds, more...), shipped...) {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	plugins := []byte("plugin \"kv\" {\n  path = \"state\"\n}\n")
	opts := testOptions(f)
	f.Fuzz(func(t *testing.T, src []byte) {
		cfg, diags := Load([]Source{{Name: "fuzz.hcl", Bytes: src}, {Name: "plugins.hcl", Bytes: plugins}}, opts)
		if cfg == nil {
			t.Fatal("Load returned no config")
		}
		for _, d := range diags {
			if d.Summary == "Internal error" {
				t.Fatalf("loader panicked: %s", d.Detail)
			}
		}
		_ = Report(diags, cfg.Files)
	})
}
