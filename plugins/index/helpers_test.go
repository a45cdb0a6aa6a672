package index

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
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/sdk"
)

// fakeClock is a clock that moves one minute on every reading, so that each
// build gets its own, predictable version.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Minute)
	return c.t
}

// config is a plugin block's attributes; zero values are left unset.
type config struct {
	backend, path, buildCommand string
	keep                        int
}

func (c config) val() cty.Value {
	str := func(s string) cty.Value {
		if s == "" {
			return cty.NullVal(cty.String)
		}
		return cty.StringVal(s)
	}
	keep := cty.NumberIntVal(defaultKeep)
	if c.keep != 0 {
		keep = cty.NumberIntVal(int64(c.keep))
	}
	backend := cty.StringVal("file")
	if c.backend != "" {
		backend = cty.StringVal(c.backend)
	}
	return cty.ObjectVal(map[string]cty.Value{
		"backend":       backend,
		"path":          str(c.path),
		"build_command": str(c.buildCommand),
		"keep":          keep,
	})
}

// testPlugin is an index plugin as the host calls it (plugins.Plugin),
// with the state its handlers share at hand.
type testPlugin struct {
	plugins.Plugin
	*plugin
}

// newTestPlugin returns an unconfigured plugin.
func newTestPlugin() *testPlugin {
	p := &plugin{}
	impl, err := sdk.New(definition(p))
	if err != nil {
		panic(err)
	}
	return &testPlugin{Plugin: impl, plugin: p}
}

// newPlugin returns a configured plugin over dir, with a fake clock.
func newPlugin(t *testing.T, c config) (*testPlugin, *fakeClock) {
	t.Helper()
	p := newTestPlugin()
	if err := p.Configure(context.Background(), c.val()); err != nil {
		t.Fatalf("configure: %v", err)
	}
	clock := newClock()
	p.backend.(*fileBackend).now = clock.now
	return p, clock
}

// args builds an action's arguments: the given values, defaults for the rest.
func args(action string, given map[string]cty.Value) cty.Value {
	a := Schema.Actions[action]
	vals := map[string]cty.Value{}
	for _, attr := range a.Args {
		switch v, ok := given[attr.Name]; {
		case ok:
			vals[attr.Name] = v
		case attr.Default != cty.NilVal:
			vals[attr.Name] = attr.Default
		default:
			vals[attr.Name] = cty.NullVal(attr.Type)
		}
	}
	return cty.ObjectVal(vals)
}

func nameArgs(name string) cty.Value {
	return args("status", map[string]cty.Value{"name": cty.StringVal(name)})
}

func rebuildArgsVal(name, source string, extra ...any) cty.Value {
	given := map[string]cty.Value{"name": cty.StringVal(name), "source": cty.StringVal(source)}
	for i := 0; i+1 < len(extra); i += 2 {
		switch v := extra[i+1].(type) {
		case int:
			given[extra[i].(string)] = cty.NumberIntVal(int64(v))
		case float64:
			given[extra[i].(string)] = cty.NumberFloatVal(v)
		}
	}
	return args("rebuild", given)
}

// run applies an action and returns its output, error and progress lines.
func run(t *testing.T, p plugins.Plugin, action string, a cty.Value) (cty.Value, []string, error) {
	t.Helper()
	var mu sync.Mutex
	var lines []string
	res, err := p.Apply(context.Background(), &plugins.ActionRequest{
		Action: action, Args: a, RunID: "run-1", Operator: "alice@host",
		Progress: func(l string) {
			mu.Lock()
			lines = append(lines, l)
			mu.Unlock()
		},
	})
	if err != nil {
		return cty.NilVal, lines, err
	}
	return res.Output, lines, nil
}

func mustRun(t *testing.T, p plugins.Plugin, action string, a cty.Value) cty.Value {
	t.Helper()
	out, lines, err := run(t, p, action, a)
	if err != nil {
		t.Fatalf("%s: %v (progress: %q)", action, err, lines)
	}
	return out
}

// writeTree writes files (slash paths → content) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for rel, content := range files {
		path := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// corpus writes a source folder of n one-line .txt documents.
func corpus(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{}
	for i := range n {
		files[fmt.Sprintf("doc-%03d.txt", i)] = fmt.Sprintf("document %d\n", i)
	}
	writeTree(t, dir, files)
	return dir
}

// newIndex makes DIR/NAME and returns DIR.
func newIndex(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// treeHash digests a folder: every entry's path, type, mode, and its content
// or symlink target. Equal hashes mean nothing changed.
func treeHash(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		info, err := os.Lstat(path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %s %o\n", rel, info.Mode().Type(), info.Mode().Perm())
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "-> %s\n", target)
		case info.Mode().IsRegular():
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "%d %x\n", len(b), sha256.Sum256(b))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// currentTarget reads DIR/NAME/current.
func currentTarget(t *testing.T, dir, name string) string {
	t.Helper()
	target, err := os.Readlink(filepath.Join(dir, name, currentLink))
	if errors.Is(err, fs.ErrNotExist) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return target
}

// history reads DIR/NAME/history.jsonl.
func history(t *testing.T, dir, name string) []map[string]any {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, name, historyFile))
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
	return out
}

// builds lists DIR/NAME/builds, hidden entries included.
func builds(t *testing.T, dir, name string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, name, buildsDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

func str(v cty.Value, attr string) string { return v.GetAttr(attr).AsString() }

func num(v cty.Value, attr string) int64 {
	n, _ := v.GetAttr(attr).AsBigFloat().Int64()
	return n
}

// wantPluginError checks that err is a *plugins.Error on path attr whose
// text holds every one of want.
func wantPluginError(t *testing.T, err error, attr string, want ...string) {
	t.Helper()
	var pe *plugins.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T), want a *plugins.Error", err, err)
	}
	if got := pe.Path; !got.Equals(cty.GetAttrPath(attr)) {
		t.Errorf("error path %#v, want %s", got, attr)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
}

func contains(lines []string, want string) bool {
	for _, l := range lines {
		if strings.Contains(l, want) {
			return true
		}
	}
	return false
}
