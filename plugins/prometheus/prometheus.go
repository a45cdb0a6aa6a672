package prometheus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/safefile"
	"github.com/runbookdev/runbook/plugins/sdk"
	"github.com/runbookdev/runbook/plugins/traceprop"
)

// New returns a prometheus plugin; it needs Configure before a query.
func New() plugins.Plugin { return compiled.New() }

type plugin struct {
	api       v1.API
	transport *http.Transport
	base      string // the server's URL, redacted, for messages
	timeout   time.Duration
}

func (p *plugin) configure(_ context.Context, cfg sdk.Values) error {
	config, _ := cfg.Value().UnmarkDeep()
	if !config.IsWhollyKnown() {
		return fmt.Errorf("prometheus: configuration must be known")
	}
	raw := plugins.Attr(config, "url")
	if raw.IsNull() || strings.TrimSpace(raw.AsString()) == "" {
		return &plugins.Error{Path: cty.GetAttrPath("url"), Summary: "Missing Prometheus URL", Detail: `Set url = "http://prometheus:9090" in the plugin "prometheus" block.`}
	}
	u, err := url.Parse(raw.AsString())
	if err != nil {
		return &plugins.Error{Path: cty.GetAttrPath("url"), Summary: "Invalid Prometheus URL", Detail: err.Error()}
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &plugins.Error{Path: cty.GetAttrPath("url"), Summary: "Invalid Prometheus URL", Detail: fmt.Sprintf("%q: want http(s)://HOST[:PORT][/PATH].", u.Redacted())}
	}
	timeout := 30 * time.Second
	if t := plugins.Attr(config, "timeout"); !t.IsNull() {
		d, err := time.ParseDuration(t.AsString())
		if err != nil || d <= 0 {
			return &plugins.Error{Path: cty.GetAttrPath("timeout"), Summary: "Invalid timeout", Detail: fmt.Sprintf("%q is not a positive duration such as \"30s\".", t.AsString())}
		}
		timeout = d
	}

	transport := http.DefaultTransport.(*http.Transport).Clone()
	// A query made under the action's span is a client span under it and
	// carries its trace context, for a Prometheus that traces its own.
	var rt http.RoundTripper = limitBody{next: traceprop.Transport(transport)}
	if tok := plugins.Attr(config, "bearer_token"); !tok.IsNull() && tok.AsString() != "" {
		rt = &bearer{token: tok.AsString(), next: rt}
	}
	client, err := api.NewClient(api.Config{Address: u.String(), RoundTripper: rt})
	if err != nil {
		return &plugins.Error{Path: cty.GetAttrPath("url"), Summary: "Invalid Prometheus URL", Detail: err.Error()}
	}
	if p.transport != nil {
		p.transport.CloseIdleConnections()
	}
	p.api = v1.NewAPI(client)
	p.transport = transport
	p.base = u.Redacted()
	p.timeout = timeout
	return nil
}

// bearer adds an Authorization header to every request.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b *bearer) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(req)
}

// MaxResponse bounds what is read of one answer of the server: a query
// answers with one number, so anything near it is not a Prometheus.
const MaxResponse = 16 << 20

// limitBody fails the read of a response body beyond MaxResponse, so that a
// server that never ends its answer cannot exhaust memory.
type limitBody struct{ next http.RoundTripper }

func (l limitBody) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := l.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = limitedBody{Reader: safefile.LimitReader(resp.Body, MaxResponse, "the answer of "+req.URL.Redacted()), Closer: resp.Body}
	return resp, nil
}

type limitedBody struct {
	io.Reader
	io.Closer
}

func (p *plugin) close() error {
	if p.transport != nil {
		p.transport.CloseIdleConnections()
	}
	return nil
}

// errTimeout marks the plugin's own timeout, told apart from the host's.
var errTimeout = errors.New("timed out")

func (p *plugin) query(ctx context.Context, req *sdk.Request) (any, error) {
	if p.api == nil {
		return nil, fmt.Errorf("prometheus.query: the plugin is not configured (it needs a plugin \"prometheus\" block with url)")
	}
	q := req.Args.Get("query")
	if !q.IsKnown() {
		return nil, fmt.Errorf("prometheus.query: the query must be known to run")
	}
	if q.IsNull() || strings.TrimSpace(q.AsString()) == "" {
		return nil, &plugins.Error{Path: cty.GetAttrPath("query"), Summary: "Empty query", Detail: "prometheus.query needs a PromQL expression."}
	}
	query := q.AsString()

	ctx, cancel := context.WithTimeoutCause(ctx, p.timeout, errTimeout)
	defer cancel()
	// A zero time lets the server evaluate at its own "now", immune to
	// clock skew between this machine and Prometheus.
	result, warnings, infos, err := p.api.Query(ctx, query, time.Time{}, v1.WithTimeout(p.timeout))
	for _, w := range warnings {
		req.Progress("prometheus warning: %s", w)
	}
	for _, i := range infos {
		req.Progress("prometheus info: %s", i)
	}
	if err != nil {
		return nil, p.queryError(ctx, err)
	}
	out, err := output(result)
	if err != nil {
		return nil, &plugins.Error{Path: cty.GetAttrPath("query"), Summary: "Query result is not one number", Detail: err.Error()}
	}
	return out, nil
}

// queryError words a failed query so that the operator knows where to look.
func (p *plugin) queryError(ctx context.Context, err error) error {
	if errors.Is(context.Cause(ctx), errTimeout) {
		return fmt.Errorf("prometheus.query: %s gave no answer within %s (the plugin's timeout): %w", p.base, p.timeout, context.DeadlineExceeded)
	}
	var apiErr *v1.Error
	if !errors.As(err, &apiErr) {
		return fmt.Errorf("prometheus.query: %s: %w", p.base, err)
	}
	switch apiErr.Type {
	case v1.ErrBadData:
		return &plugins.Error{Path: cty.GetAttrPath("query"), Summary: "Prometheus rejected the query", Detail: apiErr.Msg}
	case v1.ErrBadResponse:
		return fmt.Errorf("prometheus.query: %s did not answer like a Prometheus API (is url the server's base URL?): %s%s", p.base, apiErr.Msg, detail(apiErr.Detail))
	case v1.ErrClient, v1.ErrServer:
		// A plain HTTP error, not the API's JSON: its body says why.
		return fmt.Errorf("prometheus.query: %s answered %s%s", p.base, apiErr.Msg, detail(apiErr.Detail))
	default:
		return fmt.Errorf("prometheus.query: %s: %s: %s%s", p.base, apiErr.Type, apiErr.Msg, detail(apiErr.Detail))
	}
}

// detail is a short, single-line excerpt of a response body.
func detail(body string) string {
	body = strings.Join(strings.Fields(body), " ")
	if body == "" {
		return ""
	}
	const limit = 200
	if r := []rune(body); len(r) > limit {
		body = string(r[:limit]) + "…"
	}
	return ": " + body
}

// output turns a query result into { value, series }, or says why it has no
// single value.
func output(result model.Value) (cty.Value, error) {
	var value float64
	var series cty.Value
	switch r := result.(type) {
	case *model.Scalar:
		value = float64(r.Value)
		if err := finite(value); err != nil {
			return cty.NilVal, err
		}
		series = cty.ListVal([]cty.Value{cty.ObjectVal(map[string]cty.Value{
			"labels": cty.MapValEmpty(cty.String),
			"value":  cty.NumberFloatVal(value),
		})})
	case model.Vector:
		switch len(r) {
		case 0:
			return cty.NilVal, errors.New(`the query returned no data: the metric may not exist, or its label matchers or time window match nothing. Where "no data" means zero, append "or vector(0)"`)
		case 1:
		default:
			return cty.NilVal, fmt.Errorf("the query returned %d series (%s); value needs exactly one: aggregate it (sum, max, …) so it returns one", len(r), labelSets(r))
		}
		s := r[0]
		if s.Histogram != nil {
			return cty.NilVal, fmt.Errorf("the query returned a native histogram (%s), not a number: use histogram_quantile, histogram_count or histogram_sum", s.Metric)
		}
		value = float64(s.Value)
		if err := finite(value); err != nil {
			return cty.NilVal, fmt.Errorf("%s: %w", s.Metric, err)
		}
		series = cty.ListVal([]cty.Value{cty.ObjectVal(map[string]cty.Value{
			"labels": labels(s.Metric),
			"value":  cty.NumberFloatVal(value),
		})})
	case model.Matrix:
		return cty.NilVal, errors.New("the query returned a range vector (it ends in [DURATION]): an instant query needs a number, so wrap it in a function such as rate(), avg_over_time() or last_over_time()")
	case nil:
		return cty.NilVal, errors.New("the query returned no result")
	default:
		return cty.NilVal, fmt.Errorf("the query returned a %s, not a number", result.Type())
	}
	return cty.ObjectVal(map[string]cty.Value{
		"value":  cty.NumberFloatVal(value),
		"series": series,
	}), nil
}

func finite(v float64) error {
	switch {
	case math.IsNaN(v):
		return errors.New("the query returned NaN, not a number (typically 0/0: a ratio over a window with no traffic)")
	case math.IsInf(v, 0):
		return fmt.Errorf("the query returned %v (a division by zero)", v)
	}
	return nil
}

func labels(m model.Metric) cty.Value {
	if len(m) == 0 {
		return cty.MapValEmpty(cty.String)
	}
	vals := make(map[string]cty.Value, len(m))
	for k, v := range m {
		vals[string(k)] = cty.StringVal(string(v))
	}
	return cty.MapVal(vals)
}

// labelSets names the first few series of a vector, for an error message.
func labelSets(v model.Vector) string {
	names := make([]string, 0, len(v))
	for _, s := range v {
		names = append(names, s.Metric.String())
	}
	sort.Strings(names)
	const shown = 3
	if len(names) > shown {
		return strings.Join(names[:shown], ", ") + fmt.Sprintf(", and %d more", len(names)-shown)
	}
	return strings.Join(names, ", ")
}
