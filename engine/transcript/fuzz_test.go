package transcript

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzVerify: no input makes Verify or Read panic, and what they say agrees.
func FuzzVerify(f *testing.F) {
	good := sampleBytes(f)
	f.Add(good)
	f.Add(good[:len(good)-7])
	f.Add([]byte{})
	f.Add([]byte("\n\n"))
	f.Add([]byte("not json\n"))
	f.Add(bytes.Replace(good, []byte(`"version":7`), []byte(`"version":8`), 1))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := verifyBytes(data)
		tr, err := parse(data)
		if r.Intact() {
			if err != nil {
				t.Fatalf("intact but Read fails: %v", err)
			}
			if r.Events != len(tr.Events) || r.Head != tr.Head() {
				t.Fatalf("verify saw %d events (head %s), read %d (head %s)", r.Events, r.Head, len(tr.Events), tr.Head())
			}
		}
		if r.Torn != nil && (r.Torn.Offset < 0 || r.Torn.Offset > int64(len(data))) {
			t.Fatalf("torn offset %d outside the file (%d bytes)", r.Torn.Offset, len(data))
		}
		if err == nil {
			_ = tr.Steps()
			_, _ = tr.RunStarted()
			_ = tr.Status()
		}
	})
}

// FuzzRoundTrip: any string values, and keys, survive writing and read
// back as an intact transcript with the same values.
func FuzzRoundTrip(f *testing.F) {
	f.Add("support", "token", "(sensitive)")
	f.Add("", "", "")
	f.Add("<script>&amp;</script>", "\u2028", "\"\\\n\t")
	f.Add("\xff\xfe invalid", "é", "\x00")
	f.Add(`","hash":"`, `"}`, "}\n{")
	f.Fuzz(func(t *testing.T, value, key, other string) {
		fs := newMemFS()
		w, err := Create("mem", "r1", WithFS(fs))
		if err != nil {
			t.Fatal(err)
		}
		fields := []map[string]any{
			{"value": value, "nested": map[string]any{key: value, "list": []string{other, value}}},
			{"other": other, "raw": json.RawMessage(mustJSON(t, map[string]string{key: other}))},
		}
		if !reserved[key] {
			fields = append(fields, map[string]any{key: value})
		}
		for _, fl := range fields {
			if _, err := appendEvent(w, "e", fl); err != nil {
				t.Fatalf("append %#v: %v", fl, err)
			}
		}
		if _, err := appendEvent(w, value+"x", nil); err != nil {
			t.Fatalf("append with type %q: %v", value+"x", err)
		}
		data := fs.bytes(w.Path())
		r := verifyBytes(data)
		if !r.Intact() || r.Events != len(fields)+1 {
			t.Fatalf("verify: %+v %v torn %v\n%s", r, r.Problem, r.Torn, data)
		}
		tr, err := parse(data)
		if err != nil {
			t.Fatal(err)
		}
		if utf8.ValidString(value) && utf8.ValidString(key) {
			if got := tr.Events[0].Str("value"); got != value {
				t.Fatalf("value %q read back as %q", value, got)
			}
			var nested map[string]any
			if err := tr.Events[0].Decode("nested", &nested); err != nil || nested[key] != value && key != "list" {
				t.Fatalf("nested %q: %v (%v)", key, nested, err)
			}
			if got := tr.Events[len(tr.Events)-1].Type; got != value+"x" {
				t.Fatalf("type %q read back as %q", value+"x", got)
			}
		}
	})
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
