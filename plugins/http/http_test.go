package http

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/sdk"
)

// args builds http.request arguments with the schema's defaults.
func args(url string, opts ...func(map[string]cty.Value)) cty.Value {
	m := map[string]cty.Value{
		"url":     cty.StringVal(url),
		"method":  cty.StringVal("GET"),
		"headers": cty.NullVal(cty.Map(cty.String)),
		"body":    cty.NullVal(cty.String),
		"timeout": cty.StringVal("30s"),
	}
	for _, o := range opts {
		o(m)
	}
	return cty.ObjectVal(m)
}

func set(name string, v cty.Value) func(map[string]cty.Value) {
	return func(m map[string]cty.Value) { m[name] = v }
}

func apply(t *testing.T, a cty.Value) (cty.Value, error) {
	t.Helper()
	p := New()
	t.Cleanup(func() { _ = p.Close() })
	res, err := p.Apply(context.Background(), &plugins.ActionRequest{Action: "request", Args: a})
	if err != nil {
		return cty.NilVal, err
	}
	if err := res.Output.Type().TestConformance(Schema.Actions["request"].Output); err != nil {
		t.Fatalf("output type %s does not conform to the schema: %v", res.Output.Type().FriendlyName(), err)
	}
	return res.Output, nil
}

func status(v cty.Value) int64 {
	n, _ := v.GetAttr("status").AsBigFloat().Int64()
	return n
}

func TestRequest(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		io.WriteString(w, `{"status": "ok", "version": 7, "models": ["a", "b"], "extra": null}`)
	})
	mux.HandleFunc("/problem", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"title": "overloaded"}`)
	})
	mux.HandleFunc("/text", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, `{"looks": "like json"}`)
	})
	mux.HandleFunc("/broken-json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `<html>bad gateway</html>`)
	})
	mux.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	mux.HandleFunc("/headers", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("X-Multi", "one")
		w.Header().Add("X-Multi", "two")
		w.Header().Set("X-Seen-Auth", r.Header.Get("Authorization"))
		w.Header().Set("X-Seen-Host", r.Host)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, r.Method+" "+r.Header.Get("Content-Type")+" "+string(b))
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/text", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, tc := range []struct {
		name    string
		args    cty.Value
		status  int64
		body    string
		json    cty.Value
		headers map[string]string
	}{
		{
			name: "GET JSON", args: args(srv.URL + "/json"), status: 200,
			json: cty.ObjectVal(map[string]cty.Value{
				"status": cty.StringVal("ok"), "version": cty.NumberIntVal(7),
				"models": cty.TupleVal([]cty.Value{cty.StringVal("a"), cty.StringVal("b")}),
				"extra":  cty.NullVal(cty.DynamicPseudoType),
			}),
			headers: map[string]string{"Content-Type": "application/json; charset=utf-8"},
		},
		{
			name: "problem+json with 503", args: args(srv.URL + "/problem"), status: 503,
			body: `{"title": "overloaded"}`,
			json: cty.ObjectVal(map[string]cty.Value{"title": cty.StringVal("overloaded")}),
		},
		{name: "text is not decoded", args: args(srv.URL + "/text"), status: 200, body: `{"looks": "like json"}`, json: cty.NullVal(cty.DynamicPseudoType)},
		{name: "JSON that does not parse", args: args(srv.URL + "/broken-json"), status: 200, body: `<html>bad gateway</html>`, json: cty.NullVal(cty.DynamicPseudoType)},
		{name: "500 is output", args: args(srv.URL + "/fail"), status: 500, body: "boom\n", json: cty.NullVal(cty.DynamicPseudoType)},
		{
			name: "headers both ways",
			args: args(srv.URL+"/headers", set("headers", cty.MapVal(map[string]cty.Value{
				"Authorization": cty.StringVal("Bearer t0k"), "Host": cty.StringVal("api.internal"),
			}))),
			status: 204, json: cty.NullVal(cty.DynamicPseudoType),
			headers: map[string]string{"X-Multi": "one, two", "X-Seen-Auth": "Bearer t0k", "X-Seen-Host": "api.internal"},
		},
		{
			name: "POST body",
			args: args(srv.URL+"/echo", set("method", cty.StringVal("post")), set("body", cty.StringVal(`{"route":"chat"}`)),
				set("headers", cty.MapVal(map[string]cty.Value{"Content-Type": cty.StringVal("application/json")}))),
			status: 200, body: `POST application/json {"route":"chat"}`, json: cty.NullVal(cty.DynamicPseudoType),
		},
		{name: "GET follows a redirect", args: args(srv.URL + "/moved"), status: 200, body: `{"looks": "like json"}`, json: cty.NullVal(cty.DynamicPseudoType)},
		{
			name: "POST does not follow a redirect", args: args(srv.URL+"/moved", set("method", cty.StringVal("POST"))),
			status: 302, json: cty.NullVal(cty.DynamicPseudoType), headers: map[string]string{"Location": "/text"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := apply(t, tc.args)
			if err != nil {
				t.Fatal(err)
			}
			if got := status(out); got != tc.status {
				t.Errorf("status = %d, want %d", got, tc.status)
			}
			if got := out.GetAttr("body").AsString(); tc.body != "" && got != tc.body {
				t.Errorf("body = %q, want %q", got, tc.body)
			}
			if got := out.GetAttr("json"); !got.RawEquals(tc.json) {
				t.Errorf("json = %#v, want %#v", got, tc.json)
			}
			headers := out.GetAttr("headers")
			for k, want := range tc.headers {
				if !headers.HasIndex(cty.StringVal(k)).True() {
					t.Errorf("header %s missing from %#v", k, headers)
					continue
				}
				if got := headers.Index(cty.StringVal(k)).AsString(); got != want {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

func TestRequestHTTPSDowngradeRefused(t *testing.T) {
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer plain.Close()
	tls := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+"/x", http.StatusFound)
	}))
	defer tls.Close()
	p := newPlugin()
	p.client.Transport = tls.Client().Transport
	impl, err := sdk.New(definition(p))
	if err != nil {
		t.Fatal(err)
	}
	_, err = impl.Apply(context.Background(), &plugins.ActionRequest{Action: "request", Args: args(tls.URL)})
	if err == nil || !strings.Contains(err.Error(), "refused a redirect from https to http") {
		t.Fatalf("err = %v, want a refused downgrade", err)
	}
}

func TestRequestBodyTruncated(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `"`+strings.Repeat("x", MaxBody+100)+`"`)
	}))
	defer srv.Close()
	var lines []string
	res, err := New().Apply(context.Background(), &plugins.ActionRequest{
		Action: "request", Args: args(srv.URL), Progress: func(l string) { lines = append(lines, l) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(res.Output.GetAttr("body").AsString()); n != MaxBody {
		t.Errorf("body is %d bytes, want %d", n, MaxBody)
	}
	if !res.Output.GetAttr("json").IsNull() {
		t.Error("json of a truncated body should be null")
	}
	if len(lines) == 0 || !strings.Contains(lines[0], "truncated") {
		t.Errorf("progress = %q, want a truncation note", lines)
	}
}

func TestRequestErrors(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(10 * time.Second):
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()

	// A port nobody listens on: bind one, then close it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + l.Addr().String() + "/"
	l.Close()

	for _, tc := range []struct {
		name string
		args cty.Value
		want string
		is   error
		path cty.Path
	}{
		{name: "timeout", args: args(slow.URL, set("timeout", cty.StringVal("100ms"))), want: "no complete response within 100ms", is: context.DeadlineExceeded},
		{name: "connection refused", args: args(refused), want: "connection refused"},
		{name: "bad scheme", args: args("ftp://example.com/"), path: cty.GetAttrPath("url")},
		{name: "no host", args: args("http:///x"), path: cty.GetAttrPath("url")},
		{name: "bad method", args: args(slow.URL, set("method", cty.StringVal("GE T"))), path: cty.GetAttrPath("method")},
		{name: "bad timeout", args: args(slow.URL, set("timeout", cty.StringVal("soon"))), path: cty.GetAttrPath("timeout")},
		{name: "bad header", args: args(slow.URL, set("headers", cty.MapVal(map[string]cty.Value{"X-A": cty.StringVal("a\r\nX-B: b")}))), path: cty.GetAttrPath("headers").Index(cty.StringVal("X-A"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := apply(t, tc.args)
			if err == nil {
				t.Fatal("no error")
			}
			if time.Since(start) > 5*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
			if tc.want != "" && !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to say %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("err = %v, want it to wrap %v", err, tc.is)
			}
			if tc.path != nil {
				var perr *plugins.Error
				if !errors.As(err, &perr) || !perr.Path.Equals(tc.path) {
					t.Errorf("err = %#v, want a plugins.Error at %#v", err, tc.path)
				}
			}
		})
	}
}

func TestRequestHostCancel(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := New().Apply(ctx, &plugins.ActionRequest{Action: "request", Args: args(srv.URL)})
	if !errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "timeout argument") {
		t.Fatalf("err = %v, want the host's deadline, not the request timeout", err)
	}
}

func TestPlan(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    cty.Value
		changes []string
	}{
		{"POST", args("https://user:secret@api.internal/v1/flush", set("method", cty.StringVal("post"))), []string{"POST https://user:xxxxx@api.internal/v1/flush"}},
		{"unknown url", args("x", set("method", cty.StringVal("DELETE")), set("url", cty.UnknownVal(cty.String))), []string{"DELETE (url known after apply)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := New().Plan(context.Background(), &plugins.ActionRequest{Action: "request", Args: tc.args})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(res.Changes, "|") != strings.Join(tc.changes, "|") {
				t.Errorf("changes = %q, want %q", res.Changes, tc.changes)
			}
			if res.Output.IsKnown() {
				t.Error("planned output should be unknown")
			}
		})
	}
	if _, err := New().Plan(context.Background(), &plugins.ActionRequest{Action: "request", Args: args("gopher://x")}); err == nil {
		t.Error("Plan accepted a bad URL")
	}
}

// A mutating request says what it did, in its plan's words, with the
// status it got; a read says nothing more than its output.
func TestMutatingRequestChangeLine(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusCreated)
		}
	}))
	defer srv.Close()
	for _, tc := range []struct {
		method string
		want   string
	}{
		{"POST", "POST " + srv.URL + "/deploy → 201 Created"},
		{"GET", ""},
	} {
		p := New()
		var got []string
		_, err := p.Apply(context.Background(), &plugins.ActionRequest{
			Action:   "request",
			Args:     args(srv.URL+"/deploy", set("method", cty.StringVal(tc.method))),
			Progress: func(line string) { got = append(got, line) },
		})
		_ = p.Close()
		if err != nil {
			t.Fatal(err)
		}
		if tc.want == "" && len(got) > 0 || tc.want != "" && (len(got) != 1 || got[0] != tc.want) {
			t.Errorf("%s: progress %q, want %q", tc.method, got, tc.want)
		}
	}
}
