package transcript

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/runbookdev/runbook/docs/doccheck"
)

// recordTypes reads the record types from this package's source: every
// constant named Type…, so that a type added to the code is found here
// without a list to keep.
func recordTypes(t *testing.T) []string {
	t.Helper()
	var types []string
	for name, value := range doccheck.Constants(t, ".") {
		if strings.HasPrefix(name, "Type") {
			types = append(types, value)
		}
	}
	slices.Sort(types)
	if len(types) < 10 {
		t.Fatalf("found only the record types %v", types)
	}
	return types
}

// Every record type the code has is in the JSON Schema (the type's enum
// and a definition of its own) and has a row in docs/transcript.md that
// names each member the schema gives it.
func TestEveryRecordTypeDocumented(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(doccheck.Dir(), "transcript.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Properties struct {
			Type struct {
				Enum []string `json:"enum"`
			} `json:"type"`
		} `json:"properties"`
		Defs map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(data, &schema); err != nil {
		t.Fatal(err)
	}
	page := doccheck.Load(t, "transcript.md")
	rows := map[string]string{}
	for line := range strings.SplitSeq(page.Text, "\n") {
		if rest, ok := strings.CutPrefix(line, "| `"); ok {
			if name, _, ok := strings.Cut(rest, "`"); ok {
				rows[name] = line
			}
		}
	}
	for _, typ := range recordTypes(t) {
		if !slices.Contains(schema.Properties.Type.Enum, typ) {
			t.Errorf("transcript.schema.json: type %q is not in the type enum", typ)
		}
		def, ok := schema.Defs[typ]
		if !ok {
			t.Errorf("transcript.schema.json: no definition for %q", typ)
		}
		row, ok := rows[typ]
		if !ok {
			t.Errorf("docs/transcript.md: no row for record type %q", typ)
			continue
		}
		for member := range def.Properties {
			if !doccheck.Mentions(row, member) {
				t.Errorf("docs/transcript.md: the row of %q does not name its member %q", typ, member)
			}
		}
	}
}
