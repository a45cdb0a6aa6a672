package index

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/runbookdev/runbook/examples/sample"
	"github.com/runbookdev/runbook/plugins"
)

// The sample state the shipped runbooks point at, and the corpus it is
// built from, relative to the repository root.
const (
	exampleIndexes = "examples/state/indexes"
	exampleCorpus  = "examples/corpus/support-kb"
	exampleIndex   = "support-kb"
)

// The sample index under examples/ is a real one: every build's manifest is
// right, current names the newest build, and that build is what the builder
// makes of the corpus today. RUNBOOK_WRITE_EXAMPLES=1 writes it anew in the
// working tree; otherwise the test reads a pristine copy, whatever runs
// against the working tree's sample state did to it.
func TestExampleState(t *testing.T) {
	if os.Getenv("RUNBOOK_WRITE_EXAMPLES") == "1" {
		t.Chdir("../..")
		writeExampleState(t)
	} else {
		t.Chdir(sample.Copy(t, exampleIndexes, exampleCorpus))
	}
	p := newTestPlugin()
	if err := p.Configure(context.Background(), config{path: exampleIndexes}.val()); err != nil {
		t.Fatal(err)
	}
	st := mustRun(t, p, "status", nameArgs(exampleIndex))
	versions := st.GetAttr("versions").AsValueSlice()
	if len(versions) == 0 {
		t.Fatal("the sample index has no build")
	}
	live := str(st, "active_version")
	if newest := versions[len(versions)-1].AsString(); live != newest {
		t.Errorf("live build %s, want the newest, %s", live, newest)
	}
	for _, v := range versions {
		dir := filepath.Join(exampleIndexes, exampleIndex, buildsDir, v.AsString())
		m, err := readManifest(dir)
		if err != nil {
			t.Fatal(err)
		}
		sum, err := contentDigest(dir)
		if err != nil {
			t.Fatal(err)
		}
		if m.Version != v.AsString() || m.SHA256 != sum || m.Source != exampleCorpus || m.BuiltAt.IsZero() {
			t.Errorf("%s: manifest %+v (content sha256 %s)", dir, m, sum)
		}
	}

	out := t.TempDir()
	m, err := corpusBuilder{}.Build(context.Background(), BuilderRequest{Source: exampleCorpus, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	if got := num(st, "doc_count"); got != m.DocCount {
		t.Errorf("the live build holds %d documents, the corpus %d: run RUNBOOK_WRITE_EXAMPLES=1 go test -run TestExampleState ./plugins/index/", got, m.DocCount)
	}
	want, _ := os.ReadFile(filepath.Join(out, docsFile))
	got, _ := os.ReadFile(filepath.Join(exampleIndexes, exampleIndex, buildsDir, live, docsFile))
	if !bytes.Equal(got, want) {
		t.Errorf("the live build's %s is not what the corpus gives today: run RUNBOOK_WRITE_EXAMPLES=1 go test -run TestExampleState ./plugins/index/", docsFile)
	}
}

// writeExampleState builds the sample index as the product would, with
// fixed times: a first build before the FAQ was added to the corpus, a
// second with it.
func writeExampleState(t *testing.T) {
	index := filepath.Join(exampleIndexes, exampleIndex)
	if err := os.RemoveAll(index); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(index, 0o755); err != nil {
		t.Fatal(err)
	}
	p := newTestPlugin()
	if err := p.Configure(context.Background(), config{path: exampleIndexes}.val()); err != nil {
		t.Fatal(err)
	}
	var now time.Time
	p.backend.(*fileBackend).now = func() time.Time { return now }
	faq := filepath.Join(exampleCorpus, "faq.jsonl")
	hidden := filepath.Join(exampleCorpus, ".faq.jsonl")
	for i, b := range []struct {
		at    time.Time
		runID string
		faq   bool
	}{
		{time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC), "20261120T085958Z-3fa2c1", false},
		{time.Date(2026, 11, 26, 14, 5, 12, 0, time.UTC), "20261126T140510Z-9b07e4", true},
	} {
		now = b.at
		if !b.faq {
			if err := os.Rename(faq, hidden); err != nil {
				t.Fatal(err)
			}
		}
		_, err := p.Apply(context.Background(), &plugins.ActionRequest{
			Action:   "rebuild",
			Args:     rebuildArgsVal(exampleIndex, exampleCorpus),
			RunID:    b.runID,
			Operator: "dana@support-ops",
		})
		if !b.faq {
			if err := os.Rename(hidden, faq); err != nil {
				t.Fatal(err)
			}
		}
		if err != nil {
			t.Fatalf("build %d: %v", i, err)
		}
	}
	// The lock file holds no state; it is made again on the first change.
	if err := os.Remove(filepath.Join(index, lockFile)); err != nil {
		t.Fatal(err)
	}
}
