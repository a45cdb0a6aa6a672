package builtin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbookdev/runbook/docs/doccheck"
	"github.com/runbookdev/runbook/schema"
)

// The whole-file examples of the reference and the README (the fenced hcl blocks that
// start with a runbook, plugin or test block) are valid: validate accepts
// each, checked against the built-ins' schemas, as a file of its own.
// Fragments (a variable, an action) are left out, and so is plugins.md,
// whose examples use external plugins (cmd/runbook's
// TestPluginGuideFromZero runs its guide).
func TestDocsExamplesValidate(t *testing.T) {
	checked := 0
	for _, name := range []string{"language.md", "builtins.md", filepath.Join("..", "README.md")} {
		page := doccheck.Load(t, name)
		for i, block := range doccheck.FencedBlocks(page.Text, "hcl") {
			first := strings.TrimSpace(block)
			for strings.HasPrefix(first, "#") {
				_, first, _ = strings.Cut(first, "\n")
				first = strings.TrimSpace(first)
			}
			file := "example.hcl"
			switch {
			case strings.HasPrefix(first, "test "):
				file = "example.test.hcl"
			case strings.HasPrefix(first, "runbook "), strings.HasPrefix(first, "plugin "):
			default:
				continue
			}
			if strings.Contains(block, "source ") {
				continue // declares an external plugin, whose binary is not here
			}
			srcs := []schema.Source{{Name: filepath.Join(t.TempDir(), file), Bytes: []byte(block)}}
			if file == "example.test.hcl" {
				// A test names a shipped runbook: check it beside that one.
				srcs = append(srcs, shipped(t)...)
			}
			_, diags := schema.Validate(srcs, schema.Options{Schemas: schema.RegistrySource{Registry: Registry()}})
			if diags.HasErrors() {
				t.Errorf("docs/%s, hcl block %d does not validate: %s\n%s", name, i+1, diags.Error(), block)
			}
			checked++
		}
	}
	if checked < 5 {
		t.Errorf("validated only %d examples", checked)
	}
}

// shipped returns the runbook files of the repository's runbooks/ (not its
// tests), for an example test that names one of them.
func shipped(t *testing.T) []schema.Source {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(filepath.Dir(doccheck.Dir()), "runbooks", "*.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	var srcs []schema.Source
	for _, path := range paths {
		if schema.IsTestFile(path) {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, schema.Source{Name: path, Bytes: data})
	}
	return srcs
}
