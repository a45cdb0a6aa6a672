package fallback

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/filestate"
)

// routesFile has what a real flag file has besides model routes: a
// $schema, flag-set metadata, shared evaluators, targeting that refers to
// them, flags of other types, odd layout. All of it must survive a switch.
const routesFile = `{
  "$schema": "https://flagd.dev/schema/v0/flags.json",
  "metadata": {"flagSetId": "routes", "version": "3", "owner": "ml-platform"},
  "$evaluators": {
    "internal": {"ends_with": [{"var": "email"}, "@example.com"]}
  },
  "flags": {
    "chat": {
      "state": "ENABLED",
      "variants": {
        "primary": "openai/gpt-4.1",
        "fallback": "anthropic/claude-sonnet-4",
        "canary": "openai/gpt-5"
      },
      "defaultVariant": "primary",
      "targeting": {"if": [{"$ref": "internal"}, "canary", null]},
      "metadata": {"team": "support", "cost_per_1k": 0.002}
    },
    "embeddings":{"variants":{"primary":"text-embedding-3-large","fallback":"local/bge-large"},"state":"ENABLED"},
    "summarize": {
      "state": "DISABLED",
      "variants": {"primary": "openai/gpt-4.1-mini", "fallback": "anthropic/claude-haiku"},
      "defaultVariant": "fallback"
    },
    "solo": {"state": "ENABLED", "variants": {"canary": "x/y"}, "defaultVariant": "canary"},
    "new-checkout": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off"}
  }
}
`

// writeRoutes writes content as a flag file in a new folder.
func writeRoutes(t testing.TB, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "routes.flagd.json")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// newPlugin returns a fallback plugin configured with the file backend.
func newPlugin(t testing.TB, path string) plugins.Plugin {
	t.Helper()
	p := New()
	config := cty.ObjectVal(map[string]cty.Value{"backend": cty.StringVal("file"), "path": cty.StringVal(path)})
	if err := p.Configure(context.Background(), config); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// request builds an action request with the schema's defaults.
func request(action, route string, target ...string) *plugins.ActionRequest {
	args := map[string]cty.Value{"route": cty.StringVal(route)}
	if action == "activate" {
		args["target"] = cty.StringVal("")
		if len(target) > 0 {
			args["target"] = cty.StringVal(target[0])
		}
	}
	return &plugins.ActionRequest{Action: action, Args: cty.ObjectVal(args), RunID: "run-1", Operator: "alice"}
}

// routeVal is an expected output.
func routeVal(route, active, model string, variants map[string]string) cty.Value {
	vs := map[string]cty.Value{}
	for k, v := range variants {
		vs[k] = cty.StringVal(v)
	}
	return cty.ObjectVal(map[string]cty.Value{
		"route": cty.StringVal(route), "active": cty.StringVal(active), "model": cty.StringVal(model), "variants": cty.MapVal(vs),
	})
}

var (
	chatVariants = map[string]string{"primary": "openai/gpt-4.1", "fallback": "anthropic/claude-sonnet-4", "canary": "openai/gpt-5"}
	embVariants  = map[string]string{"primary": "text-embedding-3-large", "fallback": "local/bge-large"}
	sumVariants  = map[string]string{"primary": "openai/gpt-4.1-mini", "fallback": "anthropic/claude-haiku"}
)

// readHistory returns the entries of the flag file's history.
func readHistory(t testing.TB, path string) []filestate.HistoryEntry {
	t.Helper()
	f, err := os.Open(path + ".history.jsonl")
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var entries []filestate.HistoryEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e filestate.HistoryEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("history line %q: %v", sc.Text(), err)
		}
		entries = append(entries, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return entries
}

func TestActions(t *testing.T) {
	tests := []struct {
		name     string
		req      *plugins.ActionRequest
		want     cty.Value
		changes  []string // what Plan says
		progress []string // what Apply says
		from, to any      // the history entry; none when to is nil
		errPath  string   // the argument an error points at
		err      string
	}{
		{
			name: "status",
			req:  request("status", "chat"),
			want: routeVal("chat", "primary", "openai/gpt-4.1", chatVariants),
		},
		{
			name: "status without default variant",
			req:  request("status", "embeddings"),
			want: routeVal("embeddings", "", "", embVariants),
		},
		{
			name:     "activate the fallback",
			req:      request("activate", "chat"),
			want:     routeVal("chat", "fallback", "anthropic/claude-sonnet-4", chatVariants),
			changes:  []string{"chat: primary → fallback (anthropic/claude-sonnet-4)"},
			progress: []string{"chat: primary → fallback (anthropic/claude-sonnet-4)"},
			from:     "primary", to: "fallback",
		},
		{
			name:     "activate another variant",
			req:      request("activate", "chat", "canary"),
			want:     routeVal("chat", "canary", "openai/gpt-5", chatVariants),
			changes:  []string{"chat: primary → canary (openai/gpt-5)"},
			progress: []string{"chat: primary → canary (openai/gpt-5)"},
			from:     "primary", to: "canary",
		},
		{
			name:     "activate where there is no default variant",
			req:      request("activate", "embeddings"),
			want:     routeVal("embeddings", "fallback", "local/bge-large", embVariants),
			changes:  []string{"embeddings: (no default variant) → fallback (local/bge-large)"},
			progress: []string{"embeddings: (no default variant) → fallback (local/bge-large)"},
			from:     nil, to: "fallback",
		},
		{
			name:     "activate what is active",
			req:      request("activate", "chat", "primary"),
			want:     routeVal("chat", "primary", "openai/gpt-4.1", chatVariants),
			changes:  []string{"chat: primary already active (openai/gpt-4.1)"},
			progress: []string{"chat: primary already active (openai/gpt-4.1); nothing written"},
		},
		{
			name:    "deactivate",
			req:     request("deactivate", "summarize"),
			want:    routeVal("summarize", "primary", "openai/gpt-4.1-mini", sumVariants),
			changes: []string{"summarize: fallback → primary (openai/gpt-4.1-mini)", "note: flag summarize is DISABLED: flagd serves none of its variants until it is ENABLED"},
			progress: []string{
				"summarize: fallback → primary (openai/gpt-4.1-mini)",
				"note: flag summarize is DISABLED: flagd serves none of its variants until it is ENABLED",
			},
			from: "fallback", to: "primary",
		},
		{
			name:     "deactivate what is inactive",
			req:      request("deactivate", "chat"),
			want:     routeVal("chat", "primary", "openai/gpt-4.1", chatVariants),
			changes:  []string{"chat: primary already active (openai/gpt-4.1)"},
			progress: []string{"chat: primary already active (openai/gpt-4.1); nothing written"},
		},
		{name: "status of an unknown route", req: request("status", "chta"), errPath: "route", err: `no route "chta"; routes: chat, embeddings, summarize, solo, new-checkout`},
		{name: "activate an unknown route", req: request("activate", "chta"), errPath: "route", err: `no route "chta"`},
		{name: "deactivate an unknown route", req: request("deactivate", "chta"), errPath: "route", err: `no route "chta"`},
		{name: "unknown target", req: request("activate", "chat", "backup"), errPath: "target", err: `route "chat" has no variant "backup"; variants: primary, fallback, canary`},
		{name: "no fallback variant", req: request("activate", "solo"), errPath: "target", err: `route "solo" has no variant "fallback"; variants: canary`},
		{name: "no primary variant", req: request("deactivate", "solo"), errPath: "route", err: `route "solo" has no variant "primary"`},
		{name: "not a model route", req: request("activate", "new-checkout", "on"), errPath: "route", err: `flag "new-checkout" is not a model route: variant "on" is true, not a model name (a string)`},
		{name: "empty route", req: request("status", ""), errPath: "route", err: "Empty route"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			path := writeRoutes(t, routesFile)
			p := newPlugin(t, path)

			checkErr := func(phase string, err error) {
				t.Helper()
				var pe *plugins.Error
				if !errors.As(err, &pe) {
					t.Fatalf("%s: err = %v, want a *plugins.Error", phase, err)
				}
				if got := pe.Path[0].(cty.GetAttrStep).Name; got != tt.errPath {
					t.Errorf("%s: error points at %s, want %s", phase, got, tt.errPath)
				}
				if !strings.Contains(pe.Error(), tt.err) {
					t.Errorf("%s: err = %v, want %q", phase, err, tt.err)
				}
			}

			plan, err := p.Plan(ctx, tt.req)
			if tt.err != "" {
				checkErr("plan", err)
			} else if err != nil {
				t.Fatalf("plan: %v", err)
			} else {
				if diff := cmp.Diff(tt.changes, plan.Changes); diff != "" {
					t.Errorf("plan changes (-want +got):\n%s", diff)
				}
				if !plan.Output.RawEquals(tt.want) {
					t.Errorf("predicted output %#v, want %#v", plan.Output, tt.want)
				}
			}

			var progress []string
			tt.req.Progress = func(line string) { progress = append(progress, line) }
			res, err := p.Apply(ctx, tt.req)
			if tt.err != "" {
				checkErr("apply", err)
			} else if err != nil {
				t.Fatalf("apply: %v", err)
			} else {
				if !res.Output.RawEquals(tt.want) {
					t.Errorf("output %#v, want %#v", res.Output, tt.want)
				}
				if err := res.Output.Type().TestConformance(Schema.Actions[tt.req.Action].Output); err != nil {
					t.Errorf("output does not conform to the schema: %v", err)
				}
				if diff := cmp.Diff(tt.progress, progress); diff != "" {
					t.Errorf("progress (-want +got):\n%s", diff)
				}
			}

			history := readHistory(t, path)
			data, _ := os.ReadFile(path)
			if tt.to == nil {
				if len(history) != 0 {
					t.Errorf("history %+v, want none", history)
				}
				if string(data) != routesFile {
					t.Errorf("the file changed:\n%s", data)
				}
				return
			}
			if len(history) != 1 {
				t.Fatalf("history %+v, want one entry", history)
			}
			e := history[0]
			if e.Action != tt.req.Action || e.Subject != tt.req.Args.GetAttr("route").AsString() ||
				e.From != tt.from || e.To != tt.to || e.Operator != "alice" || e.RunID != "run-1" || e.Time.IsZero() {
				t.Errorf("history entry %+v", e)
			}
			// Status reads back what Apply reported.
			st, err := p.Apply(ctx, request("status", e.Subject))
			if err != nil || !st.Output.RawEquals(tt.want) {
				t.Errorf("status after = %#v, %v; want %#v", st.Output, err, tt.want)
			}
		})
	}
}

// A dry-run changes nothing: not a byte of the file, no history, no lock
// file; and what it predicts is what Apply then does.
func TestPlanChangesNothing(t *testing.T) {
	for _, req := range []*plugins.ActionRequest{
		request("status", "chat"),
		request("activate", "chat"),
		request("activate", "chat", "canary"),
		request("activate", "embeddings"),
		request("deactivate", "summarize"),
		request("deactivate", "chat"),
	} {
		t.Run(req.Action+" "+req.Args.GetAttr("route").AsString(), func(t *testing.T) {
			path := writeRoutes(t, routesFile)
			p := newPlugin(t, path)
			before := dirState(t, filepath.Dir(path))
			plan, err := p.Plan(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(before, dirState(t, filepath.Dir(path))); diff != "" {
				t.Fatalf("plan changed the folder (-before +after):\n%s", diff)
			}
			res, err := p.Apply(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if !plan.Output.RawEquals(res.Output) {
				t.Errorf("predicted %#v, got %#v", plan.Output, res.Output)
			}
		})
	}
}

// dirState maps each file of dir to its content and mode.
func dirState(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	state := map[string]string{}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		state[e.Name()] = fmt.Sprintf("%v %s %s", info.Mode(), info.ModTime(), data)
	}
	return state
}

// Plan with arguments known only at apply time predicts what it can.
func TestPlanUnknown(t *testing.T) {
	p := newPlugin(t, writeRoutes(t, routesFile))
	ctx := context.Background()
	tests := []struct {
		name    string
		req     *plugins.ActionRequest
		changes []string
	}{
		{
			name:    "unknown route",
			req:     &plugins.ActionRequest{Action: "activate", Args: cty.ObjectVal(map[string]cty.Value{"route": cty.UnknownVal(cty.String), "target": cty.StringVal("")})},
			changes: []string{"(route known after apply)"},
		},
		{
			name:    "unknown target",
			req:     &plugins.ActionRequest{Action: "activate", Args: cty.ObjectVal(map[string]cty.Value{"route": cty.StringVal("chat"), "target": cty.UnknownVal(cty.String)})},
			changes: []string{"chat: primary → (target known after apply)"},
		},
		{
			name:    "unknown arguments",
			req:     &plugins.ActionRequest{Action: "deactivate", Args: cty.UnknownVal(Schema.Actions["deactivate"].ArgsType())},
			changes: []string{"(route known after apply)"},
		},
		{
			name: "unknown route for status",
			req:  &plugins.ActionRequest{Action: "status", Args: cty.ObjectVal(map[string]cty.Value{"route": cty.UnknownVal(cty.String)})},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := p.Plan(ctx, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.changes, plan.Changes); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
			if plan.Output.IsKnown() {
				t.Errorf("output %#v, want unknown", plan.Output)
			}
		})
	}
	// A route that does not exist is an error even when the target is unknown.
	req := &plugins.ActionRequest{Action: "activate", Args: cty.ObjectVal(map[string]cty.Value{"route": cty.StringVal("nope"), "target": cty.UnknownVal(cty.String)})}
	var pe *plugins.Error
	if _, err := p.Plan(ctx, req); !errors.As(err, &pe) || !pe.Path.Equals(cty.GetAttrPath("route")) {
		t.Errorf("plan of an unknown route: %v", err)
	}
}

// Every key the plugin does not own survives a switch: the file changes in
// the one value and nowhere else.
func TestUnknownKeysPreserved(t *testing.T) {
	path := writeRoutes(t, routesFile)
	p := newPlugin(t, path)
	if _, err := p.Apply(context.Background(), request("activate", "chat")); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	// Byte for byte: the one value replaced.
	want := strings.Replace(routesFile, `"defaultVariant": "primary",
      "targeting"`, `"defaultVariant": "fallback",
      "targeting"`, 1)
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("file (-want +got):\n%s", diff)
	}

	// In meaning: everything but the changed value decodes as before.
	before, after := decoded(t, []byte(routesFile)), decoded(t, got)
	chat := after["flags"].(map[string]any)["chat"].(map[string]any)
	if chat["defaultVariant"] != "fallback" {
		t.Errorf("defaultVariant = %v", chat["defaultVariant"])
	}
	chat["defaultVariant"] = "primary"
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("decoded file (-before +after):\n%s", diff)
	}

	// A missing defaultVariant is added in the flag's own layout.
	if _, err := p.Apply(context.Background(), request("activate", "embeddings")); err != nil {
		t.Fatal(err)
	}
	got, _ = os.ReadFile(path)
	want = strings.Replace(want, `"state":"ENABLED"},`, `"state":"ENABLED","defaultVariant":"fallback"},`, 1)
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("file (-want +got):\n%s", diff)
	}
}

// A file flagd would refuse is refused with the schema's complaint, and
// left as it is.
func TestInvalidFileRefused(t *testing.T) {
	tests := []struct {
		name, file, complaint string
	}{
		{"negative example", mustRead(t, "testdata/negative/state-set-incorrectly.json"), "at '/flags/myBoolFlag/state': value must be one of 'ENABLED', 'DISABLED'"},
		{"bad state on a route", strings.Replace(routesFile, `"state": "DISABLED"`, `"state": "OFF"`, 1), "at '/flags/summarize/state': value must be one of 'ENABLED', 'DISABLED'"},
		{"bad metadata", strings.Replace(routesFile, `"owner": "ml-platform"`, `"owner": ["a"]`, 1), "at '/metadata/owner': got array, want boolean or number or string"},
		{"bad targeting", strings.Replace(routesFile, `"if": [`, `"nope": [`, 1), "at '/flags/chat/targeting': additional properties 'nope' not allowed"},
		{"not JSON", routesFile[:100], "not JSON"},
		{"duplicate route", strings.Replace(routesFile, `"solo"`, `"chat"`, 1), `key "chat" appears twice`},
	}
	for _, tt := range tests {
		for _, req := range []*plugins.ActionRequest{request("status", "chat"), request("activate", "chat"), request("deactivate", "summarize")} {
			t.Run(tt.name+"/"+req.Action, func(t *testing.T) {
				path := writeRoutes(t, tt.file)
				p := newPlugin(t, path)
				before := dirState(t, filepath.Dir(path))
				for phase, run := range map[string]func() error{
					"plan":  func() error { _, err := p.Plan(context.Background(), req); return err },
					"apply": func() error { _, err := p.Apply(context.Background(), req); return err },
				} {
					err := run()
					var invalid *InvalidFileError
					if !errors.As(err, &invalid) || !strings.Contains(err.Error(), tt.complaint) {
						t.Errorf("%s: err = %v, want %q", phase, err, tt.complaint)
					}
				}
				after := dirState(t, filepath.Dir(path))
				delete(after, "routes.flagd.json.lock") // a lock file may be left; it holds nothing
				if diff := cmp.Diff(before, after); diff != "" {
					t.Errorf("the folder changed (-before +after):\n%s", diff)
				}
			})
		}
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// Writers racing on the same file, each with its own plugin as separate
// runbook processes would, never lose an update: every write is in the
// history, each one starting from where the previous one ended.
func TestConcurrentWriters(t *testing.T) {
	path := writeRoutes(t, routesFile)
	const writers, rounds = 8, 15
	var (
		mu     sync.Mutex
		writes int
	)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			p := New()
			config := cty.ObjectVal(map[string]cty.Value{"backend": cty.StringVal("file"), "path": cty.StringVal(path)})
			if err := p.Configure(context.Background(), config); err != nil {
				t.Error(err)
				return
			}
			defer p.Close()
			for i := range rounds {
				req := request("deactivate", "chat")
				switch (w + i) % 3 {
				case 0:
					req = request("activate", "chat")
				case 1:
					req = request("activate", "chat", "canary")
				}
				req.RunID = fmt.Sprintf("w%d-%d", w, i)
				wrote := false
				req.Progress = func(line string) { wrote = !strings.Contains(line, "already active") }
				if _, err := p.Apply(context.Background(), req); err != nil {
					t.Error(err)
					return
				}
				if wrote {
					mu.Lock()
					writes++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()

	history := readHistory(t, path)
	if len(history) != writes || writes == 0 {
		t.Fatalf("%d history entries, %d writes", len(history), writes)
	}
	prev := any("primary")
	runs := map[string]bool{}
	for i, e := range history {
		if e.From != prev || e.From == e.To {
			t.Errorf("entry %d goes %v → %v after %v: an update was lost", i, e.From, e.To, prev)
		}
		if runs[e.RunID] {
			t.Errorf("run %s recorded twice", e.RunID)
		}
		runs[e.RunID] = true
		prev = e.To
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := parseFlagFile(data)
	if err != nil {
		t.Fatalf("the file no longer validates: %v", err)
	}
	r, _ := f.route("chat")
	if r.Active != prev {
		t.Errorf("chat serves %q, the history says %v", r.Active, prev)
	}
	// Nothing but chat's defaultVariant changed.
	want := strings.Replace(routesFile, `"defaultVariant": "primary",
      "targeting"`, fmt.Sprintf(`"defaultVariant": %q,
      "targeting"`, prev), 1)
	if string(data) != want {
		t.Errorf("file:\n%s\nwant:\n%s", data, want)
	}
	if _, err := os.Stat(path + ".lock"); err != nil {
		t.Errorf("lock file: %v", err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*.tmp-*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

// A switch waits for the lock, and gives up when its context ends.
func TestSwitchWaitsForLock(t *testing.T) {
	path := writeRoutes(t, routesFile)
	p := newPlugin(t, path)
	unlock, err := filestate.Lock(context.Background(), path+".lock")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Apply(ctx, request("activate", "chat")); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	unlock()
	if got := mustRead(t, path); got != routesFile {
		t.Errorf("file changed:\n%s", got)
	}
}

// A flag file that is a symbolic link stays one; its target changes.
func TestSymlinkKept(t *testing.T) {
	target := writeRoutes(t, routesFile)
	link := filepath.Join(t.TempDir(), "routes.json")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	p := newPlugin(t, link)
	if _, err := p.Apply(context.Background(), request("activate", "chat")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("link replaced: %v, %v", fi, err)
	}
	if !strings.Contains(mustRead(t, target), `"defaultVariant": "fallback"`) {
		t.Error("target not changed")
	}
	if len(readHistory(t, link)) != 1 {
		t.Error("no history next to the link")
	}
}

func TestConfigure(t *testing.T) {
	str := cty.StringVal
	null := cty.NullVal(cty.String)
	tests := []struct {
		name          string
		backend, path cty.Value
		errPath, err  string
	}{
		{name: "file", backend: str("file"), path: str("/tmp/routes.json")},
		{name: "default backend", backend: null, path: str("/tmp/routes.json")},
		{name: "unknown backend", backend: str("consul"), path: str("/tmp/routes.json"), errPath: "backend", err: `"consul" is not a backend of the fallback plugin; it has "file"`},
		{name: "no path", backend: str("file"), path: null, errPath: "path", err: "Missing flag file"},
		{name: "empty path", backend: str("file"), path: str(" "), errPath: "path", err: "Missing flag file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := New().Configure(context.Background(), cty.ObjectVal(map[string]cty.Value{"backend": tt.backend, "path": tt.path}))
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var pe *plugins.Error
			if !errors.As(err, &pe) || !pe.Path.Equals(cty.GetAttrPath(tt.errPath)) || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("err = %#v, want %q at %s", err, tt.err, tt.errPath)
			}
		})
	}
}

func TestMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "routes.json")
	p := newPlugin(t, path)
	for _, req := range []*plugins.ActionRequest{request("status", "chat"), request("activate", "chat")} {
		if _, err := p.Apply(context.Background(), req); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: err = %v, want not exist", req.Action, err)
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	if len(names) > 1 || (len(names) == 1 && names[0] != "routes.json.lock") {
		t.Errorf("files created: %v", names)
	}
}

func TestNotConfigured(t *testing.T) {
	if _, err := New().Apply(context.Background(), request("status", "chat")); err == nil || !strings.Contains(err.Error(), "not configured") {
		t.Errorf("err = %v", err)
	}
}

func TestSchemaValid(t *testing.T) {
	if err := Schema.Validate(); err != nil {
		t.Fatal(err)
	}
	s, err := New().Schema(context.Background())
	if err != nil || s != Schema {
		t.Fatalf("schema %v, %v", s, err)
	}
	if _, err := New().Plan(context.Background(), &plugins.ActionRequest{Action: "toggle", Args: cty.EmptyObjectVal}); err == nil {
		t.Error("unknown action accepted")
	}
}
