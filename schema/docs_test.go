package schema

import (
	"slices"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/runbookdev/runbook/docs/doccheck"
)

// bodySchemas maps each block type of the language to the schema of its
// body. "action" has none of its own: its body is the plugin action's
// arguments (docs/builtins.md, and each plugin's schema).
var bodySchemas = map[string]*hcl.BodySchema{
	"plugin":       pluginSchema,
	"runbook":      runbookSchema,
	"variable":     variableSchema,
	"validation":   checkSchema,
	"step":         stepSchema,
	"precondition": checkSchema,
	"expect":       expectSchema,
	"retry":        retrySchema,
	"action":       nil,
	"test":         testSchema,
	"mock":         mockSchema,
	"team":         teamSchema,
	"notify":       notifySchema,
}

// docs/language.md documents every block of the language under a heading
// that names it, and in that section every attribute and nested block of
// the block's schema: a block or attribute added to the schema fails this
// test until it is documented.
func TestLanguageDocumentsEverySchemaBlockAndAttribute(t *testing.T) {
	page := doccheck.Load(t, "language.md")
	seen := map[string]bool{}
	var walk func(parent string, bs *hcl.BodySchema)
	walk = func(parent string, bs *hcl.BodySchema) {
		for _, b := range bs.Blocks {
			section, ok := page.Find(b.Type)
			if !ok {
				t.Errorf("docs/language.md: no heading names block %q (in %s)", b.Type, parent)
			} else if parent != "" {
				if p, _ := page.Find(parent); !doccheck.Mentions(p.Body, b.Type) {
					t.Errorf("docs/language.md: the section of %q does not name its block %q", parent, b.Type)
				}
			}
			body, known := bodySchemas[b.Type]
			if !known {
				t.Errorf("block %q has no schema in this test's bodySchemas: add it, and document it", b.Type)
				continue
			}
			if seen[b.Type] || body == nil {
				continue
			}
			seen[b.Type] = true
			for _, a := range body.Attributes {
				if ok && !doccheck.Mentions(section.Body, a.Name) {
					t.Errorf("docs/language.md: the section %q (line %d) does not name attribute %q of %q", section.Heading, section.Line, a.Name, b.Type)
				}
			}
			walk(b.Type, body)
		}
	}
	walk("", fileSchema)
	walk("", testFileSchema)
	if len(seen) < 10 {
		t.Errorf("walked only %d block types; the schema tables moved?", len(seen))
	}
}

// Every function an expression can call is documented, with what it does,
// in the functions section of docs/language.md.
func TestLanguageDocumentsEveryFunction(t *testing.T) {
	page := doccheck.Load(t, "language.md")
	section, ok := page.Titled("Functions")
	if !ok {
		t.Fatal("docs/language.md has no Functions section")
	}
	var names []string
	for name := range Functions(FunctionsLive) {
		names = append(names, name)
	}
	slices.Sort(names)
	if len(names) < 60 {
		t.Fatalf("only %d functions", len(names))
	}
	for _, name := range names {
		if !doccheck.Mentions(section.Body, name) {
			t.Errorf("docs/language.md, %q: function %s is not documented", section.Heading, name)
		}
	}
}
