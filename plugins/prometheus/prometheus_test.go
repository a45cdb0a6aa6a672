package prometheus

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
)

func config(url string, opts ...func(map[string]cty.Value)) cty.Value {
	m := map[string]cty.Value{
		"url":          cty.StringVal(url),
		"bearer_token": cty.NullVal(cty.String),
		"timeout":      cty.StringVal("30s"),
	}
	for _, o := range opts {
		o(m)
	}
	return cty.ObjectVal(m)
}

func set(name string, v cty.Value) func(map[string]cty.Value) {
	return func(m map[string]cty.Value) { m[name] = v }
}

func queryArgs(q string) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{"query": cty.StringVal(q)})
}

// configured returns a plugin configured with cfg, closed when the test ends.
func configured(t *testing.T, cfg cty.Value) plugins.Plugin {
	t.Helper()
	p := New()
	t.Cleanup(func() { _ = p.Close() })
	if err := p.Configure(context.Background(), cfg); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return p
}

// query runs one query and checks the output against the schema.
func query(t *testing.T, p plugins.Plugin, q string, progress func(string)) (cty.Value, error) {
	t.Helper()
	res, err := p.Apply(context.Background(), &plugins.ActionRequest{Action: "query", Args: queryArgs(q), Progress: progress})
	if err != nil {
		return cty.NilVal, err
	}
	if !res.Output.Type().Equals(Schema.Actions["query"].Output) {
		t.Fatalf("output type %s, want the schema's %s", res.Output.Type().FriendlyName(), Schema.Actions["query"].Output.FriendlyName())
	}
	return res.Output, nil
}

func number(v cty.Value) float64 {
	f, _ := v.AsBigFloat().Float64()
	return f
}

// fake is a Prometheus API stand-in that answers every query with body.
func fake(t *testing.T, code int, contentType, body string) (*httptest.Server, *request) {
	t.Helper()
	seen := &request{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Errorf("parse form: %v", err)
		}
		seen.set(r.URL.Path, r.Header.Get("Authorization"), r.Form.Get("query"))
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(code)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, seen
}

type request struct {
	mu                 sync.Mutex
	path, auth, promql string
}

func (r *request) set(path, auth, promql string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.path, r.auth, r.promql = path, auth, promql
}

func (r *request) get() (path, auth, promql string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.path, r.auth, r.promql
}

func vector(samples ...string) string {
	return `{"status":"success","data":{"resultType":"vector","result":[` + strings.Join(samples, ",") + `]}}`
}

func TestQueryValues(t *testing.T) {
	for _, tc := range []struct {
		name   string
		body   string
		value  float64
		labels map[string]string
	}{
		{
			name:   "one series",
			body:   vector(`{"metric":{"__name__":"up","job":"gateway"},"value":[1700000000,"1"]}`),
			value:  1,
			labels: map[string]string{"__name__": "up", "job": "gateway"},
		},
		{
			name:   "aggregated ratio",
			body:   vector(`{"metric":{},"value":[1700000000,"0.0042"]}`),
			value:  0.0042,
			labels: map[string]string{},
		},
		{
			name:   "scalar",
			body:   `{"status":"success","data":{"resultType":"scalar","result":[1700000000,"42.5"]}}`,
			value:  42.5,
			labels: map[string]string{},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := fake(t, 200, "application/json", tc.body)
			out, err := query(t, configured(t, config(srv.URL)), "q", nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := number(out.GetAttr("value")); got != tc.value {
				t.Errorf("value = %v, want %v", got, tc.value)
			}
			series := out.GetAttr("series").AsValueSlice()
			if len(series) != 1 {
				t.Fatalf("series has %d elements, want 1", len(series))
			}
			if got := number(series[0].GetAttr("value")); got != tc.value {
				t.Errorf("series value = %v, want %v", got, tc.value)
			}
			labels := series[0].GetAttr("labels").AsValueMap()
			if len(labels) != len(tc.labels) {
				t.Errorf("labels = %#v, want %v", labels, tc.labels)
			}
			for k, want := range tc.labels {
				if got, ok := labels[k]; !ok || got.AsString() != want {
					t.Errorf("label %s = %#v, want %q", k, got, want)
				}
			}
		})
	}
}

func TestQueryErrors(t *testing.T) {
	for _, tc := range []struct {
		name        string
		code        int
		contentType string
		body        string
		want        []string
		argError    bool // attributed to the query argument
	}{
		{name: "empty result", code: 200, body: vector(), want: []string{"no data", "or vector(0)"}, argError: true},
		{name: "NaN", code: 200, body: vector(`{"metric":{},"value":[1700000000,"NaN"]}`), want: []string{"NaN"}, argError: true},
		{name: "+Inf", code: 200, body: vector(`{"metric":{"job":"x"},"value":[1700000000,"+Inf"]}`), want: []string{"+Inf", "division by zero"}, argError: true},
		{name: "NaN scalar", code: 200, body: `{"status":"success","data":{"resultType":"scalar","result":[1700000000,"NaN"]}}`, want: []string{"NaN"}, argError: true},
		{
			name: "several series", code: 200,
			body: vector(`{"metric":{"instance":"a"},"value":[1700000000,"1"]}`, `{"metric":{"instance":"b"},"value":[1700000000,"2"]}`,
				`{"metric":{"instance":"c"},"value":[1700000000,"3"]}`, `{"metric":{"instance":"d"},"value":[1700000000,"4"]}`),
			want:     []string{"returned 4 series", `{instance="a"}`, "and 1 more", "aggregate it (sum, max"},
			argError: true,
		},
		{
			name: "range vector", code: 200,
			body:     `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1700000000,"1"]]}]}}`,
			want:     []string{"range vector", "rate()"},
			argError: true,
		},
		{
			name: "bad query (400 from the API)", code: 400,
			body:     `{"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected end of input"}`,
			want:     []string{"Prometheus rejected the query", "parse error: unexpected end of input"},
			argError: true,
		},
		{name: "422 execution error", code: 422, body: `{"status":"error","errorType":"execution","error":"query processing would load too many samples"}`, want: []string{"execution", "too many samples"}},
		{name: "503 plain", code: 503, contentType: "text/plain", body: "Service Unavailable\n", want: []string{"answered server error: 503", "Service Unavailable"}},
		{name: "404 plain", code: 404, contentType: "text/html", body: "<html>not found</html>", want: []string{"client error: 404", "not found"}},
		{name: "bad JSON", code: 200, contentType: "text/html", body: "<html>login</html>", want: []string{"did not answer like a Prometheus API"}},
		{name: "error status in a 200", code: 200, body: `{"status":"error","errorType":"timeout","error":"query timed out"}`, want: []string{"timeout", "query timed out"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ct := tc.contentType
			if ct == "" {
				ct = "application/json"
			}
			srv, _ := fake(t, tc.code, ct, tc.body)
			out, err := query(t, configured(t, config(srv.URL)), "q", nil)
			if err == nil {
				t.Fatalf("no error; output %#v", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			var perr *plugins.Error
			if got := errors.As(err, &perr) && perr.Path.Equals(cty.GetAttrPath("query")); got != tc.argError {
				t.Errorf("attributed to the query argument: %v, want %v (%#v)", got, tc.argError, err)
			}
		})
	}
}

func TestQuerySendsBearerTokenAndWarnings(t *testing.T) {
	srv, seen := fake(t, 200, "application/json",
		`{"status":"success","warnings":["results truncated due to limit"],"infos":["metric might not be a counter"],"data":{"resultType":"vector","result":[{"metric":{},"value":[1,"7"]}]}}`)
	// A base URL with a path, as behind a reverse proxy.
	p := configured(t, config(srv.URL+"/prom/", set("bearer_token", cty.StringVal("s3cret").Mark("sensitive"))))
	var lines []string
	out, err := query(t, p, `sum(rate(x[5m]))`, func(l string) { lines = append(lines, l) })
	if err != nil {
		t.Fatal(err)
	}
	if got := number(out.GetAttr("value")); got != 7 {
		t.Errorf("value = %v, want 7", got)
	}
	path, auth, promql := seen.get()
	if path != "/prom/api/v1/query" {
		t.Errorf("path = %q", path)
	}
	if auth != "Bearer s3cret" {
		t.Errorf("Authorization = %q, want the bearer token", auth)
	}
	if promql != `sum(rate(x[5m]))` {
		t.Errorf("query = %q", promql)
	}
	want := []string{"prometheus warning: results truncated due to limit", "prometheus info: metric might not be a counter"}
	if strings.Join(lines, "|") != strings.Join(want, "|") {
		t.Errorf("progress = %q, want %q", lines, want)
	}

	// Without a token, no Authorization header.
	if _, err := query(t, configured(t, config(srv.URL)), "up", nil); err != nil {
		t.Fatal(err)
	}
	if _, auth, _ := seen.get(); auth != "" {
		t.Errorf("Authorization = %q without a token", auth)
	}
}

func TestQueryTimeoutAndConnection(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Reading the body lets the server notice the client hanging up.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-time.After(10 * time.Second):
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	p := configured(t, config(slow.URL, set("timeout", cty.StringVal("100ms"))))
	start := time.Now()
	_, err := query(t, p, "up", nil)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the query took %v despite a 100ms timeout", d)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no answer within 100ms") {
		t.Errorf("err = %v, want the plugin's timeout", err)
	}

	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	_, err = query(t, configured(t, config(closed.URL)), "up", nil)
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("err = %v, want connection refused", err)
	}
}

func TestConfigureAndArguments(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  cty.Value
		path cty.Path
	}{
		{"missing url", config("x", set("url", cty.NullVal(cty.String))), cty.GetAttrPath("url")},
		{"bad scheme", config("tcp://prom:9090"), cty.GetAttrPath("url")},
		{"no host", config("http://"), cty.GetAttrPath("url")},
		{"bad timeout", config("http://prom:9090", set("timeout", cty.StringVal("0s"))), cty.GetAttrPath("timeout")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := New().Configure(context.Background(), tc.cfg)
			var perr *plugins.Error
			if !errors.As(err, &perr) || !perr.Path.Equals(tc.path) {
				t.Errorf("err = %#v, want a plugins.Error at %#v", err, tc.path)
			}
		})
	}

	if _, err := New().Apply(context.Background(), &plugins.ActionRequest{Action: "query", Args: queryArgs("up")}); err == nil || !strings.Contains(err.Error(), "not configured") {
		t.Errorf("unconfigured Apply: err = %v", err)
	}
	p := configured(t, config("http://127.0.0.1:1"))
	_, err := query(t, p, "  ", nil)
	var perr *plugins.Error
	if !errors.As(err, &perr) || !perr.Path.Equals(cty.GetAttrPath("query")) {
		t.Errorf("empty query: err = %#v", err)
	}
}

// TestEndlessAnswer: a server that never ends its answer is cut off at
// MaxResponse, fast, with an error that says so.
func TestEndlessAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"success","data":{"resultType":"vector","result":[`)
		chunk := []byte(strings.Repeat(`{"metric":{},"value":[1,"1"]},`, 1000))
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	p := configured(t, config(srv.URL, set("timeout", cty.StringVal("60s"))))
	start := time.Now()
	_, err := query(t, p, "up", nil)
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("the query took %v", d)
	}
	if err == nil || !strings.Contains(err.Error(), "is too large (limit 16 MiB)") {
		t.Fatalf("err = %v, want the answer refused as too large", err)
	}
}
