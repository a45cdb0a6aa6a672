package prompt

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/prompt/langfusetest"
)

// langfuseConfig is the configuration of a plugin on f, with set replacing
// attributes; the secret is marked sensitive, as the host marks it.
func langfuseConfig(f *langfusetest.Server, set map[string]cty.Value) cty.Value {
	cfg := map[string]cty.Value{
		"backend":    cty.StringVal("langfuse"),
		"path":       cty.NullVal(cty.String),
		"url":        cty.StringVal(f.URL),
		"public_key": cty.StringVal(f.PublicKey),
		"secret_key": cty.StringVal(f.SecretKey).Mark("sensitive"),
		"timeout":    cty.NullVal(cty.String),
	}
	for k, v := range set {
		cfg[k] = v
	}
	return cty.ObjectVal(cfg)
}

func langfusePlugin(t *testing.T, f *langfusetest.Server, set map[string]cty.Value) plugins.Plugin {
	t.Helper()
	p := New()
	t.Cleanup(func() { _ = p.Close() })
	if err := p.Configure(context.Background(), langfuseConfig(f, set)); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLangfuseConfigure(t *testing.T) {
	f := newFakeLangfuse(t)
	null := cty.NullVal(cty.String)
	for _, tc := range []struct {
		name     string
		set      map[string]cty.Value
		errPath  string
		contains string
	}{
		{name: "complete", set: nil},
		{name: "timeout", set: map[string]cty.Value{"timeout": cty.StringVal("5s")}},
		{name: "url with a path and a slash", set: map[string]cty.Value{"url": cty.StringVal(f.URL + "/")}},
		{name: "no url", set: map[string]cty.Value{"url": null}, errPath: "url", contains: "Missing Langfuse URL"},
		{name: "blank url", set: map[string]cty.Value{"url": cty.StringVal(" ")}, errPath: "url", contains: "Missing Langfuse URL"},
		{name: "not http", set: map[string]cty.Value{"url": cty.StringVal("ftp://langfuse")}, errPath: "url", contains: "http(s)://HOST"},
		{name: "no host", set: map[string]cty.Value{"url": cty.StringVal("cloud.langfuse.com")}, errPath: "url", contains: "http(s)://HOST"},
		{name: "credentials in url", set: map[string]cty.Value{"url": cty.StringVal("https://pk:sk@cloud.langfuse.com")}, errPath: "url", contains: "public_key and secret_key"},
		{name: "no public key", set: map[string]cty.Value{"public_key": null}, errPath: "public_key", contains: "pk-lf-"},
		{name: "no secret key", set: map[string]cty.Value{"secret_key": cty.StringVal("").Mark("sensitive")}, errPath: "secret_key", contains: `env("LANGFUSE_SECRET_KEY")`},
		{name: "bad timeout", set: map[string]cty.Value{"timeout": cty.StringVal("soon")}, errPath: "timeout", contains: `"soon"`},
		{name: "negative timeout", set: map[string]cty.Value{"timeout": cty.StringVal("-1s")}, errPath: "timeout", contains: "positive"},
		{name: "path of the file backend", set: map[string]cty.Value{"path": cty.StringVal("/tmp")}, errPath: "path", contains: `backend = "langfuse"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := New().Configure(context.Background(), langfuseConfig(f, tc.set))
			if tc.errPath == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantError(t, err, tc.errPath, tc.contains)
			if err != nil && strings.Contains(err.Error(), f.SecretKey) {
				t.Errorf("error %q shows the secret key", err)
			}
		})
	}
	// The file backend refuses the langfuse backend's attributes.
	err := New().Configure(context.Background(), cty.ObjectVal(map[string]cty.Value{
		"backend": cty.StringVal("file"), "path": cty.StringVal(t.TempDir()), "url": cty.StringVal("https://cloud.langfuse.com"),
	}))
	wantError(t, err, "url", `backend = "file"`)
}

func TestLangfuseSchema(t *testing.T) {
	var secret *plugins.Attribute
	for _, a := range Schema.Config {
		if a.Name == "secret_key" {
			secret = a
		}
	}
	if secret == nil || !secret.Sensitive {
		t.Fatalf("secret_key is not a sensitive config attribute: %+v", secret)
	}
	if err := Schema.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestLangfuseStatus(t *testing.T) {
	for _, tc := range []struct {
		name    string
		setup   func(f *langfusetest.Server)
		config  map[string]cty.Value
		args    map[string]any
		want    cty.Value
		errPath string
		errHas  []string // "URL" stands for the server's URL
	}{
		{name: "production", args: map[string]any{"name": "support-agent"}, want: statusOut("support-agent", "production", 7, seq(1, 7)...)},
		{name: "staging", args: map[string]any{"name": "support-agent", "label": "staging"}, want: statusOut("support-agent", "staging", 7, seq(1, 7)...)},
		{name: "a label on an older version", args: map[string]any{"name": "support-agent", "label": "canary"}, want: statusOut("support-agent", "canary", 3, seq(1, 7)...)},
		{name: "latest", args: map[string]any{"name": "summarizer", "label": "latest"}, want: statusOut("summarizer", "latest", 3, 1, 2, 3)},
		{name: "unset label serves 0", args: map[string]any{"name": "summarizer", "label": "staging"}, want: statusOut("summarizer", "staging", 0, 1, 2, 3)},
		{name: "a name in a folder", args: map[string]any{"name": "support/router"}, want: statusOut("support/router", "production", 1, 1, 2)},
		{
			name:  "every page followed when the server ignores the name filter",
			setup: func(f *langfusetest.Server) { f.SetPaging(1, true) },
			args:  map[string]any{"name": "support-agent"}, want: statusOut("support-agent", "production", 7, seq(1, 7)...),
		},
		{
			name:  "a prompt on no page",
			setup: func(f *langfusetest.Server) { f.SetPaging(2, true) },
			args:  map[string]any{"name": "nope"}, errPath: "name", errHas: []string{`unknown prompt "nope"`, "Langfuse at URL"},
		},
		{name: "unknown prompt", args: map[string]any{"name": "nope"}, errPath: "name", errHas: []string{`unknown prompt "nope"`, "Langfuse at URL has no prompt of that name"}},
		{name: "invalid name", args: map[string]any{"name": "support//router"}, errPath: "name", errHas: []string{"Invalid prompt name", "folders separated by '/'"}},
		{name: "dot-dot name", args: map[string]any{"name": "support/.."}, errPath: "name", errHas: []string{"Invalid prompt name"}},
		{
			name:   "wrong secret",
			config: map[string]cty.Value{"secret_key": cty.StringVal("sk-lf-wrong")},
			args:   map[string]any{"name": "support-agent"},
			errHas: []string{"refused the credentials", "public_key and secret_key", "401 Unauthorized", "Invalid credentials"},
		},
		{
			name:   "url that is not Langfuse's base",
			config: map[string]cty.Value{"url": cty.StringVal("URL/langfuse")},
			args:   map[string]any{"name": "support-agent"},
			errHas: []string{"no prompts API in Langfuse at URL/langfuse", "404"},
		},
		{
			name: "server error",
			setup: func(f *langfusetest.Server) {
				f.SetFault(func(*http.Request) (int, string) {
					return http.StatusInternalServerError, `{"message": "Internal Server Error: database is down"}`
				})
			},
			args:   map[string]any{"name": "support-agent"},
			errHas: []string{`list the versions of prompt "support-agent"`, "500 Internal Server Error", "database is down"},
		},
		{
			name: "an answer that is not JSON",
			setup: func(f *langfusetest.Server) {
				f.SetFault(func(*http.Request) (int, string) { return http.StatusOK, "<html>Sign in</html>" })
			},
			args:   map[string]any{"name": "support-agent"},
			errHas: []string{"not the API's JSON", "<html>Sign in</html>"},
		},
		{
			name: "a label read failing",
			setup: func(f *langfusetest.Server) {
				f.SetFault(func(r *http.Request) (int, string) {
					if r.URL.Query().Get("label") == "staging" {
						return http.StatusBadGateway, "upstream gone"
					}
					return 0, ""
				})
			},
			args:   map[string]any{"name": "support-agent"},
			errHas: []string{`read label staging of prompt "support-agent"`, "502 Bad Gateway", "upstream gone"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeLangfuse(t)
			if tc.setup != nil {
				tc.setup(f)
			}
			config := map[string]cty.Value{}
			for k, v := range tc.config {
				if v.Type() == cty.String && !v.IsNull() {
					v = cty.StringVal(strings.ReplaceAll(v.AsString(), "URL", f.URL))
				}
				config[k] = v
			}
			p := langfusePlugin(t, f, config)
			before := f.Snapshot()
			for _, phase := range []string{"plan", "apply"} {
				var out cty.Value
				var err error
				if phase == "plan" {
					var res *plugins.PlanResult
					if res, err = p.Plan(context.Background(), request("status", tc.args)); err == nil {
						out = res.Output
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
						has[i] = strings.ReplaceAll(h, "URL", f.URL)
					}
					wantError(t, err, tc.errPath, has...)
					if err != nil && strings.Contains(err.Error(), f.SecretKey) {
						t.Errorf("error %q shows the secret key", err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", phase, err)
				}
				checkOutput(t, "status", out, tc.want)
			}
			if len(f.Writes()) != 0 {
				t.Errorf("status wrote: %+v", f.Writes())
			}
			if diff := cmp.Diff(before, f.Snapshot()); diff != "" {
				t.Errorf("status changed Langfuse:\n%s", diff)
			}
		})
	}
}

// Langfuse's API description says a create answers 200; its server answers
// 201. Both are a success.
func TestLangfusePublishCreated(t *testing.T) {
	for _, status := range []int{http.StatusOK, http.StatusCreated} {
		f := newFakeLangfuse(t)
		f.SetCreateStatus(status)
		p := langfusePlugin(t, f, nil)
		res, err := p.Apply(context.Background(), request("publish", map[string]any{"name": "summarizer", "text": "v4", "label": "production"}))
		if err != nil {
			t.Fatalf("%d: %v", status, err)
		}
		checkOutput(t, "publish", res.Output, pubOut("summarizer", 4))
		if got := f.Labels("summarizer")["production"]; got != 4 {
			t.Errorf("%d: production on v%d, want v4", status, got)
		}
	}
}

// A name with a '/' is one escaped path segment in every request.
func TestLangfuseEscapesNames(t *testing.T) {
	f := newFakeLangfuse(t)
	p := langfusePlugin(t, f, nil)
	if _, err := p.Apply(context.Background(), request("promote", map[string]any{"name": "support/router", "version": 2})); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"GET /api/public/v2/prompts/support%2Frouter",
		"PATCH /api/public/v2/prompts/support%2Frouter/versions/2",
	} {
		if !slices.Contains(f.RequestPaths(), want) {
			t.Errorf("no request %q in %q", want, f.RequestPaths())
		}
	}
	if got := f.Labels("support/router"); got["production"] != 2 {
		t.Errorf("labels %v, want production on v2", got)
	}
}

// langfuseChange is one mutating case, planned and applied on fresh
// servers.
type langfuseChange struct {
	name        string
	setup       func(f *langfusetest.Server)
	action      string
	args        map[string]any
	wantChanges []string
	want        cty.Value
	// prompt and labels describe the prompt after the change, "latest"
	// included.
	prompt string
	labels map[string]int
	// write is the one write request expected: method, escaped path and
	// JSON body; nil for none.
	write *langfusetest.Request
	// progress is the progress line expected, "" for none.
	progress string
	// errPath and errHas describe an error; the plan fails too unless
	// applyOnly (what only Langfuse can refuse). Nothing may change.
	errPath   string
	errHas    []string
	applyOnly bool
}

const (
	testRun      = "20250601T120000Z-abc123"
	testOperator = "tester@host"
	testWho      = " (run " + testRun + ", operator " + testOperator + ")"
)

var langfuseChanges = []langfuseChange{
	// publish
	{
		name: "publish unlabelled", action: "publish",
		args:        map[string]any{"name": "support-agent", "text": "You are Lumen's support assistant, v8."},
		wantChanges: []string{"support-agent: new version v8"},
		want:        pubOut("support-agent", 8),
		prompt:      "support-agent", labels: map[string]int{"production": 7, "staging": 7, "canary": 3, "latest": 8},
		write: &langfusetest.Request{Method: "POST", Path: "/api/public/v2/prompts", Body: map[string]any{
			"name": "support-agent", "prompt": "You are Lumen's support assistant, v8.", "type": "text", "labels": []any{},
			"commitMessage": "runbook publish" + testWho,
		}},
		progress: "Langfuse: support-agent v8 published" + testWho,
	},
	{
		name: "publish labelled", action: "publish",
		args:        map[string]any{"name": "support-agent", "text": "v8 text\n", "label": "staging"},
		wantChanges: []string{"support-agent: new version v8 (labelled staging)"},
		want:        pubOut("support-agent", 8),
		prompt:      "support-agent", labels: map[string]int{"production": 7, "staging": 8, "canary": 3, "latest": 8},
		write: &langfusetest.Request{Method: "POST", Path: "/api/public/v2/prompts", Body: map[string]any{
			"name": "support-agent", "prompt": "v8 text\n", "type": "text", "labels": []any{"staging"},
			"commitMessage": "runbook publish" + testWho,
		}},
		progress: "Langfuse: support-agent v8 published, staging v7 → v8" + testWho,
	},
	{
		name: "publish a new prompt in a folder", action: "publish",
		args:        map[string]any{"name": "support/triage", "text": "Classify the ticket.", "label": "staging"},
		wantChanges: []string{"support/triage: new prompt", "support/triage: new version v1 (labelled staging)"},
		want:        pubOut("support/triage", 1),
		prompt:      "support/triage", labels: map[string]int{"staging": 1, "latest": 1},
		write: &langfusetest.Request{Method: "POST", Path: "/api/public/v2/prompts", Body: map[string]any{
			"name": "support/triage", "prompt": "Classify the ticket.", "type": "text", "labels": []any{"staging"},
			"commitMessage": "runbook publish" + testWho,
		}},
		progress: "Langfuse: support/triage v1 published, staging (unset) → v1" + testWho,
	},
	{
		name: "publish as latest", action: "publish",
		args:    map[string]any{"name": "support-agent", "text": "x", "label": "latest"},
		errPath: "label", errHas: []string{"Reserved label", `"latest" is managed by Langfuse`},
	},
	{
		name: "publish with a label Langfuse refuses", action: "publish",
		args:    map[string]any{"name": "support-agent", "text": "x", "label": "Staging"},
		errPath: "label", errHas: []string{"Invalid Langfuse label", "lower-case"},
	},
	{
		name: "publish with a protected label", action: "publish",
		setup:   func(f *langfusetest.Server) { f.Protect("production") },
		args:    map[string]any{"name": "support-agent", "text": "x", "label": "production"},
		errPath: "label", applyOnly: true,
		errHas: []string{"label production of support-agent is protected in Langfuse; ask a project admin or use a different label"},
	},
	{
		name: "publish text to a chat prompt", action: "publish",
		args: map[string]any{"name": "chatty", "text": "x"}, applyOnly: true,
		errHas: []string{`publish a new version of prompt "chatty"`, "400 Bad Request", "different prompt type"},
	},
	{
		name: "publish on a failing server", action: "publish",
		setup: func(f *langfusetest.Server) {
			f.SetFault(func(r *http.Request) (int, string) {
				if r.Method == http.MethodPost {
					return http.StatusServiceUnavailable, "maintenance window"
				}
				return 0, ""
			})
		},
		args: map[string]any{"name": "support-agent", "text": "x"}, applyOnly: true,
		errHas: []string{"503 Service Unavailable", "maintenance window"},
	},
	// rollback
	{
		name: "rollback to the previous version", action: "rollback",
		args:        map[string]any{"name": "support-agent"},
		wantChanges: []string{"production: v7 → v6"},
		want:        moveOut("support-agent", "production", 6, 7),
		prompt:      "support-agent", labels: map[string]int{"production": 6, "staging": 7, "canary": 3, "latest": 7},
		write:    &langfusetest.Request{Method: "PATCH", Path: "/api/public/v2/prompts/support-agent/versions/6", Body: map[string]any{"newLabels": []any{"production"}}},
		progress: "Langfuse: support-agent production v7 → v6" + testWho,
	},
	{
		name: "rollback keeps the target version's other labels", action: "rollback",
		args:        map[string]any{"name": "support-agent", "to_version": 3},
		wantChanges: []string{"production: v7 → v3"},
		want:        moveOut("support-agent", "production", 3, 7),
		prompt:      "support-agent", labels: map[string]int{"production": 3, "staging": 7, "canary": 3, "latest": 7},
		write:    &langfusetest.Request{Method: "PATCH", Path: "/api/public/v2/prompts/support-agent/versions/3", Body: map[string]any{"newLabels": []any{"canary", "production"}}},
		progress: "Langfuse: support-agent production v7 → v3" + testWho,
	},
	{
		name: "rollback one of two labels on a version", action: "rollback",
		args:        map[string]any{"name": "support-agent", "label": "staging"},
		wantChanges: []string{"staging: v7 → v6"},
		want:        moveOut("support-agent", "staging", 6, 7),
		prompt:      "support-agent", labels: map[string]int{"production": 7, "staging": 6, "canary": 3, "latest": 7},
		write:    &langfusetest.Request{Method: "PATCH", Path: "/api/public/v2/prompts/support-agent/versions/6", Body: map[string]any{"newLabels": []any{"staging"}}},
		progress: "Langfuse: support-agent staging v7 → v6" + testWho,
	},
	{
		name: "rollback with no earlier version", action: "rollback",
		setup:  func(f *langfusetest.Server) { f.Label("summarizer", 1, "production") },
		args:   map[string]any{"name": "summarizer"},
		errHas: []string{`prompt "summarizer": production serves v1 and there is no earlier version`},
	},
	{
		name: "rollback an unset label", action: "rollback",
		args:    map[string]any{"name": "summarizer", "label": "staging"},
		errPath: "label", errHas: []string{`no label "staging" in Langfuse at URL`},
	},
	{
		name: "rollback latest", action: "rollback",
		args:    map[string]any{"name": "support-agent", "label": "latest"},
		errPath: "label", errHas: []string{"Reserved label", "cannot be set or moved"},
	},
	{
		name: "rollback a protected label", action: "rollback",
		setup:   func(f *langfusetest.Server) { f.Protect("production") },
		args:    map[string]any{"name": "support-agent"},
		errPath: "label", applyOnly: true,
		errHas: []string{"label production of support-agent is protected in Langfuse; ask a project admin or use a different label", "Protected labels are: production"},
	},
	{
		name: "rollback an unknown prompt", action: "rollback",
		args:    map[string]any{"name": "nope"},
		errPath: "name", errHas: []string{`unknown prompt "nope"`},
	},
	{
		name: "rollback to a missing version", action: "rollback",
		args:    map[string]any{"name": "support-agent", "to_version": 12},
		errPath: "to_version", errHas: []string{`prompt "support-agent" has no version 12 (versions: 1–7)`},
	},
	// promote
	{
		name: "promote an older version", action: "promote",
		args:        map[string]any{"name": "support-agent", "version": 2},
		wantChanges: []string{"production: v7 → v2"},
		want:        moveOut("support-agent", "production", 2, 7),
		prompt:      "support-agent", labels: map[string]int{"production": 2, "staging": 7, "canary": 3, "latest": 7},
		write:    &langfusetest.Request{Method: "PATCH", Path: "/api/public/v2/prompts/support-agent/versions/2", Body: map[string]any{"newLabels": []any{"production"}}},
		progress: "Langfuse: support-agent production v7 → v2" + testWho,
	},
	{
		name: "promote onto the latest version keeps latest to Langfuse", action: "promote",
		setup:       func(f *langfusetest.Server) { f.Label("summarizer", 1, "production") },
		args:        map[string]any{"name": "summarizer", "version": 3},
		wantChanges: []string{"production: v1 → v3"},
		want:        moveOut("summarizer", "production", 3, 1),
		prompt:      "summarizer", labels: map[string]int{"production": 3, "latest": 3},
		write:    &langfusetest.Request{Method: "PATCH", Path: "/api/public/v2/prompts/summarizer/versions/3", Body: map[string]any{"newLabels": []any{"production"}}},
		progress: "Langfuse: summarizer production v1 → v3" + testWho,
	},
	{
		name: "promote sets a new label", action: "promote",
		args:        map[string]any{"name": "summarizer", "label": "canary", "version": 2},
		wantChanges: []string{"canary: (unset) → v2"},
		want:        moveOut("summarizer", "canary", 2, 0),
		prompt:      "summarizer", labels: map[string]int{"production": 3, "canary": 2, "latest": 3},
		write:    &langfusetest.Request{Method: "PATCH", Path: "/api/public/v2/prompts/summarizer/versions/2", Body: map[string]any{"newLabels": []any{"canary"}}},
		progress: "Langfuse: summarizer canary (unset) → v2" + testWho,
	},
	{
		name: "promote the live version changes nothing", action: "promote",
		args:   map[string]any{"name": "support-agent", "version": 7},
		want:   moveOut("support-agent", "production", 7, 7),
		prompt: "support-agent", labels: map[string]int{"production": 7, "staging": 7, "canary": 3, "latest": 7},
	},
	{
		name: "promote a missing version", action: "promote",
		args:    map[string]any{"name": "support-agent", "version": 12},
		errPath: "version", errHas: []string{`prompt "support-agent" has no version 12 (versions: 1–7)`},
	},
	{
		name: "promote latest", action: "promote",
		args:    map[string]any{"name": "support-agent", "label": "latest", "version": 2},
		errPath: "label", errHas: []string{"Reserved label"},
	},
	{
		name: "promote a protected label", action: "promote",
		setup:   func(f *langfusetest.Server) { f.Protect("production") },
		args:    map[string]any{"name": "summarizer", "version": 1},
		errPath: "label", applyOnly: true,
		errHas: []string{"label production of summarizer is protected in Langfuse; ask a project admin or use a different label"},
	},
	{
		name: "promote with revoked credentials", action: "promote",
		setup: func(f *langfusetest.Server) {
			f.SetFault(func(r *http.Request) (int, string) {
				if r.Method == http.MethodPatch {
					return http.StatusUnauthorized, `{"message": "Invalid credentials"}`
				}
				return 0, ""
			})
		},
		args: map[string]any{"name": "support-agent", "version": 2}, applyOnly: true,
		errHas: []string{"refused the credentials", "public_key and secret_key", "401"},
	},
	{
		name: "promote on a prompt deleted meanwhile", action: "promote",
		setup: func(f *langfusetest.Server) {
			f.SetFault(func(r *http.Request) (int, string) {
				if r.Method == http.MethodPatch {
					return http.StatusNotFound, `{"error": "LangfuseNotFoundError", "message": "Prompt not found"}`
				}
				return 0, ""
			})
		},
		args: map[string]any{"name": "support-agent", "version": 2}, applyOnly: true,
		errPath: "name", errHas: []string{`unknown prompt "support-agent"`, "no version 2 of it"},
	},
	{
		name: "promote on a failing server", action: "promote",
		setup: func(f *langfusetest.Server) {
			f.SetFault(func(r *http.Request) (int, string) {
				if r.Method == http.MethodPatch {
					return http.StatusInternalServerError, strings.Repeat("stack trace ", 100)
				}
				return 0, ""
			})
		},
		args: map[string]any{"name": "support-agent", "version": 2}, applyOnly: true,
		errHas: []string{`move production of prompt "support-agent" to v2`, "500 Internal Server Error", "stack trace stack trace", "…"},
	},
}

// TestLangfuseChanges runs every mutating case twice on fresh servers: as a
// plan, which must predict exactly and write nothing, and for real, which
// must return what the plan predicted, send the expected write, leave the
// labels as described and report one progress line.
func TestLangfuseChanges(t *testing.T) {
	for _, tc := range langfuseChanges {
		t.Run(tc.name, func(t *testing.T) {
			errHas := func(f *langfusetest.Server) []string {
				out := make([]string, len(tc.errHas))
				for i, h := range tc.errHas {
					out[i] = strings.ReplaceAll(h, "URL", f.URL)
				}
				return out
			}

			// Plan.
			f := newFakeLangfuse(t)
			if tc.setup != nil {
				tc.setup(f)
			}
			p := langfusePlugin(t, f, nil)
			before := f.Snapshot()
			plan, err := p.Plan(context.Background(), request(tc.action, tc.args))
			if tc.errHas != nil && !tc.applyOnly {
				wantError(t, err, tc.errPath, errHas(f)...)
			} else if err != nil {
				t.Fatalf("plan: %v", err)
			} else if tc.errHas == nil {
				if diff := cmp.Diff(tc.wantChanges, plan.Changes); diff != "" {
					t.Errorf("plan changes (-want +got):\n%s", diff)
				}
				checkOutput(t, tc.action, plan.Output, tc.want)
			}
			if w := f.Writes(); len(w) != 0 {
				t.Errorf("plan wrote: %+v", w)
			}
			if diff := cmp.Diff(before, f.Snapshot()); diff != "" {
				t.Errorf("plan changed Langfuse:\n%s", diff)
			}

			// Apply.
			f = newFakeLangfuse(t)
			if tc.setup != nil {
				tc.setup(f)
			}
			p = langfusePlugin(t, f, nil)
			before = f.Snapshot()
			req := request(tc.action, tc.args)
			var lines []string
			req.Progress = func(line string) { lines = append(lines, line) }
			res, err := p.Apply(context.Background(), req)
			checkInvariants(t, f)
			if tc.errHas != nil {
				wantError(t, err, tc.errPath, errHas(f)...)
				if diff := cmp.Diff(before, f.Snapshot()); diff != "" {
					t.Errorf("a failed %s changed Langfuse:\n%s", tc.action, diff)
				}
				if len(lines) != 0 {
					t.Errorf("a failed %s reported progress %q", tc.action, lines)
				}
				return
			}
			if err != nil {
				t.Fatalf("apply: %v", err)
			}
			checkOutput(t, tc.action, res.Output, tc.want)
			if diff := cmp.Diff(tc.labels, f.Labels(tc.prompt)); diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
			var got []langfusetest.Request
			for _, w := range f.Writes() {
				got = append(got, langfusetest.Request{Method: w.Method, Path: w.Path, Body: w.Body})
			}
			var want []langfusetest.Request
			if tc.write != nil {
				want = []langfusetest.Request{*tc.write}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("writes (-want +got):\n%s", diff)
			}
			var wantLines []string
			if tc.progress != "" {
				wantLines = []string{tc.progress}
			}
			if diff := cmp.Diff(wantLines, lines); diff != "" {
				t.Errorf("progress (-want +got):\n%s", diff)
			}
		})
	}
}

// Every change is read back: a label that does not end where it was moved,
// or a target version that lost a label, fails the step.
func TestLangfuseReadBack(t *testing.T) {
	for _, tc := range []struct {
		name   string
		after  func(f *langfusetest.Server)
		action string
		args   map[string]any
		errHas []string
	}{
		{
			name:   "a concurrent move after the rollback",
			after:  func(f *langfusetest.Server) { f.Label("support-agent", 7, "production") },
			action: "rollback", args: map[string]any{"name": "support-agent"},
			errHas: []string{"pointed production of support-agent at v6", "has it on v7", "another change may have raced this one"},
		},
		{
			name:   "a concurrent removal of the label",
			after:  func(f *langfusetest.Server) { f.Label("support-agent", 99, "production") },
			action: "promote", args: map[string]any{"name": "support-agent", "version": 5},
			errHas: []string{"has production on no version"},
		},
		{
			name:   "the target version losing its other labels",
			after:  func(f *langfusetest.Server) { f.Label("support-agent", 99, "canary") },
			action: "rollback", args: map[string]any{"name": "support-agent", "to_version": 3},
			errHas: []string{"v3 has lost its labels canary"},
		},
		{
			name:   "a concurrent move after the publish",
			after:  func(f *langfusetest.Server) { f.Label("support-agent", 7, "staging") },
			action: "publish", args: map[string]any{"name": "support-agent", "text": "v8", "label": "staging"},
			errHas: []string{"pointed staging of support-agent at v8", "has it on v7"},
		},
		{
			name: "a publish stored with other text",
			after: func(f *langfusetest.Server) {
				f.SetPrompt("support-agent", f.Labels("support-agent")["latest"], "mangled")
			},
			action: "publish", args: map[string]any{"name": "support-agent", "text": "v8"},
			errHas: []string{"published support-agent v8", "serves v8 with other text"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeLangfuse(t)
			f.SetAfterWrite(tc.after)
			p := langfusePlugin(t, f, nil)
			_, err := p.Apply(context.Background(), request(tc.action, tc.args))
			wantError(t, err, "", tc.errHas...)
		})
	}
}

// The plugin's timeout bounds each request.
func TestLangfuseTimeout(t *testing.T) {
	f := newFakeLangfuse(t)
	f.SetFault(func(r *http.Request) (int, string) {
		<-r.Context().Done()
		return http.StatusGatewayTimeout, ""
	})
	p := langfusePlugin(t, f, map[string]cty.Value{"timeout": cty.StringVal("50ms")})
	_, err := p.Apply(context.Background(), request("status", map[string]any{"name": "support-agent"}))
	wantError(t, err, "", "no answer from Langfuse at "+f.URL, "within 50ms", "the plugin's timeout")
}

// Moves racing through Langfuse end consistent: one version holds the
// label, latest stays on the newest, and every move either succeeded and
// was verified or failed saying why.
func TestLangfuseConcurrentMoves(t *testing.T) {
	f := newFakeLangfuse(t)
	p := langfusePlugin(t, f, nil)
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			_, err := p.Apply(context.Background(), request("promote", map[string]any{"name": "support-agent", "version": 1 + i%7}))
			if err != nil && !strings.Contains(err.Error(), "another change may have raced this one") {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	checkInvariants(t, f)
	if v := f.Labels("support-agent")["production"]; v < 1 || v > 7 {
		t.Errorf("production on v%d", v)
	}
}

// The fake follows the API as documented: checked here by plain requests,
// so that the backend's tests rest on a faithful model.
func TestFakeLangfuseFollowsTheAPI(t *testing.T) {
	f := newFakeLangfuse(t)
	call := func(method, path, body string, auth bool) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(method, f.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if auth {
			req.SetBasicAuth(f.PublicKey, f.SecretKey)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	wantStatus := func(got, want int, what string) {
		t.Helper()
		if got != want {
			t.Errorf("%s: status %d, want %d", what, got, want)
		}
	}

	status, _ := call("GET", "/api/public/v2/prompts", "", false)
	wantStatus(status, http.StatusUnauthorized, "no credentials")

	// Pages of prompts grouped by name, sorted by name.
	var names []any
	for page := 1; page <= 4; page++ {
		status, out := call("GET", fmt.Sprintf("/api/public/v2/prompts?page=%d&limit=100", page), "", true)
		wantStatus(status, http.StatusOK, "list")
		meta := out["meta"].(map[string]any)
		if meta["totalPages"] != 4.0 || meta["totalItems"] != 8.0 || meta["limit"] != 2.0 {
			t.Errorf("page %d: meta %v, want 4 pages of 2 of 8 prompts", page, meta)
		}
		for _, d := range out["data"].([]any) {
			names = append(names, d.(map[string]any)["name"])
		}
	}
	wantNames := []any{"aaa-filler-1", "aaa-filler-2", "aaa-filler-3", "aaa-filler-4", "chatty", "summarizer", "support-agent", "support/router"}
	if diff := cmp.Diff(wantNames, names); diff != "" {
		t.Errorf("listed names (-want +got):\n%s", diff)
	}
	_, out := call("GET", "/api/public/v2/prompts?name=support-agent", "", true)
	if d := out["data"].([]any); len(d) != 1 || len(d[0].(map[string]any)["versions"].([]any)) != 7 {
		t.Errorf("list by name: %v", out)
	}

	// One version: production by default; label or version, not both.
	_, out = call("GET", "/api/public/v2/prompts/support-agent", "", true)
	if out["version"] != 7.0 {
		t.Errorf("default label: %v", out)
	}
	status, _ = call("GET", "/api/public/v2/prompts/support-agent?label=production&version=2", "", true)
	wantStatus(status, http.StatusBadRequest, "label and version")
	status, _ = call("GET", "/api/public/v2/prompts/nope", "", true)
	wantStatus(status, http.StatusNotFound, "unknown prompt")
	status, _ = call("GET", "/api/public/v2/prompts/support-agent?label=nope", "", true)
	wantStatus(status, http.StatusNotFound, "unknown label")
	status, _ = call("GET", "/api/public/v2/prompts/support%2Frouter?version=2", "", true)
	wantStatus(status, http.StatusOK, "escaped folder name")

	// Labels move and stay unique; latest is not settable.
	status, _ = call("PATCH", "/api/public/v2/prompts/support-agent/versions/2", `{"newLabels": ["latest"]}`, true)
	wantStatus(status, http.StatusBadRequest, "latest")
	status, _ = call("PATCH", "/api/public/v2/prompts/support-agent/versions/2", `{"newLabels": ["staging"]}`, true)
	wantStatus(status, http.StatusOK, "move staging")
	if diff := cmp.Diff(map[string]int{"production": 7, "staging": 2, "canary": 3, "latest": 7}, f.Labels("support-agent")); diff != "" {
		t.Errorf("after moving staging (-want +got):\n%s", diff)
	}
	status, _ = call("PATCH", "/api/public/v2/prompts/support-agent/versions/99", `{"newLabels": ["staging"]}`, true)
	wantStatus(status, http.StatusNotFound, "unknown version")
	f.Protect("production")
	status, _ = call("PATCH", "/api/public/v2/prompts/support-agent/versions/2", `{"newLabels": ["production"]}`, true)
	wantStatus(status, http.StatusForbidden, "protected label")

	// A new version takes latest and its labels.
	status, out = call("POST", "/api/public/v2/prompts", `{"name": "support-agent", "prompt": "v8", "type": "text", "labels": ["canary"]}`, true)
	wantStatus(status, http.StatusOK, "create")
	if out["version"] != 8.0 {
		t.Errorf("created %v, want version 8", out)
	}
	if diff := cmp.Diff(map[string]int{"production": 7, "staging": 2, "canary": 8, "latest": 8}, f.Labels("support-agent")); diff != "" {
		t.Errorf("after publishing (-want +got):\n%s", diff)
	}
	checkInvariants(t, f)
}
