package http

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
	"go.opentelemetry.io/otel/propagation"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/sdk"
	"github.com/runbookdev/runbook/plugins/traceprop"
)

// MaxBody bounds the response body kept in the output.
const MaxBody = 10 << 20

// maxRedirects bounds the redirects a GET or HEAD follows.
const maxRedirects = 10

// New returns an http plugin.
func New() plugins.Plugin { return compiled.New() }

func newPlugin() *plugin {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	return &plugin{client: &http.Client{Transport: transport, CheckRedirect: checkRedirect}}
}

type plugin struct {
	client *http.Client
}

func (p *plugin) close() error {
	p.client.CloseIdleConnections()
	return nil
}

// request holds http.request's arguments, decoded and checked.
type request struct {
	url     *url.URL
	method  string
	headers map[string]string
	body    *string
	timeout time.Duration
}

func (*plugin) plan(_ context.Context, req *sdk.Request) (*sdk.Plan, error) {
	args, _ := req.Args.Value().UnmarkDeep()
	if !args.IsKnown() || args.IsNull() {
		return &sdk.Plan{Changes: []string{"request (known after apply)"}}, nil
	}
	method := "(method known after apply)"
	if m := req.Args.Get("method"); m.IsKnown() {
		method = "GET"
		if !m.IsNull() {
			method = strings.ToUpper(m.AsString())
		}
	}
	target := "(url known after apply)"
	if u := req.Args.Get("url"); u.IsKnown() && !u.IsNull() {
		parsed, err := parseURL(u.AsString())
		if err != nil {
			return nil, err
		}
		target = parsed.Redacted()
	}
	if args.IsWhollyKnown() {
		if _, err := decode(args); err != nil {
			return nil, err
		}
	}
	return &sdk.Plan{Changes: []string{method + " " + target}}, nil
}

func (p *plugin) apply(ctx context.Context, req *sdk.Request) (any, error) {
	args, _ := req.Args.Value().UnmarkDeep()
	if !args.IsWhollyKnown() || args.IsNull() {
		return nil, fmt.Errorf("http.request: arguments must be known to send a request")
	}
	r, err := decode(args)
	if err != nil {
		return nil, err
	}
	progress := func(line string) { req.Progress("%s", line) }
	out, err := p.do(ctx, r, progress)
	if err != nil {
		return nil, err
	}
	if r.method != http.MethodGet && r.method != http.MethodHead {
		// What a mutating request did, in the words of its plan.
		status, _ := out.GetAttr("status").AsBigFloat().Int64()
		req.Progress("%s %s → %d %s", r.method, r.url.Redacted(), status, http.StatusText(int(status)))
	}
	return out, nil
}

func parseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, &plugins.Error{Path: cty.GetAttrPath("url"), Summary: "Invalid URL", Detail: err.Error()}
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, &plugins.Error{Path: cty.GetAttrPath("url"), Summary: "Invalid URL", Detail: fmt.Sprintf("%q: the scheme must be http or https.", u.Redacted())}
	}
	if u.Host == "" {
		return nil, &plugins.Error{Path: cty.GetAttrPath("url"), Summary: "Invalid URL", Detail: fmt.Sprintf("%q has no host.", u.Redacted())}
	}
	return u, nil
}

// decode checks wholly known arguments and turns them into a request.
func decode(args cty.Value) (*request, error) {
	r := &request{method: http.MethodGet, timeout: 30 * time.Second}
	u := plugins.Attr(args, "url")
	if u.IsNull() {
		return nil, &plugins.Error{Path: cty.GetAttrPath("url"), Summary: "Missing URL"}
	}
	var err error
	if r.url, err = parseURL(u.AsString()); err != nil {
		return nil, err
	}
	if m := plugins.Attr(args, "method"); !m.IsNull() {
		r.method = strings.ToUpper(m.AsString())
		if !isToken(r.method) {
			return nil, &plugins.Error{Path: cty.GetAttrPath("method"), Summary: "Invalid HTTP method", Detail: fmt.Sprintf("%q is not a method name.", m.AsString())}
		}
	}
	if h := plugins.Attr(args, "headers"); !h.IsNull() {
		r.headers = make(map[string]string, h.LengthInt())
		for it := h.ElementIterator(); it.Next(); {
			k, v := it.Element()
			name := k.AsString()
			if !isToken(name) {
				return nil, &plugins.Error{Path: cty.GetAttrPath("headers").Index(k), Summary: "Invalid header name", Detail: fmt.Sprintf("%q is not a header name.", name)}
			}
			if v.IsNull() {
				continue
			}
			if strings.ContainsAny(v.AsString(), "\r\n\x00") {
				return nil, &plugins.Error{Path: cty.GetAttrPath("headers").Index(k), Summary: "Invalid header value", Detail: "A header value cannot hold a line break or a NUL byte."}
			}
			r.headers[name] = v.AsString()
		}
	}
	if b := plugins.Attr(args, "body"); !b.IsNull() {
		body := b.AsString()
		r.body = &body
	}
	if t := plugins.Attr(args, "timeout"); !t.IsNull() {
		d, err := time.ParseDuration(t.AsString())
		if err != nil || d <= 0 {
			return nil, &plugins.Error{Path: cty.GetAttrPath("timeout"), Summary: "Invalid timeout", Detail: fmt.Sprintf("%q is not a positive duration such as \"30s\".", t.AsString())}
		}
		r.timeout = d
	}
	return r, nil
}

// isToken reports whether s is an HTTP token (RFC 9110), as method and
// header names must be.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// errTimeout marks the request's own timeout, told apart from the host's.
var errTimeout = errors.New("timed out")

func (p *plugin) do(ctx context.Context, r *request, progress func(string)) (cty.Value, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, r.timeout, errTimeout)
	defer cancel()

	var body io.Reader
	if r.body != nil {
		body = strings.NewReader(*r.body)
	}
	hreq, err := http.NewRequestWithContext(ctx, r.method, r.url.String(), body)
	if err != nil {
		return cty.NilVal, fmt.Errorf("http.request: %s %s: %w", r.method, r.url.Redacted(), err)
	}
	for k, v := range r.headers {
		if strings.EqualFold(k, "Host") {
			hreq.Host = v
			continue
		}
		hreq.Header.Set(k, v)
	}
	if hreq.Header.Get("User-Agent") == "" {
		hreq.Header.Set("User-Agent", "runbook")
	}
	if hreq.Header.Get(traceprop.TraceParent) == "" && hreq.Header.Get(traceprop.TraceState) == "" {
		// The server's spans join the run's trace, unless the runbook
		// sends a trace context of its own.
		traceprop.Inject(ctx, propagation.HeaderCarrier(hreq.Header))
	}

	resp, err := p.client.Do(hreq)
	if err != nil {
		return cty.NilVal, p.failed(ctx, r, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	if err != nil {
		return cty.NilVal, p.failed(ctx, r, fmt.Errorf("read the response body: %w", err))
	}
	truncated := len(data) > MaxBody
	if truncated {
		data = data[:MaxBody]
		if progress != nil {
			progress(fmt.Sprintf("note: response body truncated at %d bytes", MaxBody))
		}
	}

	return cty.ObjectVal(map[string]cty.Value{
		"status":  cty.NumberIntVal(int64(resp.StatusCode)),
		"headers": headerMap(resp.Header),
		"body":    cty.StringVal(strings.ToValidUTF8(string(data), "\uFFFD")),
		"json":    decodeJSON(resp.Header.Get("Content-Type"), data, truncated, progress),
	}), nil
}

// failed words an error for a request that got no (complete) response.
func (p *plugin) failed(ctx context.Context, r *request, err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err // url.Error repeats the method and URL, unredacted
	}
	if errors.Is(context.Cause(ctx), errTimeout) {
		return fmt.Errorf("http.request: %s %s: no complete response within %s (the timeout argument): %w", r.method, r.url.Redacted(), r.timeout, context.DeadlineExceeded)
	}
	return fmt.Errorf("http.request: %s %s: %w", r.method, r.url.Redacted(), err)
}

// checkRedirect lets GET and HEAD follow redirects, never to plain http from
// https; a mutating request is sent once, and its redirect becomes the output.
func checkRedirect(req *http.Request, via []*http.Request) error {
	first := via[0]
	if first.Method != http.MethodGet && first.Method != http.MethodHead {
		return http.ErrUseLastResponse
	}
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	if via[len(via)-1].URL.Scheme == "https" && req.URL.Scheme != "https" {
		return fmt.Errorf("refused a redirect from https to %s (%s)", req.URL.Scheme, req.URL.Redacted())
	}
	return nil
}

func headerMap(h http.Header) cty.Value {
	if len(h) == 0 {
		return cty.MapValEmpty(cty.String)
	}
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	sort.Strings(names)
	m := make(map[string]cty.Value, len(h))
	for _, name := range names {
		m[name] = cty.StringVal(strings.ToValidUTF8(strings.Join(h[name], ", "), "\uFFFD"))
	}
	return cty.MapVal(m)
}

// isJSON reports whether a Content-Type names JSON: application/json or a
// structured +json type (application/problem+json, …).
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// decodeJSON is the body as a cty value when it is JSON, else null.
func decodeJSON(contentType string, data []byte, truncated bool, progress func(string)) cty.Value {
	null := cty.NullVal(cty.DynamicPseudoType)
	if !isJSON(contentType) || len(strings.TrimSpace(string(data))) == 0 {
		return null
	}
	note := func(format string, a ...any) {
		if progress != nil {
			progress(fmt.Sprintf(format, a...))
		}
	}
	if truncated {
		note("note: json is null: the body was truncated")
		return null
	}
	ty, err := ctyjson.ImpliedType(data)
	if err != nil {
		note("note: json is null: the body says it is JSON but does not parse: %v", err)
		return null
	}
	v, err := ctyjson.Unmarshal(data, ty)
	if err != nil {
		note("note: json is null: the body says it is JSON but does not parse: %v", err)
		return null
	}
	return v
}
