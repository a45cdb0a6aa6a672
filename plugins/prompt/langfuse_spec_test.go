package prompt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/prompt/langfusetest"
)

// Every request of the backend's tests to the model passes Prism's
// validating proxy (prism_test.go).
func TestLangfuseSpecProxy(t *testing.T) {
	requirePrism(t)
	c := theChain(t)
	f := newFakeLangfuse(t)
	c.mu.Lock()
	before := c.validated
	c.mu.Unlock()
	p := langfusePlugin(t, f, nil)
	for _, r := range []*plugins.ActionRequest{
		request("status", map[string]any{"name": "support-agent", "label": "canary"}),
		request("rollback", map[string]any{"name": "support-agent"}),
		request("promote", map[string]any{"name": "support/router", "version": 2}),
		request("publish", map[string]any{"name": "summarizer", "text": "v4", "label": "staging"}),
	} {
		if _, err := p.Apply(context.Background(), r); err != nil {
			t.Fatalf("%s: %v", r.Action, err)
		}
	}
	c.mu.Lock()
	validated := c.validated - before
	c.mu.Unlock()
	sent := len(f.RequestPaths())
	if sent < 10 || validated != sent {
		t.Errorf("%d of the %d requests the model received passed Prism", validated, sent)
	}
}

// recordingTB keeps the failures the chain reports instead of failing.
type recordingTB struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recordingTB) reported() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.errors, "\n")
}

// rewrite answers with the model, its JSON answer to the requests that
// match changed by edit.
func rewrite(f *langfusetest.Server, match func(*http.Request) bool, edit func(body map[string]any)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !match(r) {
			f.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		f.ServeHTTP(rec, r)
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err == nil {
			edit(body)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rec.Code)
		_ = json.NewEncoder(w).Encode(body)
	})
}

// A model that drifts from the spec fails the test that uses it, with
// Prism's message.
func TestLangfuseSpecCatchesDrift(t *testing.T) {
	requirePrism(t)
	c := theChain(t)
	isList := func(r *http.Request) bool {
		return r.Method == http.MethodGet && r.URL.Path == "/api/public/v2/prompts"
	}
	isPatch := func(r *http.Request) bool { return r.Method == http.MethodPatch }
	for _, tc := range []struct {
		name    string
		handler func(f *langfusetest.Server) http.Handler
		action  string
		args    map[string]any
		want    []string
	}{
		{
			name: "a list item without a required field",
			handler: func(f *langfusetest.Server) http.Handler {
				return rewrite(f, isList, func(body map[string]any) {
					for _, item := range body["data"].([]any) {
						delete(item.(map[string]any), "tags")
					}
				})
			},
			action: "status", args: map[string]any{"name": "support-agent"},
			want: []string{"GET /api/public/v2/prompts?", "tags"},
		},
		{
			name: "a label move answered with a version of the wrong type",
			handler: func(f *langfusetest.Server) http.Handler {
				return rewrite(f, isPatch, func(body map[string]any) { body["version"] = fmt.Sprint(body["version"]) })
			},
			action: "rollback", args: map[string]any{"name": "support-agent"},
			want: []string{"PATCH /api/public/v2/prompts/support-agent/versions/6", "version", "integer"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := langfusetest.NewServer()
			defer f.Close()
			rec := &recordingTB{TB: t}
			key := c.add(rec, tc.handler(f), func() bool { return false })
			f.PublicKey = key
			p := New()
			defer p.Close()
			config := langfuseConfig(f, map[string]cty.Value{"url": cty.StringVal(c.checker.URL), "public_key": cty.StringVal(key)})
			if err := p.Configure(context.Background(), config); err != nil {
				t.Fatal(err)
			}
			_, err := p.Apply(context.Background(), request(tc.action, tc.args))
			got := rec.reported()
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("Prism's report %q does not mention %q", got, w)
				}
			}
			if err == nil {
				t.Errorf("%s succeeded through an answer off the spec", tc.action)
			}
			t.Logf("reported: %s\nthe step: %v", got, err)
		})
	}

	// A request off the spec is refused (422) and reported.
	t.Run("a label move asked with labels of the wrong type", func(t *testing.T) {
		f := langfusetest.NewServer()
		defer f.Close()
		rec := &recordingTB{TB: t}
		key := c.add(rec, f, func() bool { return false })
		req, err := http.NewRequest(http.MethodPatch, c.checker.URL+"/api/public/v2/prompts/support-agent/versions/6", bytes.NewReader([]byte(`{"newLabels": "production"}`)))
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth(key, f.SecretKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("status %d, want 422", resp.StatusCode)
		}
		if got := rec.reported(); !strings.Contains(got, "newLabels") {
			t.Errorf("Prism's report %q does not mention newLabels", got)
		}
		if len(f.Writes()) != 0 {
			t.Error("the request reached the model")
		}
	})
}

// The backend reads every answer the spec allows, as Prism's mock makes
// them from the spec's schemas (its examples, then random ones with
// --dynamic), without a panic: each action succeeds or fails with a clear
// error that names Langfuse. The backend's requests must pass the mock's
// validation.
func TestLangfuseAgainstPrismMock(t *testing.T) {
	bin := requirePrism(t)
	for _, mode := range []struct {
		name  string
		args  []string
		tries int
	}{
		{"examples", nil, 1},
		{"dynamic", []string{"--dynamic"}, 12},
	} {
		t.Run(mode.name, func(t *testing.T) {
			mock, err := startPrism(bin, "mock", append(mode.args, langfuseSpec)...)
			if err != nil {
				t.Fatal(err)
			}
			defer mock.stop()
			// A checker in front of the mock: a request off the spec is
			// the backend's fault. With listed set, the list's first item
			// is made the prompt asked for (its name, versions 1 to 3),
			// so that the answers to reading and moving its labels are
			// parsed too.
			target, _ := url.Parse(mock.URL)
			proxy := httputil.NewSingleHostReverseProxy(target)
			var mu sync.Mutex
			var violations []string
			var listed atomic.Bool
			proxy.ModifyResponse = func(resp *http.Response) error {
				if v := prismViolations(resp); len(v) > 0 {
					mu.Lock()
					violations = append(violations, resp.Request.Method+" "+resp.Request.URL.RequestURI()+": "+strings.Join(v, "; "))
					mu.Unlock()
					return nil
				}
				if listed.Load() && resp.StatusCode == http.StatusOK && resp.Request.Method == http.MethodGet && resp.Request.URL.Path == "/api/public/v2/prompts" {
					return listPrompt(resp, resp.Request.URL.Query().Get("name"))
				}
				return nil
			}
			front := httptest.NewServer(proxy)
			defer front.Close()

			p := New()
			defer p.Close()
			config := cty.ObjectVal(map[string]cty.Value{
				"backend":    cty.StringVal("langfuse"),
				"path":       cty.NullVal(cty.String),
				"url":        cty.StringVal(front.URL),
				"public_key": cty.StringVal("pk-lf-mock"),
				"secret_key": cty.StringVal("sk-lf-mock").Mark("sensitive"),
				"timeout":    cty.NullVal(cty.String),
			})
			if err := p.Configure(context.Background(), config); err != nil {
				t.Fatal(err)
			}
			outcomes := map[string]int{}
			for _, list := range []bool{false, true} {
				listed.Store(list)
				for try := 0; try < mode.tries; try++ {
					// "string" is the name in the spec's examples.
					for _, r := range []*plugins.ActionRequest{
						request("status", map[string]any{"name": "string", "label": "string"}),
						request("status", map[string]any{"name": "support-agent"}),
						request("rollback", map[string]any{"name": "string", "label": "string"}),
						request("promote", map[string]any{"name": "string", "label": "string", "version": 1}),
						request("publish", map[string]any{"name": "string", "text": "hello", "label": "string"}),
					} {
						for _, phase := range []string{"plan", "apply"} {
							err := mockCall(p, phase, r)
							switch {
							case err == nil:
								outcomes[r.Action+" "+phase+": ok"]++
							case !clearLangfuseError(err):
								t.Errorf("%s %s: unclear error %q", phase, r.Action, err)
							default:
								outcomes[r.Action+" "+phase+": refused"]++
							}
						}
					}
				}
			}
			mu.Lock()
			defer mu.Unlock()
			for _, v := range violations {
				t.Errorf("a request off the spec: %s", v)
			}
			t.Logf("outcomes: %v", outcomes)
		})
	}
}

// mockCall plans or applies r, turning a panic into an error that says so.
func mockCall(p plugins.Plugin, phase string, r *plugins.ActionRequest) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	if phase == "plan" {
		_, err = p.Plan(context.Background(), r)
	} else {
		_, err = p.Apply(context.Background(), r)
	}
	return err
}

// clearLangfuseError says whether err is one a person can act on: it names
// Langfuse, and is no panic nor a Go value printed by mistake.
func clearLangfuseError(err error) bool {
	msg := err.Error()
	for _, bad := range []string{"panic", "runtime error", "nil pointer", "%!", "<nil>"} {
		if strings.Contains(msg, bad) {
			return false
		}
	}
	return strings.Contains(msg, "Langfuse")
}

// listPrompt makes the first item of a list answer the prompt named name,
// with versions 1 to 3; the rest stays as the mock made it.
func listPrompt(resp *http.Response, name string) error {
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	var list map[string]any
	if json.Unmarshal(data, &list) == nil {
		if items, ok := list["data"].([]any); ok && len(items) > 0 {
			if item, ok := items[0].(map[string]any); ok {
				item["name"], item["versions"] = name, []int{1, 2, 3}
				data, _ = json.Marshal(list)
			}
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(data))
	resp.ContentLength = int64(len(data))
	resp.Header.Set("Content-Length", strconv.Itoa(len(data)))
	return nil
}
