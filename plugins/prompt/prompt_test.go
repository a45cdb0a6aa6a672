package prompt

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/examples/sample"
	"github.com/runbookdev/runbook/plugins"
)

// sampleState returns a pristine copy of the registry shipped with the
// runbooks: support-agent v1–v7 (production 7, staging 7) and summarizer
// v1–v3 (production 3).
func sampleState(t *testing.T) string {
	t.Helper()
	return filepath.Join(sample.Copy(t, "examples/state/prompts"), "examples", "state", "prompts")
}

// newRegistry copies the sample registry into a temp folder and returns
// the folder and a plugin configured on it.
func newRegistry(t *testing.T) (string, plugins.Plugin) {
	t.Helper()
	dir := sampleState(t)
	return dir, configured(t, dir)
}

func configured(t *testing.T, dir string) plugins.Plugin {
	t.Helper()
	p := New()
	t.Cleanup(func() { _ = p.Close() })
	cfg := cty.ObjectVal(map[string]cty.Value{"backend": cty.StringVal("file"), "path": cty.StringVal(dir)})
	if err := p.Configure(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	return p
}

// request builds an action request the way the host does: every argument
// present, defaults applied, the rest null.
func request(action string, set map[string]any) *plugins.ActionRequest {
	a := Schema.Actions[action]
	attrs := map[string]cty.Value{}
	for _, arg := range a.Args {
		v, ok := set[arg.Name]
		switch {
		case !ok && arg.Default != cty.NilVal:
			attrs[arg.Name] = arg.Default
		case !ok:
			attrs[arg.Name] = cty.NullVal(arg.Type)
		default:
			attrs[arg.Name] = toCty(v)
		}
	}
	return &plugins.ActionRequest{Action: action, Args: cty.ObjectVal(attrs), RunID: "20250601T120000Z-abc123", Operator: "tester@host"}
}

func toCty(v any) cty.Value {
	switch v := v.(type) {
	case cty.Value:
		return v
	case string:
		return cty.StringVal(v)
	case int:
		return cty.NumberIntVal(int64(v))
	case float64:
		return cty.NumberFloatVal(v)
	}
	panic(fmt.Sprintf("toCty: %T", v))
}

func statusOut(name, label string, version int, versions ...int) cty.Value {
	vs := make([]cty.Value, len(versions))
	for i, v := range versions {
		vs[i] = cty.NumberIntVal(int64(v))
	}
	list := cty.ListValEmpty(cty.Number)
	if len(vs) > 0 {
		list = cty.ListVal(vs)
	}
	return cty.ObjectVal(map[string]cty.Value{
		"name": cty.StringVal(name), "label": cty.StringVal(label),
		"version": cty.NumberIntVal(int64(version)), "versions": list,
	})
}

func moveOut(name, label string, version, previous int) cty.Value {
	return moveOutput(name, label, version, cty.NumberIntVal(int64(previous)))
}

func pubOut(name string, version int) cty.Value {
	return publishOutput(name, cty.NumberIntVal(int64(version)))
}

func seq(from, to int) []int {
	var out []int
	for v := from; v <= to; v++ {
		out = append(out, v)
	}
	return out
}

// checkOutput fails unless got equals want and has exactly the schema's
// output type.
func checkOutput(t *testing.T, action string, got, want cty.Value) {
	t.Helper()
	if ty := Schema.Actions[action].Output; !got.Type().Equals(ty) {
		t.Errorf("output type %s, want %s", got.Type().GoString(), ty.GoString())
	}
	if !got.RawEquals(want) {
		t.Errorf("output\n got %#v\nwant %#v", got, want)
	}
}

// wantError fails unless err is set, mentions every one of contains and,
// when path is set, is a plugins.Error at that argument.
func wantError(t *testing.T, err error, path string, contains ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one mentioning %q", contains)
	}
	for _, c := range contains {
		if !strings.Contains(err.Error(), c) {
			t.Errorf("error %q does not mention %q", err, c)
		}
	}
	if path == "" {
		return
	}
	var pe *plugins.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %T %q is not a plugins.Error", err, err)
	}
	if !pe.Path.Equals(cty.GetAttrPath(path)) {
		t.Errorf("error path %#v, want %s", pe.Path, path)
	}
}

// snapshot records every file and folder under dir with its mode and a
// hash of its content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			out[rel] = info.Mode().String()
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[rel] = info.Mode().String() + " " + hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// withoutLocks drops the lock files a failed change may leave: they hold
// no state.
func withoutLocks(s map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range s {
		if filepath.Base(k) != lockFile {
			out[k] = v
		}
	}
	return out
}

func readHistory(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e map[string]any
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("history line %q: %v", sc.Text(), err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func readLabelsFile(t *testing.T, dir, name string) map[string]int {
	t.Helper()
	labels, err := readLabels(filepath.Join(dir, name, labelsFile))
	if err != nil {
		t.Fatal(err)
	}
	return labels
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestConfigure(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	writeFile(t, file, "x")
	for _, tc := range []struct {
		name     string
		backend  cty.Value
		path     cty.Value
		errPath  string
		contains string
	}{
		{"file backend", cty.StringVal("file"), cty.StringVal(dir), "", ""},
		{"default backend", cty.NullVal(cty.String), cty.StringVal(dir), "", ""},
		{"unknown backend", cty.StringVal("consul"), cty.StringVal(dir), "backend", `backend = "consul"`},
		{"no path", cty.StringVal("file"), cty.NullVal(cty.String), "path", "path"},
		{"missing folder", cty.StringVal("file"), cty.StringVal(filepath.Join(dir, "nope")), "path", filepath.Join(dir, "nope")},
		{"a file", cty.StringVal("file"), cty.StringVal(file), "path", file},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := New().Configure(context.Background(), cty.ObjectVal(map[string]cty.Value{"backend": tc.backend, "path": tc.path}))
			if tc.errPath == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantError(t, err, tc.errPath, tc.contains)
		})
	}
}

func TestNotConfigured(t *testing.T) {
	_, err := New().Apply(context.Background(), request("status", map[string]any{"name": "support-agent"}))
	wantError(t, err, "", "not configured")
}

func TestStatus(t *testing.T) {
	for _, tc := range []struct {
		name    string
		setup   func(t *testing.T, dir string)
		args    map[string]any
		want    cty.Value
		errPath string
		errHas  []string // "DIR" stands for the registry folder
	}{
		{name: "production", args: map[string]any{"name": "support-agent"}, want: statusOut("support-agent", "production", 7, seq(1, 7)...)},
		{name: "staging", args: map[string]any{"name": "support-agent", "label": "staging"}, want: statusOut("support-agent", "staging", 7, seq(1, 7)...)},
		{name: "second prompt", args: map[string]any{"name": "summarizer"}, want: statusOut("summarizer", "production", 3, 1, 2, 3)},
		{name: "unset label serves 0", args: map[string]any{"name": "summarizer", "label": "canary"}, want: statusOut("summarizer", "canary", 0, 1, 2, 3)},
		{
			name: "md and json versions, sorted numerically, other files ignored",
			setup: func(t *testing.T, dir string) {
				writeFile(t, filepath.Join(dir, "summarizer", "10.md"), "ten")
				writeFile(t, filepath.Join(dir, "summarizer", "4.json"), `{"text": "four"}`)
				for _, junk := range []string{"05.txt", "notes.txt", "6.yaml", "7.txt.bak", ".8.txt.tmp-1", "0.txt"} {
					writeFile(t, filepath.Join(dir, "summarizer", junk), "junk")
				}
				if err := os.Mkdir(filepath.Join(dir, "summarizer", "9.txt"), 0o755); err != nil {
					t.Fatal(err)
				}
			},
			args: map[string]any{"name": "summarizer"},
			want: statusOut("summarizer", "production", 3, 1, 2, 3, 4, 10),
		},
		{
			name:  "prompt with no labels.json",
			setup: func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "fresh", "1.txt"), "hello") },
			args:  map[string]any{"name": "fresh"},
			want:  statusOut("fresh", "production", 0, 1),
		},
		{name: "unknown prompt", args: map[string]any{"name": "nope"}, errPath: "name", errHas: []string{`unknown prompt "nope"`, filepath.Join("DIR", "nope")}},
		{name: "name escaping the registry", args: map[string]any{"name": "../etc"}, errPath: "name", errHas: []string{"Invalid prompt name"}},
		{name: "invalid label", args: map[string]any{"name": "summarizer", "label": "prod uction"}, errPath: "label", errHas: []string{"Invalid label"}},
		{
			name: "label pointing at a missing version",
			setup: func(t *testing.T, dir string) {
				writeFile(t, filepath.Join(dir, "summarizer", labelsFile), `{"production": 9}`)
			},
			args:   map[string]any{"name": "summarizer"},
			errHas: []string{filepath.Join("DIR", "summarizer", labelsFile), "production at v9, which does not exist", "versions: 1–3"},
		},
		{
			name: "corrupt labels.json",
			setup: func(t *testing.T, dir string) {
				writeFile(t, filepath.Join(dir, "summarizer", labelsFile), `{"production": 3`)
			},
			args:   map[string]any{"name": "summarizer"},
			errHas: []string{filepath.Join("DIR", "summarizer", labelsFile), "corrupt"},
		},
		{
			name:   "version stored twice",
			setup:  func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "summarizer", "2.md"), "two") },
			args:   map[string]any{"name": "summarizer"},
			errHas: []string{"version 2 is stored twice", "2.md", "2.txt"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, p := newRegistry(t)
			if tc.setup != nil {
				tc.setup(t, dir)
			}
			before := snapshot(t, dir)
			// A read-only action answers the same in a plan and for real.
			for _, phase := range []string{"plan", "apply"} {
				var out cty.Value
				var err error
				if phase == "plan" {
					var res *plugins.PlanResult
					if res, err = p.Plan(context.Background(), request("status", tc.args)); err == nil {
						out = res.Output
						if len(res.Changes) != 0 {
							t.Errorf("plan of status lists changes %q", res.Changes)
						}
					}
				} else {
					var res *plugins.ApplyResult
					if res, err = p.Apply(context.Background(), request("status", tc.args)); err == nil {
						out = res.Output
					}
				}
				if tc.errHas != nil {
					has := make([]string, len(tc.errHas))
					for i, h := range tc.errHas {
						has[i] = strings.ReplaceAll(h, "DIR", dir)
					}
					wantError(t, err, tc.errPath, has...)
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", phase, err)
				}
				checkOutput(t, "status", out, tc.want)
			}
			if diff := cmp.Diff(before, snapshot(t, dir)); diff != "" {
				t.Errorf("status changed the registry:\n%s", diff)
			}
		})
	}
}

// change is one mutating case: its plan, its result and what it leaves in
// the registry.
type change struct {
	name        string
	setup       func(t *testing.T, dir string)
	action      string
	args        map[string]any
	wantChanges []string
	want        cty.Value
	// prompt, labels and history describe the prompt after the change;
	// history is the new line's subject, from (nil or a number) and to, or
	// nil for no new line.
	prompt  string
	labels  map[string]int
	history *historyWant
	// errPath and errHas describe an error, at plan and apply alike; then
	// nothing may change.
	errPath string
	errHas  []string
}

type historyWant struct {
	subject string
	from    any
	to      int
}

var changes = []change{
	// publish
	{
		name: "publish unlabelled", action: "publish",
		args:        map[string]any{"name": "support-agent", "text": "You are Lumen's support assistant, v8."},
		wantChanges: []string{"support-agent: new version v8"},
		want:        pubOut("support-agent", 8),
		prompt:      "support-agent", labels: map[string]int{"production": 7, "staging": 7},
		history: &historyWant{"support-agent", 7.0, 8},
	},
	{
		name: "publish labelled", action: "publish",
		args:        map[string]any{"name": "support-agent", "text": "v8 text", "label": "staging"},
		wantChanges: []string{"support-agent: new version v8 (labelled staging)"},
		want:        pubOut("support-agent", 8),
		prompt:      "support-agent", labels: map[string]int{"production": 7, "staging": 8},
		history: &historyWant{"support-agent/staging", 7.0, 8},
	},
	{
		name: "publish a new label", action: "publish",
		args:        map[string]any{"name": "summarizer", "text": "v4 text", "label": "canary"},
		wantChanges: []string{"summarizer: new version v4 (labelled canary)"},
		want:        pubOut("summarizer", 4),
		prompt:      "summarizer", labels: map[string]int{"production": 3, "canary": 4},
		history: &historyWant{"summarizer/canary", nil, 4},
	},
	{
		name: "publish above the highest of any extension", action: "publish",
		setup:       func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "summarizer", "5.md"), "five") },
		args:        map[string]any{"name": "summarizer", "text": "six"},
		wantChanges: []string{"summarizer: new version v6"},
		want:        pubOut("summarizer", 6),
		prompt:      "summarizer", labels: map[string]int{"production": 3},
		history: &historyWant{"summarizer", 5.0, 6},
	},
	{
		name: "publish a new prompt", action: "publish",
		args:        map[string]any{"name": "triage", "text": "Classify the ticket.", "label": "staging"},
		wantChanges: []string{"triage: new prompt", "triage: new version v1 (labelled staging)"},
		want:        pubOut("triage", 1),
		prompt:      "triage", labels: map[string]int{"staging": 1},
		history: &historyWant{"triage/staging", nil, 1},
	},
	{
		name: "publish empty text", action: "publish",
		args:    map[string]any{"name": "support-agent", "text": " \n"},
		errPath: "text", errHas: []string{"Empty prompt text"},
	},
	{
		name: "publish with corrupt labels.json", action: "publish",
		setup: func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "summarizer", labelsFile), `{"production": "3"}`)
		},
		args:   map[string]any{"name": "summarizer", "text": "v4"},
		errHas: []string{filepath.Join("DIR", "summarizer", labelsFile), "corrupt", `label "production": want a version number`},
	},
	// rollback
	{
		name: "rollback to the previous version", action: "rollback",
		args:        map[string]any{"name": "support-agent"},
		wantChanges: []string{"production: v7 → v6"},
		want:        moveOut("support-agent", "production", 6, 7),
		prompt:      "support-agent", labels: map[string]int{"production": 6, "staging": 7},
		history: &historyWant{"support-agent/production", 7.0, 6},
	},
	{
		name: "rollback to a given version", action: "rollback",
		args:        map[string]any{"name": "support-agent", "label": "staging", "to_version": 3},
		wantChanges: []string{"staging: v7 → v3"},
		want:        moveOut("support-agent", "staging", 3, 7),
		prompt:      "support-agent", labels: map[string]int{"production": 7, "staging": 3},
		history: &historyWant{"support-agent/staging", 7.0, 3},
	},
	{
		name: "rollback skips missing versions", action: "rollback",
		setup: func(t *testing.T, dir string) {
			for _, v := range []int{5, 6} {
				if err := os.Remove(filepath.Join(dir, "support-agent", fmt.Sprintf("%d.txt", v))); err != nil {
					t.Fatal(err)
				}
			}
		},
		args:        map[string]any{"name": "support-agent"},
		wantChanges: []string{"production: v7 → v4"},
		want:        moveOut("support-agent", "production", 4, 7),
		prompt:      "support-agent", labels: map[string]int{"production": 4, "staging": 7},
		history: &historyWant{"support-agent/production", 7.0, 4},
	},
	{
		name: "rollback a label pointing at a missing version", action: "rollback",
		setup: func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "summarizer", labelsFile), `{"production": 9}`)
		},
		args:        map[string]any{"name": "summarizer"},
		wantChanges: []string{"production: v9 → v3"},
		want:        moveOut("summarizer", "production", 3, 9),
		prompt:      "summarizer", labels: map[string]int{"production": 3},
		history: &historyWant{"summarizer/production", 9.0, 3},
	},
	{
		name: "rollback with no earlier version", action: "rollback",
		setup: func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "summarizer", labelsFile), `{"production": 1}`)
		},
		args:   map[string]any{"name": "summarizer"},
		errHas: []string{`prompt "summarizer": production serves v1 and there is no earlier version`},
	},
	{
		name: "rollback with no earlier version and to_version set", action: "rollback",
		setup: func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "summarizer", labelsFile), `{"production": 1}`)
		},
		args:   map[string]any{"name": "summarizer", "to_version": 2},
		errHas: []string{"no earlier version"},
	},
	{
		name: "rollback to the live version", action: "rollback",
		args:    map[string]any{"name": "support-agent", "to_version": 7},
		errPath: "to_version", errHas: []string{"v7 is not below v7"},
	},
	{
		name: "rollback forward", action: "rollback",
		args: map[string]any{"name": "support-agent", "label": "staging", "to_version": 7},
		setup: func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "support-agent", labelsFile), `{"production": 7, "staging": 5}`)
		},
		errPath: "to_version", errHas: []string{"v7 is not below v5"},
	},
	{
		name: "rollback to a missing version", action: "rollback",
		args:    map[string]any{"name": "support-agent", "to_version": 12},
		errPath: "to_version", errHas: []string{`prompt "support-agent" has no version 12 (versions: 1–7)`},
	},
	{
		name: "rollback to a fraction", action: "rollback",
		args:    map[string]any{"name": "support-agent", "to_version": 2.5},
		errPath: "to_version", errHas: []string{"2.5 is not a version number"},
	},
	{
		name: "rollback an unset label", action: "rollback",
		args:    map[string]any{"name": "support-agent", "label": "canary"},
		errPath: "label", errHas: []string{`no label "canary"`, labelsFile},
	},
	{
		name: "rollback an unknown prompt", action: "rollback",
		args:    map[string]any{"name": "nope"},
		errPath: "name", errHas: []string{`unknown prompt "nope"`, filepath.Join("DIR", "nope")},
	},
	{
		name: "rollback with corrupt labels.json", action: "rollback",
		setup: func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "support-agent", labelsFile), `{"production": 7, "production": 6}`)
		},
		args:   map[string]any{"name": "support-agent"},
		errHas: []string{filepath.Join("DIR", "support-agent", labelsFile), `label "production" is set twice`},
	},
	// promote
	{
		name: "promote", action: "promote",
		setup: func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "support-agent", labelsFile), `{"production": 5, "staging": 7}`)
		},
		args:        map[string]any{"name": "support-agent", "version": 7},
		wantChanges: []string{"production: v5 → v7"},
		want:        moveOut("support-agent", "production", 7, 5),
		prompt:      "support-agent", labels: map[string]int{"production": 7, "staging": 7},
		history: &historyWant{"support-agent/production", 5.0, 7},
	},
	{
		name: "promote an older version", action: "promote",
		args:        map[string]any{"name": "support-agent", "label": "staging", "version": 2},
		wantChanges: []string{"staging: v7 → v2"},
		want:        moveOut("support-agent", "staging", 2, 7),
		prompt:      "support-agent", labels: map[string]int{"production": 7, "staging": 2},
		history: &historyWant{"support-agent/staging", 7.0, 2},
	},
	{
		name: "promote sets a new label", action: "promote",
		args:        map[string]any{"name": "summarizer", "label": "canary", "version": 2},
		wantChanges: []string{"canary: (unset) → v2"},
		want:        moveOut("summarizer", "canary", 2, 0),
		prompt:      "summarizer", labels: map[string]int{"production": 3, "canary": 2},
		history: &historyWant{"summarizer/canary", nil, 2},
	},
	{
		name: "promote the live version changes nothing", action: "promote",
		args:   map[string]any{"name": "support-agent", "version": 7},
		want:   moveOut("support-agent", "production", 7, 7),
		prompt: "support-agent", labels: map[string]int{"production": 7, "staging": 7},
	},
	{
		name: "promote a missing version", action: "promote",
		args:    map[string]any{"name": "support-agent", "version": 12},
		errPath: "version", errHas: []string{`prompt "support-agent" has no version 12 (versions: 1–7)`},
	},
	{
		name: "promote version 0", action: "promote",
		args:    map[string]any{"name": "support-agent", "version": 0},
		errPath: "version", errHas: []string{"0 is not a version number"},
	},
	{
		name: "promote an unknown prompt", action: "promote",
		args:    map[string]any{"name": "nope", "version": 1},
		errPath: "name", errHas: []string{`unknown prompt "nope"`},
	},
	{
		name: "promote with corrupt labels.json", action: "promote",
		setup:  func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "support-agent", labelsFile), `[7]`) },
		args:   map[string]any{"name": "support-agent", "version": 6},
		errHas: []string{filepath.Join("DIR", "support-agent", labelsFile), "want an object"},
	},
}

// TestChanges runs every mutating case twice on fresh registries: as a
// plan, which must predict exactly and leave every byte as it was, and for
// real, which must return what the plan predicted and leave the registry,
// labels.json and history.jsonl as described.
func TestChanges(t *testing.T) {
	for _, tc := range changes {
		t.Run(tc.name, func(t *testing.T) {
			errHas := func(dir string) []string {
				out := make([]string, len(tc.errHas))
				for i, h := range tc.errHas {
					out[i] = strings.ReplaceAll(h, "DIR", dir)
				}
				return out
			}

			// Plan.
			dir, p := newRegistry(t)
			if tc.setup != nil {
				tc.setup(t, dir)
			}
			before := snapshot(t, dir)
			plan, err := p.Plan(context.Background(), request(tc.action, tc.args))
			if diff := cmp.Diff(before, snapshot(t, dir)); diff != "" {
				t.Errorf("plan changed the registry:\n%s", diff)
			}
			if tc.errHas != nil {
				wantError(t, err, tc.errPath, errHas(dir)...)
			} else {
				if err != nil {
					t.Fatalf("plan: %v", err)
				}
				if diff := cmp.Diff(tc.wantChanges, plan.Changes); diff != "" {
					t.Errorf("plan changes (-want +got):\n%s", diff)
				}
				checkOutput(t, tc.action, plan.Output, tc.want)
			}

			// Apply.
			dir, p = newRegistry(t)
			if tc.setup != nil {
				tc.setup(t, dir)
			}
			before = snapshot(t, dir)
			res, err := p.Apply(context.Background(), request(tc.action, tc.args))
			if tc.errHas != nil {
				wantError(t, err, tc.errPath, errHas(dir)...)
				if diff := cmp.Diff(withoutLocks(before), withoutLocks(snapshot(t, dir))); diff != "" {
					t.Errorf("a failed %s changed the registry:\n%s", tc.action, diff)
				}
				return
			}
			if err != nil {
				t.Fatalf("apply: %v", err)
			}
			checkOutput(t, tc.action, res.Output, tc.want)
			if diff := cmp.Diff(tc.labels, readLabelsFile(t, dir, tc.prompt)); diff != "" {
				t.Errorf("labels.json (-want +got):\n%s", diff)
			}
			histPath := filepath.Join(dir, tc.prompt, historyFile)
			hist := readHistory(t, histPath)
			old := readHistory(t, filepath.Join(sampleState(t), tc.prompt, historyFile))
			if tc.history == nil {
				if len(hist) != len(old) {
					t.Errorf("history has %d lines, want %d: nothing changed", len(hist), len(old))
				}
				return
			}
			if len(hist) != len(old)+1 {
				t.Fatalf("history has %d lines, want %d", len(hist), len(old)+1)
			}
			last := hist[len(hist)-1]
			want := map[string]any{
				"action": tc.action, "subject": tc.history.subject, "from": tc.history.from, "to": float64(tc.history.to),
				"operator": "tester@host", "run_id": "20250601T120000Z-abc123", "time": last["time"],
			}
			if diff := cmp.Diff(want, last); diff != "" {
				t.Errorf("history entry (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPublishWritesTheTextExactly(t *testing.T) {
	dir, p := newRegistry(t)
	text := "Line one.\n\tIndented — ünïcode.\nNo trailing newline"
	if _, err := p.Apply(context.Background(), request("publish", map[string]any{"name": "summarizer", "text": text})); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "summarizer", "4.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != text {
		t.Errorf("4.txt = %q, want %q", b, text)
	}
	fi, err := os.Stat(filepath.Join(dir, "summarizer", "4.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("4.txt mode %v, want 0644", fi.Mode().Perm())
	}
	for _, e := range mustReadDir(t, filepath.Join(dir, "summarizer")) {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temp file %s left behind", e.Name())
		}
	}
}

func mustReadDir(t *testing.T, dir string) []os.DirEntry {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

// A version that exists is never replaced, even when a writer that
// ignores the lock has created it.
func TestPublishNeverOverwrites(t *testing.T) {
	dir, _ := newRegistry(t)
	folder := filepath.Join(dir, "support-agent")
	before, err := os.ReadFile(filepath.Join(folder, "7.txt"))
	if err != nil {
		t.Fatal(err)
	}
	err = writeVersion(folder, 7, "replacement")
	wantError(t, err, "", "version 7 already exists", "not overwritten")
	after, err := os.ReadFile(filepath.Join(folder, "7.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if string(after) != string(before) {
		t.Errorf("7.txt was overwritten")
	}
	for _, e := range mustReadDir(t, folder) {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temp file %s left behind", e.Name())
		}
	}
}

// Twenty publishers at once: each gets its own version, every text lands
// in the version reported for it, and the history holds every publish.
func TestConcurrentPublish(t *testing.T) {
	dir, _ := newRegistry(t)
	const writers = 20
	var wg sync.WaitGroup
	versions := make([]int, writers)
	for i := range writers {
		wg.Go(func() {
			// A plugin per writer, as separate runbook processes would have.
			p := New()
			cfg := cty.ObjectVal(map[string]cty.Value{"backend": cty.StringVal("file"), "path": cty.StringVal(dir)})
			if err := p.Configure(context.Background(), cfg); err != nil {
				t.Error(err)
				return
			}
			res, err := p.Apply(context.Background(), request("publish", map[string]any{
				"name": "support-agent", "text": fmt.Sprintf("text of writer %d", i), "label": "staging",
			}))
			if err != nil {
				t.Error(err)
				return
			}
			n, _ := res.Output.GetAttr("version").AsBigFloat().Int64()
			versions[i] = int(n)
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	sorted := slices.Sorted(slices.Values(versions))
	if diff := cmp.Diff(seq(8, 7+writers), sorted); diff != "" {
		t.Fatalf("versions (-want +got):\n%s", diff)
	}
	for i, v := range versions {
		b, err := os.ReadFile(filepath.Join(dir, "support-agent", fmt.Sprintf("%d.txt", v)))
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("text of writer %d", i); string(b) != want {
			t.Errorf("v%d holds %q, want %q", v, b, want)
		}
	}
	hist := readHistory(t, filepath.Join(dir, "support-agent", historyFile))
	old := len(readHistory(t, filepath.Join(sampleState(t), "support-agent", historyFile)))
	if len(hist) != old+writers {
		t.Fatalf("history has %d lines, want %d", len(hist), old+writers)
	}
	// Under the lock, each publish saw the one before it: the staging
	// label's history is an unbroken chain 7 → 8 → … → 27.
	prev := 7.0
	for _, e := range hist[old:] {
		if e["from"] != prev || e["to"] != prev+1 {
			t.Errorf("history entry %v does not follow v%v", e, prev)
		}
		prev = e["to"].(float64)
	}
	if got := readLabelsFile(t, dir, "support-agent"); got["staging"] != 7+writers || got["production"] != 7 {
		t.Errorf("labels %v, want staging %d and production 7", got, 7+writers)
	}
}

// Rollbacks and promotes racing on one label never lose an update: the
// label's history is an unbroken chain, and labels.json ends where it ends.
func TestConcurrentMoves(t *testing.T) {
	dir, p := newRegistry(t)
	const each = 10
	var wg sync.WaitGroup
	var mu sync.Mutex
	changed := 0
	for i := range 2 * each {
		wg.Go(func() {
			req := request("rollback", map[string]any{"name": "support-agent"})
			if i%2 == 1 {
				req = request("promote", map[string]any{"name": "support-agent", "version": 7})
			}
			res, err := p.Apply(context.Background(), req)
			if err != nil {
				// Rollbacks may run out of earlier versions; nothing else
				// may fail.
				if req.Action != "rollback" || !strings.Contains(err.Error(), "no earlier version") {
					t.Error(err)
				}
				return
			}
			if !res.Output.GetAttr("version").RawEquals(res.Output.GetAttr("previous_version")) {
				mu.Lock()
				changed++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	hist := readHistory(t, filepath.Join(dir, "support-agent", historyFile))
	old := len(readHistory(t, filepath.Join(sampleState(t), "support-agent", historyFile)))
	if len(hist)-old != changed {
		t.Fatalf("history gained %d lines for %d changes", len(hist)-old, changed)
	}
	prev := 7.0
	for _, e := range hist[old:] {
		if e["from"] != prev {
			t.Errorf("history entry %v does not follow v%v: an update was lost", e, prev)
		}
		prev = e["to"].(float64)
	}
	if got := readLabelsFile(t, dir, "support-agent"); float64(got["production"]) != prev || got["staging"] != 7 {
		t.Errorf("labels %v, want production %v (the last history entry) and staging 7", got, prev)
	}
}

// In a dry-run, arguments that depend on planned steps are unknown: the
// plan predicts what it can and marks the rest unknown.
func TestPlanWithUnknowns(t *testing.T) {
	unknownNum := cty.UnknownVal(cty.Number)
	unknownStr := cty.UnknownVal(cty.String)
	for _, tc := range []struct {
		name        string
		action      string
		args        map[string]any
		wantChanges []string
		want        cty.Value
	}{
		{
			name: "rollback to an unknown version", action: "rollback",
			args:        map[string]any{"name": "support-agent", "to_version": unknownNum},
			wantChanges: []string{"production: v7 → (known after apply)"},
			want: cty.ObjectVal(map[string]cty.Value{
				"name": cty.StringVal("support-agent"), "label": cty.StringVal("production"),
				"version": unknownNum, "previous_version": cty.NumberIntVal(7),
			}),
		},
		{
			name: "promote an unknown version", action: "promote",
			args:        map[string]any{"name": "support-agent", "label": "staging", "version": unknownNum},
			wantChanges: []string{"staging: v7 → (known after apply)"},
			want: cty.ObjectVal(map[string]cty.Value{
				"name": cty.StringVal("support-agent"), "label": cty.StringVal("staging"),
				"version": unknownNum, "previous_version": cty.NumberIntVal(7),
			}),
		},
		{
			// deploy-prompt promotes the version its publish step plans.
			name: "promote the version a planned publish creates", action: "promote",
			args:        map[string]any{"name": "support-agent", "version": 8},
			wantChanges: []string{"production: v7 → v8 (v8 is not published yet)"},
			want:        moveOut("support-agent", "production", 8, 7),
		},
		{
			name: "publish unknown text", action: "publish",
			args:        map[string]any{"name": "support-agent", "text": unknownStr, "label": "staging"},
			wantChanges: []string{"support-agent: new version v8 (labelled staging)"},
			want:        pubOut("support-agent", 8),
		},
		{
			name: "publish to an unknown label", action: "publish",
			args:        map[string]any{"name": "support-agent", "text": "x", "label": unknownStr},
			wantChanges: []string{"support-agent: new version v8 (label known after apply)"},
			want:        pubOut("support-agent", 8),
		},
		{
			name: "publish to an unknown prompt", action: "publish",
			args:        map[string]any{"name": unknownStr, "text": "x"},
			wantChanges: []string{"(prompt known after apply): new version"},
			want:        cty.UnknownVal(Schema.Actions["publish"].Output),
		},
		{
			name: "rollback an unknown label", action: "rollback",
			args:        map[string]any{"name": "support-agent", "label": unknownStr},
			wantChanges: []string{"support-agent: rollback (label known after apply)"},
			want:        cty.UnknownVal(rollbackOutput),
		},
		{
			name: "status of an unknown prompt", action: "status",
			args: map[string]any{"name": unknownStr},
			want: cty.UnknownVal(Schema.Actions["status"].Output),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, p := newRegistry(t)
			before := snapshot(t, dir)
			res, err := p.Plan(context.Background(), request(tc.action, tc.args))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantChanges, res.Changes); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
			checkOutput(t, tc.action, res.Output, tc.want)
			if diff := cmp.Diff(before, snapshot(t, dir)); diff != "" {
				t.Errorf("plan changed the registry:\n%s", diff)
			}
		})
	}

	// Wholly unknown arguments, as the protocol test sends them.
	_, p := newRegistry(t)
	for _, name := range Schema.ActionNames() {
		a := Schema.Actions[name]
		res, err := p.Plan(context.Background(), &plugins.ActionRequest{Action: name, Args: cty.UnknownVal(a.ArgsType())})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !res.Output.Type().Equals(a.Output) || res.Output.IsKnown() {
			t.Errorf("%s: output %#v, want unknown of the output type", name, res.Output)
		}
	}
	// Apply refuses unknown arguments.
	_, err := p.Apply(context.Background(), request("promote", map[string]any{"name": "support-agent", "version": unknownNum}))
	wantError(t, err, "", "must be known")
}

// Every line the plugin appends has the fields docs/builtins.md lists ("The file backends").
func TestHistoryFields(t *testing.T) {
	dir, p := newRegistry(t)
	for _, req := range []*plugins.ActionRequest{
		request("publish", map[string]any{"name": "summarizer", "text": "v4"}),
		request("publish", map[string]any{"name": "summarizer", "text": "v5", "label": "staging"}),
		request("promote", map[string]any{"name": "summarizer", "version": 5}),
		request("rollback", map[string]any{"name": "summarizer"}),
	} {
		if _, err := p.Apply(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	hist := readHistory(t, filepath.Join(dir, "summarizer", historyFile))
	if len(hist) != 4 {
		t.Fatalf("history has %d lines, want 4", len(hist))
	}
	for i, e := range hist {
		for _, field := range []string{"time", "action", "from", "to", "operator", "run_id"} {
			if _, ok := e[field]; !ok {
				t.Errorf("line %d lacks %q: %v", i+1, field, e)
			}
		}
	}
	actions := []any{hist[0]["action"], hist[1]["action"], hist[2]["action"], hist[3]["action"]}
	if diff := cmp.Diff([]any{"publish", "publish", "promote", "rollback"}, actions); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
}

// The sample registry the shipped runbooks use is well-formed.
func TestSampleState(t *testing.T) {
	state := sampleState(t)
	b := newFileBackend(state)
	for name, want := range map[string]*Prompt{
		"support-agent": {Versions: seq(1, 7), Labels: map[string]int{"production": 7, "staging": 7}},
		"summarizer":    {Versions: seq(1, 3), Labels: map[string]int{"production": 3}},
	} {
		got, err := b.Read(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Versions, want.Versions) || !cmp.Equal(got.Labels, want.Labels) {
			t.Errorf("%s: versions %v labels %v, want %v %v", name, got.Versions, got.Labels, want.Versions, want.Labels)
		}
		for _, e := range readHistory(t, filepath.Join(state, name, historyFile)) {
			for _, field := range []string{"time", "action", "from", "to", "operator", "run_id"} {
				if _, ok := e[field]; !ok {
					t.Errorf("%s history lacks %q: %v", name, field, e)
				}
			}
		}
	}
}

func TestVersionList(t *testing.T) {
	for _, tc := range []struct {
		in   []int
		want string
	}{
		{nil, "none"}, {[]int{3}, "3"}, {[]int{1, 2}, "1–2"}, {[]int{1, 2, 3, 5, 7, 8}, "1–3, 5, 7–8"},
	} {
		if got := versionList(tc.in); got != tc.want {
			t.Errorf("versionList(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// A change made by the file backend says what it did, in its plan's words,
// as the fallback and index plugins' actions do.
func TestFileBackendChangeLines(t *testing.T) {
	for _, tc := range []struct {
		name   string
		action string
		args   map[string]any
		want   []string
	}{
		{"rollback", "rollback", map[string]any{"name": "support-agent"}, []string{"production: v7 → v6"}},
		{"promote", "promote", map[string]any{"name": "support-agent", "label": "staging", "version": 5}, []string{"staging: v7 → v5"}},
		{"promote to the live version", "promote", map[string]any{"name": "support-agent", "version": 7}, []string{"production: v7 already; nothing written"}},
		{"publish", "publish", map[string]any{"name": "support-agent", "text": "Be brief."}, []string{"support-agent: new version v8"}},
		{"publish labelled", "publish", map[string]any{"name": "summarizer", "text": "Be brief.", "label": "staging"}, []string{"summarizer: new version v4 (labelled staging)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, p := newRegistry(t)
			req := request(tc.action, tc.args)
			var got []string
			req.Progress = func(line string) { got = append(got, line) }
			if _, err := p.Apply(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("progress (-want +got):\n%s", diff)
			}
		})
	}
}
