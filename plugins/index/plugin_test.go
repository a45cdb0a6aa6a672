package index

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
)

func TestConfigure(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	writeTree(t, dir, map[string]string{"f": "x"})
	tests := []struct {
		name    string
		cfg     config
		wantErr string // attribute the error is on; "" for none
		want    string
	}{
		{"file backend", config{path: dir}, "", ""},
		{"keep 1", config{path: dir, keep: 1}, "", ""},
		{"build_command", config{path: dir, buildCommand: "true"}, "", ""},
		{"unknown backend", config{backend: "sqlite", path: dir}, "backend", `"sqlite" is not a backend`},
		{"no path", config{}, "path", "path = "},
		{"missing path", config{path: filepath.Join(dir, "nope")}, "path", "nope"},
		{"path is a file", config{path: file}, "path", "is a file"},
		{"keep -1", config{path: dir, keep: -1}, "keep", "at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := New().Configure(context.Background(), tt.cfg.val())
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantPluginError(t, err, tt.wantErr, tt.want)
		})
	}
	t.Run("keep not whole", func(t *testing.T) {
		v := config{path: dir}.val()
		m := v.AsValueMap()
		m["keep"] = cty.NumberFloatVal(1.5)
		wantPluginError(t, New().Configure(context.Background(), cty.ObjectVal(m)), "keep", "1.5")
	})
	t.Run("not configured", func(t *testing.T) {
		_, err := New().Apply(context.Background(), &plugins.ActionRequest{Action: "status", Args: nameArgs("kb")})
		if err == nil || !strings.Contains(err.Error(), "not configured") {
			t.Fatalf("error %v, want not configured", err)
		}
	})
}

func TestStatus(t *testing.T) {
	dir := newIndex(t, "kb")
	if err := os.Mkdir(filepath.Join(dir, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	p, _ := newPlugin(t, config{path: dir})
	src := corpus(t, 3)
	first := mustRun(t, p, "rebuild", rebuildArgsVal("kb", src))
	second := mustRun(t, p, "rebuild", rebuildArgsVal("kb", corpus(t, 4)))

	damaged := newIndex(t, "broken")
	if err := os.Symlink("builds/20260101T000000Z", filepath.Join(damaged, "broken", currentLink)); err != nil {
		t.Fatal(err)
	}
	pd, _ := newPlugin(t, config{path: damaged})

	tests := []struct {
		name     string
		p        *testPlugin
		index    string
		live     string
		docs     int64
		versions []string
		errPath  string
		errText  string
	}{
		{name: "two builds", p: p, index: "kb", live: str(second, "version"), docs: 4,
			versions: []string{str(first, "version"), str(second, "version")}},
		{name: "no build yet", p: p, index: "empty", versions: []string{}},
		{name: "unknown index", p: p, index: "nope", errPath: "name", errText: `no index "nope"`},
		{name: "invalid name", p: p, index: "../kb", errPath: "name", errText: "cannot name an index"},
		{name: "hidden name", p: p, index: ".lock", errPath: "name", errText: "cannot name an index"},
		{name: "empty name", p: p, index: "", errPath: "name", errText: "Missing index name"},
		{name: "damaged current", p: pd, index: "broken", errText: "does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := run(t, tt.p, "status", nameArgs(tt.index))
			if tt.errText != "" {
				if err == nil {
					t.Fatalf("no error, want %q", tt.errText)
				}
				if tt.errPath != "" {
					wantPluginError(t, err, tt.errPath, tt.errText)
				} else if !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("error %q, want %q", err, tt.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := str(out, "active_version"); got != tt.live {
				t.Errorf("active_version %q, want %q", got, tt.live)
			}
			if got := num(out, "doc_count"); got != tt.docs {
				t.Errorf("doc_count %d, want %d", got, tt.docs)
			}
			var versions []string
			for _, v := range out.GetAttr("versions").AsValueSlice() {
				versions = append(versions, v.AsString())
			}
			if versions == nil {
				versions = []string{}
			}
			if diff := cmp.Diff(tt.versions, versions); diff != "" {
				t.Errorf("versions (-want +got):\n%s", diff)
			}
			if errs := out.Type().TestConformance(Schema.Actions["status"].Output); errs != nil {
				t.Errorf("output type %s", out.Type().FriendlyName())
			}
		})
	}
}

func TestRebuild(t *testing.T) {
	tests := []struct {
		name    string
		live    int // documents of the live build made first; 0 for none
		source  map[string]string
		args    []any
		docs    int64
		errPath string
		errText string
	}{
		{name: "first build", source: map[string]string{"a.txt": "alpha", "b.md": "# beta"}, docs: 2},
		{name: "all three kinds, nested, hidden and empty skipped", live: 2, source: map[string]string{
			"a.txt": "alpha", "guides/b.md": "# beta", "faq.jsonl": "{\"text\": \"q1\"}\n\n{\"q\": 2}\n\"plain\"\n",
			".git/x.txt": "hidden", "empty.md": " \n", "notes.pdf": "ignored",
		}, docs: 5},
		{name: "same size", live: 4, source: corpusFiles(4), docs: 4},
		{name: "shrink to exactly half", live: 10, source: corpusFiles(5), docs: 5},
		{name: "shrink below half refused", live: 10, source: corpusFiles(4), errPath: "max_shrink", errText: "60% fewer"},
		{name: "max_shrink 1 allows any shrink", live: 10, source: corpusFiles(1), args: []any{"max_shrink", 1.0}, docs: 1},
		{name: "max_shrink 0 refuses any loss", live: 10, source: corpusFiles(9), args: []any{"max_shrink", 0.0}, errPath: "max_shrink", errText: "10% fewer"},
		{name: "min_docs refused", live: 3, source: corpusFiles(3), args: []any{"min_docs", 4}, errPath: "min_docs", errText: "fewer than min_docs = 4"},
		{name: "empty corpus refused by default", live: 2, source: map[string]string{"x.pdf": ""}, errPath: "min_docs", errText: "0 documents"},
		{name: "empty corpus with min_docs 0", source: map[string]string{}, args: []any{"min_docs", 0}, docs: 0},
		{name: "invalid min_docs", source: corpusFiles(1), args: []any{"min_docs", -1}, errPath: "min_docs", errText: "at least 0"},
		{name: "invalid max_shrink", source: corpusFiles(1), args: []any{"max_shrink", 1.5}, errPath: "max_shrink", errText: "from 0 to 1"},
		{name: "bad jsonl line", live: 1, source: map[string]string{"faq.jsonl": "{\"text\": \"ok\"}\n[1, 2]\n"}, errText: "faq.jsonl:2: want a JSON object or string"},
		{name: "invalid json", live: 1, source: map[string]string{"faq.jsonl": "{\"text\": \n"}, errText: "faq.jsonl:1: invalid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := newIndex(t, "kb")
			p, _ := newPlugin(t, config{path: dir})
			prev := ""
			if tt.live > 0 {
				prev = str(mustRun(t, p, "rebuild", rebuildArgsVal("kb", corpus(t, tt.live))), "version")
			}
			before := treeHash(t, dir)
			src := t.TempDir()
			writeTree(t, src, tt.source)
			out, lines, err := run(t, p, "rebuild", rebuildArgsVal("kb", src, tt.args...))
			if tt.errText != "" {
				if err == nil {
					t.Fatalf("no error, want %q", tt.errText)
				}
				if tt.errPath != "" {
					wantPluginError(t, err, tt.errPath, tt.errText)
				} else if !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("error %q, want %q", err, tt.errText)
				}
				if after := treeHash(t, dir); after != before {
					t.Errorf("a refused rebuild changed the index folder: %v", builds(t, dir, "kb"))
				}
				return
			}
			if err != nil {
				t.Fatalf("%v (progress %q)", err, lines)
			}
			version := str(out, "version")
			if got := num(out, "doc_count"); got != tt.docs {
				t.Errorf("doc_count %d, want %d", got, tt.docs)
			}
			if got := str(out, "previous_version"); got != prev {
				t.Errorf("previous_version %q, want %q", got, prev)
			}
			if got := currentTarget(t, dir, "kb"); got != "builds/"+version {
				t.Errorf("current → %q, want builds/%s", got, version)
			}
			m, err := readManifest(filepath.Join(dir, "kb", buildsDir, version))
			if err != nil {
				t.Fatal(err)
			}
			sum, err := contentDigest(filepath.Join(dir, "kb", buildsDir, version))
			if err != nil {
				t.Fatal(err)
			}
			if m.Version != version || m.DocCount != tt.docs || m.Source != src || m.SHA256 != sum || m.BuiltAt.IsZero() {
				t.Errorf("manifest %+v, want version %s, %d docs, source %s, sha256 %s", m, version, tt.docs, src, sum)
			}
			docs := readDocs(t, filepath.Join(dir, "kb", buildsDir, version, docsFile))
			if int64(len(docs)) != tt.docs {
				t.Errorf("docs.jsonl holds %d documents, want %d", len(docs), tt.docs)
			}
			h := history(t, dir, "kb")
			last := h[len(h)-1]
			wantFrom := any(prev)
			if prev == "" {
				wantFrom = nil
			}
			if last["action"] != "rebuild" || last["from"] != wantFrom || last["to"] != version || last["operator"] != "alice@host" || last["run_id"] != "run-1" {
				t.Errorf("history entry %v", last)
			}
			for _, want := range []string{"read " + plural(tt.docs, "document") + " from " + src, "verified: ", "swapped current → " + version} {
				if !contains(lines, want) {
					t.Errorf("progress %q lacks %q", lines, want)
				}
			}
			if slices.ContainsFunc(builds(t, dir, "kb"), func(s string) bool { return strings.HasPrefix(s, ".") }) {
				t.Errorf("temporary folders left: %v", builds(t, dir, "kb"))
			}
		})
	}
}

func corpusFiles(n int) map[string]string {
	files := map[string]string{}
	for i := range n {
		files[filepath.Join("d", string(rune('a'+i%26))+strings.Repeat("x", i/26)+".txt")] = "text"
	}
	return files
}

func readDocs(t *testing.T, path string) []document {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var docs []document
	for line := range strings.SplitSeq(strings.TrimSpace(string(b)), "\n") {
		if line == "" {
			continue
		}
		var d document
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatalf("docs.jsonl line %q: %v", line, err)
		}
		docs = append(docs, d)
	}
	return docs
}

// The built-in builder's documents: ids, order, text and meta.
func TestCorpusDocuments(t *testing.T) {
	src := t.TempDir()
	writeTree(t, src, map[string]string{
		"b.md":          "# B\n",
		"a/z.txt":       "nested",
		"a.txt":         "first",
		"faq.jsonl":     "{\"id\": \"q1\", \"text\": \"How?\"}\n  \n{\"question\": \"Why?\"}\n\"just text\"\n{\"text\": 7}",
		"UPPER.TXT":     "upper",
		".hidden/x.txt": "no",
	})
	var got []document
	stats, err := scanCorpus(context.Background(), src, func(d *document, n int64) error {
		if n != int64(len(got)+1) {
			t.Errorf("count %d at document %d", n, len(got)+1)
		}
		got = append(got, *d)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []document{
		{ID: "UPPER.TXT", Path: "UPPER.TXT", Text: "upper"},
		{ID: "a.txt", Path: "a.txt", Text: "first"},
		{ID: "a/z.txt", Path: "a/z.txt", Text: "nested"},
		{ID: "b.md", Path: "b.md", Text: "# B\n"},
		{ID: "faq.jsonl:1", Path: "faq.jsonl", Line: 1, Text: "How?", Meta: json.RawMessage(`{"id":"q1","text":"How?"}`)},
		{ID: "faq.jsonl:3", Path: "faq.jsonl", Line: 3, Text: `{"question": "Why?"}`, Meta: json.RawMessage(`{"question":"Why?"}`)},
		{ID: "faq.jsonl:4", Path: "faq.jsonl", Line: 4, Text: "just text"},
		{ID: "faq.jsonl:5", Path: "faq.jsonl", Line: 5, Text: `{"text": 7}`, Meta: json.RawMessage(`{"text":7}`)},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("documents (-want +got):\n%s", diff)
	}
	if stats.Docs != 8 || stats.Files != 5 {
		t.Errorf("stats %+v", stats)
	}
}

func TestRollback(t *testing.T) {
	type step struct {
		action  string // "rebuild" or "rollback"
		docs    int
		wantTo  int // index of the build that should be live after, -1 for none
		errText string
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"back to the previous build", []step{
			{action: "rebuild", docs: 3, wantTo: 0},
			{action: "rebuild", docs: 4, wantTo: 1},
			{action: "rollback", wantTo: 0},
		}},
		{"twice goes further back", []step{
			{action: "rebuild", docs: 3, wantTo: 0},
			{action: "rebuild", docs: 3, wantTo: 1},
			{action: "rebuild", docs: 3, wantTo: 2},
			{action: "rollback", wantTo: 1},
			{action: "rollback", wantTo: 0},
			{action: "rollback", wantTo: 0, errText: "no build older than the live build"},
		}},
		{"no earlier build", []step{
			{action: "rebuild", docs: 3, wantTo: 0},
			{action: "rollback", wantTo: 0, errText: "no build older than the live build"},
		}},
		{"no build at all", []step{
			{action: "rollback", wantTo: -1, errText: "no live build yet"},
		}},
		{"rebuild after a rollback", []step{
			{action: "rebuild", docs: 3, wantTo: 0},
			{action: "rebuild", docs: 3, wantTo: 1},
			{action: "rollback", wantTo: 0},
			{action: "rebuild", docs: 3, wantTo: 2},
			{action: "rollback", wantTo: 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := newIndex(t, "kb")
			p, _ := newPlugin(t, config{path: dir})
			var made []string
			live := ""
			for i, s := range tt.steps {
				before := treeHash(t, dir)
				var a cty.Value
				if s.action == "rebuild" {
					a = rebuildArgsVal("kb", corpus(t, s.docs))
				} else {
					a = nameArgs("kb")
				}
				out, lines, err := run(t, p, s.action, a)
				if s.errText != "" {
					wantPluginError(t, err, "name", s.errText)
					if treeHash(t, dir) != before {
						t.Errorf("step %d: a refused rollback changed the index", i)
					}
				} else if err != nil {
					t.Fatalf("step %d: %v", i, err)
				} else {
					if s.action == "rebuild" {
						made = append(made, str(out, "version"))
					}
					if got := str(out, "previous_version"); got != live {
						t.Errorf("step %d: previous_version %q, want %q", i, got, live)
					}
					if s.action == "rollback" && !contains(lines, "swapped current → "+str(out, "version")) {
						t.Errorf("step %d: progress %q", i, lines)
					}
				}
				want := ""
				if s.wantTo >= 0 {
					want = made[s.wantTo]
				}
				if got := currentTarget(t, dir, "kb"); got != strings.TrimSuffix("builds/"+want, "builds/") {
					t.Errorf("step %d: current → %q, want builds/%s", i, got, want)
				}
				if err == nil {
					if got := str(out, "version"); got != want {
						t.Errorf("step %d: version %q, want %q", i, got, want)
					}
				}
				live = want
			}
			for _, e := range history(t, dir, "kb") {
				if e["action"] == "rollback" && (e["from"] == nil || e["to"] == nil || e["run_id"] != "run-1") {
					t.Errorf("history entry %v", e)
				}
			}
		})
	}
	t.Run("unknown index", func(t *testing.T) {
		dir := newIndex(t, "kb")
		p, _ := newPlugin(t, config{path: dir})
		_, _, err := run(t, p, "rollback", nameArgs("kbb"))
		wantPluginError(t, err, "name", `no index "kbb"`, "indexes there: kb")
	})
}

func TestKeepPrunes(t *testing.T) {
	dir := newIndex(t, "kb")
	p, _ := newPlugin(t, config{path: dir, keep: 2})
	var made []string
	for range 4 {
		made = append(made, str(mustRun(t, p, "rebuild", rebuildArgsVal("kb", corpus(t, 2))), "version"))
	}
	if diff := cmp.Diff(made[2:], builds(t, dir, "kb")); diff != "" {
		t.Errorf("kept builds (-want +got):\n%s", diff)
	}
	var pruned []any
	for _, e := range history(t, dir, "kb") {
		if e["action"] == "prune" {
			pruned = append(pruned, e["from"])
		}
	}
	if diff := cmp.Diff([]any{made[0], made[1]}, pruned); diff != "" {
		t.Errorf("prune history (-want +got):\n%s", diff)
	}

	// Pruning never removes the live build, the one a rollback would go
	// back to (the newest older one, made[3]) nor the one that was live
	// before (made[2], after a rollback), whatever keep says.
	mustRun(t, p, "rollback", nameArgs("kb")) // live: made[2]
	p1, _ := newPlugin(t, config{path: dir, keep: 1})
	p1.backend.(*fileBackend).now = p.backend.(*fileBackend).now
	out := mustRun(t, p1, "rebuild", rebuildArgsVal("kb", corpus(t, 2)))
	want := []string{made[2], made[3], str(out, "version")}
	if diff := cmp.Diff(want, builds(t, dir, "kb")); diff != "" {
		t.Errorf("kept builds (-want +got):\n%s", diff)
	}
}

func TestPruneVersions(t *testing.T) {
	v := []string{"a", "b", "c", "d", "e"}
	tests := []struct {
		live string
		keep int
		also string
		want []string
	}{
		{"e", 5, "", nil},
		{"e", 2, "", []string{"a", "b", "c"}},
		{"e", 1, "", []string{"a", "b", "c"}},
		{"e", 1, "b", []string{"a", "c"}},
		{"b", 1, "", []string{"c", "d"}},
		{"a", 2, "", []string{"b", "c"}},
		{"", 2, "", []string{"a", "b", "c"}},
	}
	for _, tt := range tests {
		if got := pruneVersions(v, tt.live, tt.keep, tt.also); !slices.Equal(got, tt.want) {
			t.Errorf("pruneVersions(live %s, keep %d) = %v, want %v", tt.live, tt.keep, got, tt.want)
		}
	}
}

// A dry-run changes nothing: every byte of the index folder, every symlink
// target stays as it was, and the plan says exactly what would happen.
func TestPlanChangesNothing(t *testing.T) {
	dir := newIndex(t, "kb")
	if err := os.Mkdir(filepath.Join(dir, "fresh"), 0o755); err != nil {
		t.Fatal(err)
	}
	p, _ := newPlugin(t, config{path: dir, keep: 2})
	v1 := str(mustRun(t, p, "rebuild", rebuildArgsVal("kb", corpus(t, 5))), "version")
	v2 := str(mustRun(t, p, "rebuild", rebuildArgsVal("kb", corpus(t, 6))), "version")
	src := corpus(t, 7)
	missing := filepath.Join(t.TempDir(), "gone")
	// A leftover the next rebuild would remove.
	if err := os.Mkdir(filepath.Join(dir, "kb", buildsDir, ".building-20261126T150000Z"), 0o755); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		action  string
		args    cty.Value
		changes []string
		output  cty.Value
		errPath string
		errText string
	}{
		{name: "rebuild", action: "rebuild", args: rebuildArgsVal("kb", src),
			changes: []string{
				"kb: remove builds/.building-20261126T150000Z (an unfinished build, left by an interrupted change)",
				"kb: build " + v2 + " (6 docs) → new build from " + src + " (7 docs)",
				"kb: prune build " + v1 + " (keep = 2)",
			},
			output: cty.ObjectVal(map[string]cty.Value{
				"name": cty.StringVal("kb"), "version": cty.UnknownVal(cty.String),
				"doc_count": cty.NumberIntVal(7), "previous_version": cty.StringVal(v2),
			})},
		{name: "first rebuild", action: "rebuild", args: rebuildArgsVal("fresh", src),
			changes: []string{"fresh: (no live build) → new build from " + src + " (7 docs)"},
			output: cty.ObjectVal(map[string]cty.Value{
				"name": cty.StringVal("fresh"), "version": cty.UnknownVal(cty.String),
				"doc_count": cty.NumberIntVal(7), "previous_version": cty.StringVal(""),
			})},
		{name: "rebuild with unknown source", action: "rebuild",
			args:    args("rebuild", map[string]cty.Value{"name": cty.StringVal("fresh"), "source": cty.UnknownVal(cty.String)}),
			changes: []string{"fresh: (no live build) → new build (source known after apply)"},
			output: cty.ObjectVal(map[string]cty.Value{
				"name": cty.StringVal("fresh"), "version": cty.UnknownVal(cty.String),
				"doc_count": cty.UnknownVal(cty.Number), "previous_version": cty.StringVal(""),
			})},
		{name: "rollback", action: "rollback", args: nameArgs("kb"),
			changes: []string{"kb: build " + v2 + " → build " + v1},
			output: cty.ObjectVal(map[string]cty.Value{
				"name": cty.StringVal("kb"), "version": cty.StringVal(v1),
				"doc_count": cty.NumberIntVal(5), "previous_version": cty.StringVal(v2),
			})},
		{name: "rollback, unknown name", action: "rollback", args: cty.UnknownVal(Schema.Actions["rollback"].ArgsType()),
			changes: []string{"index rollback: (index known after apply)"},
			output:  cty.UnknownVal(buildOutput)},
		{name: "rebuild of an unknown index", action: "rebuild", args: rebuildArgsVal("nope", src), errPath: "name", errText: `no index "nope"`},
		{name: "missing source", action: "rebuild", args: rebuildArgsVal("kb", missing), errPath: "source", errText: missing + " does not exist"},
		{name: "shrink refused", action: "rebuild", args: rebuildArgsVal("kb", corpus(t, 2)), errPath: "max_shrink", errText: "Build refused"},
		{name: "min_docs refused", action: "rebuild", args: rebuildArgsVal("kb", src, "min_docs", 8), errPath: "min_docs", errText: "fewer than min_docs = 8"},
		{name: "rollback without an earlier build", action: "rollback", args: nameArgs("fresh"), errPath: "name", errText: "no live build"},
		{name: "rollback of an unknown index", action: "rollback", args: nameArgs("nope"), errPath: "name", errText: `no index "nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := treeHash(t, dir)
			res, err := p.Plan(context.Background(), &plugins.ActionRequest{Action: tt.action, Args: tt.args, RunID: "dry", Operator: "bob@host"})
			if after := treeHash(t, dir); after != before {
				t.Fatal("Plan changed the index folder")
			}
			if tt.errText != "" {
				wantPluginError(t, err, tt.errPath, tt.errText)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.changes, res.Changes); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
			if !res.Output.RawEquals(tt.output) {
				t.Errorf("output %#v, want %#v", res.Output, tt.output)
			}
		})
	}
	t.Run("status runs and changes nothing", func(t *testing.T) {
		before := treeHash(t, dir)
		mustRun(t, p, "status", nameArgs("kb"))
		res, err := p.Plan(context.Background(), &plugins.ActionRequest{Action: "status", Args: nameArgs("kb")})
		if err != nil || len(res.Changes) != 0 {
			t.Errorf("status plan %v, %v", res, err)
		}
		if treeHash(t, dir) != before {
			t.Fatal("status changed the index folder")
		}
	})
	// What the plan predicted is what the rebuild does.
	t.Run("apply matches the plan", func(t *testing.T) {
		out := mustRun(t, p, "rebuild", rebuildArgsVal("kb", src))
		if num(out, "doc_count") != 7 || str(out, "previous_version") != v2 {
			t.Errorf("output %#v", out)
		}
		if diff := cmp.Diff([]string{v2, str(out, "version")}, builds(t, dir, "kb")); diff != "" {
			t.Errorf("builds (-want +got):\n%s", diff)
		}
	})
}

// Concurrent rebuilds, each through its own plugin (as two runs would be),
// serialize on the index's lock: every one succeeds, each sees the one
// before it as live, and current always names a complete build.
func TestConcurrentRebuilds(t *testing.T) {
	dir := newIndex(t, "kb")
	const n = 6
	clock := newClock()
	var wg sync.WaitGroup
	outs := make([]cty.Value, n)
	errs := make([]error, n)
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			target, err := os.Readlink(filepath.Join(dir, "kb", currentLink))
			if err != nil {
				continue // no build yet
			}
			if _, err := readManifest(filepath.Join(dir, "kb", target)); err != nil {
				t.Errorf("current → %s, which is not a complete build: %v", target, err)
				return
			}
		}
	})
	for i := range n {
		p, _ := newPlugin(t, config{path: dir, keep: n})
		p.backend.(*fileBackend).now = clock.now
		src := corpus(t, 10+i)
		wg.Go(func() {
			outs[i], _, errs[i] = run(t, p, "rebuild", rebuildArgsVal("kb", src))
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("rebuild %d: %v", i, err)
		}
	}
	slices.SortFunc(outs, func(a, b cty.Value) int { return strings.Compare(str(a, "version"), str(b, "version")) })
	prev := ""
	for _, o := range outs {
		if got := str(o, "previous_version"); got != prev {
			t.Errorf("build %s: previous_version %q, want %q (an update was lost)", str(o, "version"), got, prev)
		}
		prev = str(o, "version")
	}
	if got := currentTarget(t, dir, "kb"); got != "builds/"+prev {
		t.Errorf("current → %s, want builds/%s", got, prev)
	}
	if got := len(builds(t, dir, "kb")); got != n {
		t.Errorf("%d builds, want %d", got, n)
	}
	rebuilds := 0
	for _, e := range history(t, dir, "kb") {
		if e["action"] == "rebuild" {
			rebuilds++
		}
	}
	if rebuilds != n {
		t.Errorf("%d rebuilds in history, want %d", rebuilds, n)
	}
}

// A crash between build and swap leaves current valid; the next rebuild
// works and clears what the crash left.
func TestCrashRecovery(t *testing.T) {
	tests := []struct {
		name  string
		leave func(t *testing.T, index string) // index is DIR/kb
		// gone are the paths (relative to the index) the rebuild removes.
		gone []string
	}{
		{"unfinished build", func(t *testing.T, index string) {
			writeTree(t, index, map[string]string{"builds/.building-20261126T150000Z/docs.jsonl": `{"id":"half`})
		}, []string{"builds/.building-20261126T150000Z"}},
		{"finished build never swapped", func(t *testing.T, index string) {
			writeTree(t, index, map[string]string{
				"builds/20261126T150000Z/docs.jsonl":    "{}\n",
				"builds/20261126T150000Z/manifest.json": `{"version":"20261126T150000Z","doc_count":1}`,
			})
		}, []string{"builds/20261126T150000Z"}},
		{"half-removed build", func(t *testing.T, index string) {
			writeTree(t, index, map[string]string{"builds/.deleting-20261126T130000Z/docs.jsonl": ""})
		}, []string{"builds/.deleting-20261126T130000Z"}},
		{"symlink never renamed", func(t *testing.T, index string) {
			if err := os.Symlink("builds/20261126T150000Z", filepath.Join(index, ".current.tmp-0123")); err != nil {
				t.Fatal(err)
			}
		}, []string{".current.tmp-0123"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := newIndex(t, "kb")
			p, _ := newPlugin(t, config{path: dir})
			live := str(mustRun(t, p, "rebuild", rebuildArgsVal("kb", corpus(t, 3))), "version")
			index := filepath.Join(dir, "kb")
			tt.leave(t, index)

			st := mustRun(t, p, "status", nameArgs("kb"))
			if str(st, "active_version") != live || num(st, "doc_count") != 3 {
				t.Errorf("after the crash, status %#v, want live %s", st, live)
			}
			res, err := p.Plan(context.Background(), &plugins.ActionRequest{Action: "rebuild", Args: rebuildArgsVal("kb", corpus(t, 3))})
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range tt.gone {
				if !contains(res.Changes, "remove "+g) {
					t.Errorf("plan %q does not mention removing %s", res.Changes, g)
				}
			}

			out, lines, err := run(t, p, "rebuild", rebuildArgsVal("kb", corpus(t, 3)))
			if err != nil {
				t.Fatalf("rebuild after the crash: %v", err)
			}
			if str(out, "previous_version") != live {
				t.Errorf("previous_version %q, want %q", str(out, "previous_version"), live)
			}
			for _, g := range tt.gone {
				if _, err := os.Lstat(filepath.Join(index, g)); !os.IsNotExist(err) {
					t.Errorf("%s still there", g)
				}
				if !contains(lines, "removed "+g) {
					t.Errorf("progress %q does not report removing %s", lines, g)
				}
			}
			if diff := cmp.Diff([]string{live, str(out, "version")}, builds(t, dir, "kb")); diff != "" {
				t.Errorf("builds (-want +got):\n%s", diff)
			}
			for _, g := range tt.gone {
				if v, ok := strings.CutPrefix(g, "builds/2"); ok && !slices.ContainsFunc(history(t, dir, "kb"), func(e map[string]any) bool {
					return e["action"] == "discard" && e["from"] == "2"+v && e["to"] == nil
				}) {
					t.Errorf("history does not record the discarded build %s", g)
				}
			}
			// A rollback goes back to what was live, not to the build
			// that never was.
			back := mustRun(t, p, "rollback", nameArgs("kb"))
			if str(back, "version") != live {
				t.Errorf("rollback to %s, want %s", str(back, "version"), live)
			}
		})
	}

	t.Run("build newer than live that was live before stays", func(t *testing.T) {
		dir := newIndex(t, "kb")
		p, _ := newPlugin(t, config{path: dir})
		v1 := str(mustRun(t, p, "rebuild", rebuildArgsVal("kb", corpus(t, 3))), "version")
		v2 := str(mustRun(t, p, "rebuild", rebuildArgsVal("kb", corpus(t, 3))), "version")
		mustRun(t, p, "rollback", nameArgs("kb"))
		v3 := str(mustRun(t, p, "rebuild", rebuildArgsVal("kb", corpus(t, 3))), "version")
		if diff := cmp.Diff([]string{v1, v2, v3}, builds(t, dir, "kb")); diff != "" {
			t.Errorf("builds (-want +got):\n%s", diff)
		}
	})
}

// A cancelled rebuild leaves nothing behind and current untouched.
func TestRebuildCancelled(t *testing.T) {
	dir := newIndex(t, "kb")
	p, _ := newPlugin(t, config{path: dir})
	mustRun(t, p, "rebuild", rebuildArgsVal("kb", corpus(t, 3)))
	before := treeHash(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := p.Apply(ctx, &plugins.ActionRequest{Action: "rebuild", Args: rebuildArgsVal("kb", corpus(t, 3))})
	if err == nil {
		t.Fatal("a cancelled rebuild succeeded")
	}
	if treeHash(t, dir) != before {
		t.Errorf("a cancelled rebuild changed the index: %v", builds(t, dir, "kb"))
	}
}

// A change that finds the index locked says it waits, then goes ahead.
func TestLockWaitIsReported(t *testing.T) {
	dir := newIndex(t, "kb")
	p, _ := newPlugin(t, config{path: dir})
	mustRun(t, p, "rebuild", rebuildArgsVal("kb", corpus(t, 2)))
	mustRun(t, p, "rebuild", rebuildArgsVal("kb", corpus(t, 2)))
	unlock, err := p.backend.Lock(context.Background(), "kb")
	if err != nil {
		t.Fatal(err)
	}
	released := make(chan struct{})
	go func() {
		time.Sleep(3 * lockPatience)
		unlock()
		close(released)
	}()
	_, lines, err := run(t, p, "rollback", nameArgs("kb"))
	<-released
	if err != nil {
		t.Fatal(err)
	}
	if !contains(lines, "waiting for another change of kb to finish") {
		t.Errorf("progress %q does not say it waited", lines)
	}
}
