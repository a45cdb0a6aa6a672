// Package transcripttest checks transcripts against the format's JSON
// Schema, docs/transcript.schema.json (docs/transcript.md), for tests.
package transcripttest

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/runbookdev/runbook/engine/transcript"
)

// SchemaPath is the schema's file, found from the working directory (a
// test's is its package's folder) up to the module's root.
func SchemaPath() string {
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return filepath.Join(dir, "docs", "transcript.schema.json")
}

// Schema is the compiled schema.
var Schema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	return c.Compile(SchemaPath())
})

// CheckSchema fails t for every line of the transcript at path that the
// schema rejects.
func CheckSchema(t testing.TB, path string) {
	t.Helper()
	for _, msg := range Problems(path) {
		t.Error(msg)
	}
}

// Problems lists, one message each, the lines of the transcript at path
// that the schema rejects.
func Problems(path string) []string {
	sch, err := Schema()
	if err != nil {
		return []string{"compile the transcript schema: " + err.Error()}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	for i, line := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(line))
		if err == nil {
			err = sch.Validate(v)
		}
		if err != nil {
			out = append(out, fmt.Sprintf("%s:%d: not a transcript record: %v\n%s", path, i+1, err, line))
		}
	}
	return out
}

// ProblemsUnder is Problems for every transcript under dir (any
// "transcripts" folder) whose chain verifies intact: a transcript broken on
// purpose, by hand or by a test, is not checked.
func ProblemsUnder(dir string) []string {
	var out []string
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".jsonl" || filepath.Base(filepath.Dir(path)) != "transcripts" {
			return nil
		}
		if r, err := transcript.Verify(path); err != nil || !r.Intact() {
			return nil
		}
		out = append(out, Problems(path)...)
		return nil
	})
	return out
}
