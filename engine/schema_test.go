package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/runbookdev/runbook/engine/transcript"
	"github.com/runbookdev/runbook/engine/transcript/transcripttest"
)

// The transcript format's JSON Schema (docs/transcript.schema.json) holds
// every record the engine writes: each transcript a test run through run
// or recordRun writes is checked against it, and so are the testdata
// transcripts.

// schemaChecked is a transcript writer whose transcript is checked against
// the schema when the test ends.
func schemaChecked(t testing.TB) *transcript.Writer {
	t.Helper()
	w, err := transcript.Create(t.TempDir(), "checked", transcript.WithFS(noSync{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		w.Close()
		if data, err := os.ReadFile(w.Path()); err == nil && len(data) > 0 {
			transcripttest.CheckSchema(t, w.Path())
		}
	})
	return w
}

func TestTestdataTranscriptsMatchTheSchema(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("transcript", "testdata", "*.jsonl"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no testdata transcripts: %v", err)
	}
	for _, p := range paths {
		transcripttest.CheckSchema(t, p)
	}
}

// The schema is not a formality: it rejects what no writer writes.
func TestSchemaRejectsWhatNoWriterWrites(t *testing.T) {
	sch, err := transcripttest.Schema()
	if err != nil {
		t.Fatal(err)
	}
	head := `"seq":1,"time":"2026-11-26T14:00:00.000000Z","prev":"","hash":"` + strings.Repeat("ab", 32) + `"`
	step := `"index":1,"step":"a","owner":"o"`
	for _, body := range []string{
		`"type":"action_result",` + step + `,"action":"kv.get","attempt":1,"duration_ms":12,"read_only":true,"outputs":{}`,
		`"type":"action_result",` + step + `,"action":"kv.get","attempt":1,"duration":"12ms","read_only":true`,
		`"type":"action_result",` + step + `,"action":"kv.get","attempt":1,"duration":"12ms","read_only":true,"output":null,"error":"e"`,
		`"type":"precondition",` + step + `,"condition":"true","result":"passed","passed":true`,
		`"type":"step_finished",` + step + `,"status":"done","duration":"1s"`,
		`"type":"step_finished",` + step + `,"status":"failed","duration":"1s","reason":"r"`,
		`"type":"plan",` + step + `,"action":"kv.set","changes":[],"output":null,"error":"e"`,
		`"type":"run_finished","status":"succeeded","exit_code":0,"duration":12`,
		`"type":"step_started","step":"a"`,
		`"type":"note"`,
	} {
		v, err := jsonschema.UnmarshalJSON(strings.NewReader("{" + head + "," + body + "}"))
		if err != nil {
			t.Fatal(err)
		}
		if sch.Validate(v) == nil {
			t.Errorf("the schema accepts {%s}", body)
		}
	}
}
