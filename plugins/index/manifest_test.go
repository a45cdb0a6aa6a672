package index

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/runbookdev/runbook/plugins/filestate"
)

func TestParseManifest(t *testing.T) {
	builtAt := time.Date(2026, 11, 26, 14, 5, 12, 0, time.UTC)
	tests := []struct {
		name    string
		in      string
		want    *Manifest
		errText string
	}{
		{name: "complete", in: `{"version":"20261126T140512Z","doc_count":1204,"source":"./corpus","built_at":"2026-11-26T14:05:12Z","sha256":"ab"}`,
			want: &Manifest{Version: "20261126T140512Z", DocCount: 1204, Source: "./corpus", BuiltAt: builtAt, SHA256: "ab"}},
		{name: "only doc_count", in: `{"doc_count": 0}`, want: &Manifest{}},
		{name: "whole float", in: `{"doc_count": 1.2e3}`, want: &Manifest{DocCount: 1200}},
		{name: "extra keys kept", in: `{"doc_count": 2, "model": {"name": "embed-3", "dims": 1024}}`,
			want: &Manifest{DocCount: 2, Extra: map[string]json.RawMessage{"model": json.RawMessage(`{"name":"embed-3","dims":1024}`)}}},
		{name: "nulls are absent", in: `{"doc_count": 2, "version": null, "built_at": null}`, want: &Manifest{DocCount: 2}},
		{name: "no doc_count", in: `{"version": "x"}`, errText: "doc_count is missing"},
		{name: "negative", in: `{"doc_count": -1}`, errText: "negative"},
		{name: "fraction", in: `{"doc_count": 1.5}`, errText: "not a whole number"},
		{name: "huge", in: `{"doc_count": 1e300}`, errText: "not a whole number"},
		{name: "string count", in: `{"doc_count": "12"}`, errText: "want a whole number"},
		{name: "version not a string", in: `{"doc_count": 1, "version": 7}`, errText: "version: want a string"},
		{name: "bad time", in: `{"doc_count": 1, "built_at": "yesterday"}`, errText: "built_at"},
		{name: "array", in: `[1]`, errText: "manifest"},
		{name: "null", in: `null`, errText: "want a JSON object"},
		{name: "empty", in: ``, errText: "manifest"},
		{name: "trailing garbage", in: `{"doc_count": 1} x`, errText: "manifest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseManifest([]byte(tt.in))
			if tt.errText != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("error %v, want %q", err, tt.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// The manifest as written: known keys first, in a fixed order.
func TestManifestJSON(t *testing.T) {
	m := &Manifest{
		Version: "20261126T140512Z", DocCount: 1204, Source: "./corpus",
		BuiltAt: time.Date(2026, 11, 26, 14, 5, 12, 0, time.UTC), SHA256: "ab",
		Extra: map[string]json.RawMessage{"z": json.RawMessage(`1`), "a": json.RawMessage(`"x"`)},
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"version":"20261126T140512Z","doc_count":1204,"source":"./corpus","built_at":"2026-11-26T14:05:12Z","sha256":"ab","a":"x","z":1}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}

// FuzzManifest: the manifest reader never panics, and what it accepts
// survives a write and a read unchanged.
func FuzzManifest(f *testing.F) {
	for _, seed := range []string{
		`{"version":"20261126T140512Z","doc_count":1204,"source":"./corpus","built_at":"2026-11-26T14:05:12Z","sha256":"0000000000000000000000000000000000000000000000000000000000000000"}`,
		`{"doc_count": 1.0e2, "model": [1, {"a": null}]}`,
		`{"doc_count": 3, "built_at": "2026-11-26T14:05:12.123456789+05:30"}`,
		`{"doc_count": -0}`,
		`{"doc_count": 9007199254740993}`,
		`{"doc_count": 1, "doc_count": 2}`,
		`{"doc_count": 1, "\u00e9": "\ud800"}`,
		`[]`, `null`, `"x"`, `{`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(data)
		if err != nil {
			return
		}
		if m.DocCount < 0 {
			t.Fatalf("negative doc_count %d accepted", m.DocCount)
		}
		// Encoded as the file backend writes manifests.
		b, err := filestate.Marshal(m)
		if err != nil {
			t.Fatalf("marshal %+v: %v", m, err)
		}
		again, err := ParseManifest(b)
		if err != nil {
			t.Fatalf("re-read of %s: %v", b, err)
		}
		if !again.BuiltAt.Equal(m.BuiltAt) {
			t.Fatalf("built_at %v became %v", m.BuiltAt, again.BuiltAt)
		}
		again.BuiltAt = m.BuiltAt
		if !reflect.DeepEqual(m, again) {
			t.Fatalf("round trip changed the manifest:\n%+v\n%+v", m, again)
		}
	})
}

// The sha256 definition in the package doc is what contentDigest computes:
// the documented shell pipeline gives the same digest.
func TestContentDigestMatchesDoc(t *testing.T) {
	for _, tool := range []string{"bash", "find", "sha256sum", "xargs", "sort", "sed"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"docs.jsonl":        `{"id":"a"}` + "\n",
		"manifest.json":     `{"doc_count": 1}`,
		"vectors/a b.bin":   "\x00\x01",
		"vectors/Z.bin":     "z",
		"sub/manifest.json": "nested manifests count",
	})
	got, err := contentDigest(dir)
	if err != nil {
		t.Fatal(err)
	}
	pipeline := `find . -type f ! -path ./manifest.json | sed 's|^\./||' | LC_ALL=C sort | xargs -d '\n' sha256sum | sha256sum`
	out, err := exec.Command("bash", "-c", "cd \"$1\" && "+pipeline, "x", dir).Output()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Fields(string(out))[0]
	if got != want {
		t.Errorf("contentDigest %s, the documented pipeline %s", got, want)
	}
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.ReplaceAll(string(doc), "\\\n//\t  ", ""), pipeline) {
		t.Errorf("doc.go does not document the pipeline %q", pipeline)
	}
}

func TestNextVersion(t *testing.T) {
	now := time.Date(2026, 11, 26, 14, 5, 12, 999, time.FixedZone("CET", 3600))
	tests := []struct {
		name     string
		existing []string
		want     string
	}{
		{"first", nil, "20261126T130512Z"},
		{"older builds", []string{"20261126T130000Z", "20261120T090000Z-003"}, "20261126T130512Z"},
		{"same second", []string{"20261126T130512Z"}, "20261126T130512Z-001"},
		{"same second twice", []string{"20261126T130512Z", "20261126T130512Z-001"}, "20261126T130512Z-002"},
		{"clock went back", []string{"20261127T000000Z"}, "20261127T000000Z-001"},
		{"other names ignored", []string{"v1", "latest", "20261126T130512Z-x", "zzz"}, "20261126T130512Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := nextVersion(now, tt.existing)
			if got != tt.want {
				t.Errorf("nextVersion = %s, want %s", got, tt.want)
			}
			for _, e := range tt.existing {
				if _, _, ok := splitVersion(e); ok && got <= e {
					t.Errorf("%s does not sort after %s", got, e)
				}
			}
		})
	}
}

// Two builds of the same corpus have the same sha256, wherever it lies.
func TestDigestDeterministic(t *testing.T) {
	files := map[string]string{"a.md": "# A", "b/c.txt": "c", "faq.jsonl": "{\"text\":\"x\"}\n"}
	src1, src2 := t.TempDir(), t.TempDir()
	writeTree(t, src1, files)
	writeTree(t, src2, files)
	dir := newIndex(t, "kb")
	p, _ := newPlugin(t, config{path: dir})
	v1 := str(mustRun(t, p, "rebuild", rebuildArgsVal("kb", src1)), "version")
	v2 := str(mustRun(t, p, "rebuild", rebuildArgsVal("kb", src2)), "version")
	m1, _ := readManifest(filepath.Join(dir, "kb", buildsDir, v1))
	m2, _ := readManifest(filepath.Join(dir, "kb", buildsDir, v2))
	if m1.SHA256 != m2.SHA256 || m1.SHA256 == "" {
		t.Errorf("sha256 %q and %q differ for the same corpus", m1.SHA256, m2.SHA256)
	}
}
