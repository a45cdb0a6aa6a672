package fallback

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/runbookdev/runbook/examples/sample"
)

// BenchmarkParseFlagFile parses and validates the example routes file, the
// work every read and every switch of the file backend does.
func BenchmarkParseFlagFile(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(sample.Copy(b, "examples/state/routes.flagd.json"), "examples", "state", "routes.flagd.json"))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := parseFlagFile(data); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := parseFlagFile(data); err != nil {
			b.Fatal(err)
		}
	}
}
