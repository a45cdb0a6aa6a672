package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/runbookdev/runbook/cmd/runbook/internal/jaegertest"
	"github.com/runbookdev/runbook/plugins/index/pgtest"
	"github.com/runbookdev/runbook/plugins/prompt/langfusetest"
)

// Scripts start the services of the plugins' backends themselves, on
// 127.0.0.1, stopped when the script ends:
//
//	[postgres]
//
// is true when the machine has PostgreSQL's server binaries. Without them it
// is false, so that `[!postgres] skip` skips the script, unless
// RUNBOOK_REQUIRE_SERVICES=1 (CI), where the condition fails the script.
//
//	pgserver
//
// starts a private PostgreSQL server (plugins/index/pgtest) and sets $PG_DSN
// to its connection string, for the superuser "runbook".
//
//	pgsql SQL
//
// runs one statement on $PG_DSN and writes the rows it returns to stdout,
// one a line, columns separated by a space; NULL is shown as NULL.
//
//	pgproxy start|stop
//
// start serves a TCP proxy to $PG_DSN's server on 127.0.0.1 and sets
// $PROXY_DSN to $PG_DSN through it; stop closes it and every connection
// through it, as a server that went away would (connections are refused);
// start again serves it on the same port.
//
//	langfuse start
//	langfuse move NAME VERSION LABEL...
//	langfuse labels NAME
//	langfuse snapshot
//
// start serves the Langfuse model (plugins/prompt/langfusetest, with its
// prompts) and sets $LANGFUSE_URL, $LANGFUSE_PUBLIC_KEY and
// $LANGFUSE_SECRET_KEY. move puts labels on a version through the API (a
// PATCH, as another client of the project would); labels writes to stdout
// which version each label of a prompt is on, "LABEL VERSION" sorted by
// label; snapshot writes every version with its labels and text, for
// "nothing changed" checks.
//
//	[jaeger]
//
// is true when the machine has a Jaeger v2 binary ($RUNBOOK_JAEGER, or
// jaeger on $PATH; see cmd/runbook/internal/jaegertest). Without one it is
// false, unless RUNBOOK_REQUIRE_SERVICES=1, where it fails the script.
//
//	jaeger
//
// starts a private Jaeger and sets $OTEL_EXPORTER_OTLP_ENDPOINT to its
// OTLP/HTTP receiver, $OTEL_EXPORTER_OTLP_PROTOCOL to http/protobuf, and
// $JAEGER_QUERY to its query service's URL.
//
//	jaegertrace TRACEID MINSPANS
//
// waits until the trace TRACEID has at least MINSPANS spans and writes them
// to stdout in start order, a line for each span, followed by a line for
// each of its events:
//
//	span OPERATION parent=PARENT_OPERATION KEY=VALUE...
//	event OPERATION EVENT KEY=VALUE...
//
// parent=- for a root span (?SPANID for a parent the trace lacks); tags and
// fields sorted by key; a value that is empty or holds spaces, quotes or
// control characters is quoted as in Go.

// scriptServices holds the services a script started.
type scriptServices struct {
	langfuse *langfusetest.Server
	proxy    *pgtest.Proxy
	jaeger   *jaegertest.Jaeger
}

type scriptServicesKey struct{}

func services(ts *testscript.TestScript) *scriptServices {
	return ts.Value(scriptServicesKey{}).(*scriptServices)
}

// serviceCondition answers the conditions of services.
func serviceCondition(cond string) (bool, error) {
	switch cond {
	case "postgres":
		_, err := pgtest.BinDir()
		if errors.Is(err, pgtest.ErrNoServer) && pgtest.Required() {
			return false, fmt.Errorf("%v, and RUNBOOK_REQUIRE_SERVICES=1 requires them", err)
		}
		return err == nil, err
	case "jaeger":
		_, err := jaegertest.Binary()
		if errors.Is(err, jaegertest.ErrNoBinary) {
			if jaegertest.Required() {
				return false, fmt.Errorf("%v, and RUNBOOK_REQUIRE_SERVICES=1 requires it", err)
			}
			return false, nil
		}
		return err == nil, err
	case "openssh":
		// ssh-keygen, ssh-agent and ssh-add make and hold the keys of
		// the approval scripts.
		return haveTools("apt-get install openssh-client", "ssh-keygen", "ssh-agent", "ssh-add")
	case "inspector":
		// The MCP Inspector's CLI mode, a client of runbook mcp that is
		// not ours.
		return haveTools("npm: @modelcontextprotocol/inspector, pinned in .ci/inspector", "mcp-inspector")
	}
	return false, fmt.Errorf("unknown condition %q", cond)
}

// haveTools reports whether every program named is on $PATH; a missing
// one is an error when RUNBOOK_REQUIRE_SERVICES=1, where install says how
// to get it.
func haveTools(install string, names ...string) (bool, error) {
	for _, name := range names {
		if _, err := exec.LookPath(name); err != nil {
			if pgtest.Required() {
				return false, fmt.Errorf("no %s (%s), and RUNBOOK_REQUIRE_SERVICES=1 requires it", name, install)
			}
			return false, nil
		}
	}
	return true, nil
}

// scriptTB lets pgtest start a server for a script.
type scriptTB struct{ ts *testscript.TestScript }

func (s scriptTB) Helper()                           {}
func (s scriptTB) Fatalf(format string, args ...any) { s.ts.Fatalf(format, args...) }
func (s scriptTB) Skip(args ...any)                  { s.ts.Fatalf("%s", fmt.Sprint(args...)) }
func (s scriptTB) Logf(format string, args ...any)   { s.ts.Logf(format, args...) }
func (s scriptTB) Cleanup(f func())                  { s.ts.Defer(f) }

// cmdPgServer implements `pgserver`.
func cmdPgServer(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: pgserver")
	}
	ts.Setenv("PG_DSN", pgtest.Start(scriptTB{ts}))
}

// cmdPgSQL implements `pgsql SQL`.
func cmdPgSQL(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: pgsql SQL")
	}
	dsn := ts.Getenv("PG_DSN")
	if dsn == "" {
		ts.Fatalf("pgsql: no $PG_DSN; start a server with pgserver")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	ts.Check(err)
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, args[0])
	ts.Check(err)
	var out strings.Builder
	for rows.Next() {
		values, err := rows.Values()
		ts.Check(err)
		cells := make([]string, len(values))
		for i, v := range values {
			cells[i] = "NULL"
			if v != nil {
				cells[i] = fmt.Sprint(v)
			}
		}
		fmt.Fprintln(&out, strings.Join(cells, " "))
	}
	ts.Check(rows.Err())
	fmt.Fprint(ts.Stdout(), out.String())
}

// cmdLangfuse implements `langfuse start|move|labels|snapshot`.
func cmdLangfuse(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: langfuse start|move|labels|snapshot")
	}
	svc := services(ts)
	if args[0] != "start" && svc.langfuse == nil {
		ts.Fatalf("langfuse %s: no server; run langfuse start first", args[0])
	}
	switch {
	case args[0] == "start" && len(args) == 1:
		if svc.langfuse != nil {
			ts.Fatalf("langfuse start: already started")
		}
		s := langfusetest.NewServer()
		ts.Defer(s.Close)
		svc.langfuse = s
		ts.Setenv("LANGFUSE_URL", s.URL)
		ts.Setenv("LANGFUSE_PUBLIC_KEY", s.PublicKey)
		ts.Setenv("LANGFUSE_SECRET_KEY", s.SecretKey)
	case args[0] == "move" && len(args) >= 4:
		s := svc.langfuse
		if _, err := strconv.Atoi(args[2]); err != nil {
			ts.Fatalf("langfuse move: version %q is not a number", args[2])
		}
		body := fmt.Sprintf(`{"newLabels": [%s]}`, quoteAll(args[3:]))
		req, err := http.NewRequest(http.MethodPatch, s.URL+"/api/public/v2/prompts/"+url.PathEscape(args[1])+"/versions/"+args[2], strings.NewReader(body))
		ts.Check(err)
		req.SetBasicAuth(s.PublicKey, s.SecretKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		ts.Check(err)
		var answer bytes.Buffer
		_, _ = answer.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			ts.Fatalf("langfuse move: %s: %s", resp.Status, answer.String())
		}
	case args[0] == "labels" && len(args) == 2:
		labels := svc.langfuse.Labels(args[1])
		names := make([]string, 0, len(labels))
		for l := range labels {
			names = append(names, l)
		}
		sort.Strings(names)
		for _, l := range names {
			fmt.Fprintf(ts.Stdout(), "%s %d\n", l, labels[l])
		}
	case args[0] == "snapshot" && len(args) == 1:
		snap := svc.langfuse.Snapshot()
		keys := make([]string, 0, len(snap))
		for k := range snap {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(ts.Stdout(), "%s: %s\n", k, snap[k])
		}
	default:
		ts.Fatalf("usage: langfuse start | move NAME VERSION LABEL... | labels NAME | snapshot")
	}
}

func quoteAll(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

// cmdPgProxy implements `pgproxy start|stop`.
func cmdPgProxy(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 || (args[0] != "start" && args[0] != "stop") {
		ts.Fatalf("usage: pgproxy start|stop")
	}
	svc := services(ts)
	if args[0] == "stop" {
		if svc.proxy == nil {
			ts.Fatalf("pgproxy stop: not started")
		}
		svc.proxy.Stop()
		return
	}
	if svc.proxy == nil {
		u, err := url.Parse(ts.Getenv("PG_DSN"))
		if err != nil || u.Host == "" {
			ts.Fatalf("pgproxy: no $PG_DSN; start a server with pgserver")
		}
		svc.proxy = pgtest.NewProxy(u.Host)
		ts.Defer(svc.proxy.Stop)
	}
	ts.Check(svc.proxy.Start())
	u, _ := url.Parse(ts.Getenv("PG_DSN"))
	u.Host = svc.proxy.Addr()
	ts.Setenv("PROXY_DSN", u.String())
}

// cmdJaeger implements `jaeger`.
func cmdJaeger(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: jaeger")
	}
	svc := services(ts)
	if svc.jaeger != nil {
		ts.Fatalf("jaeger: already started")
	}
	svc.jaeger = jaegertest.Start(scriptTB{ts})
	ts.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", svc.jaeger.OTLPHTTP)
	ts.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	ts.Setenv("JAEGER_QUERY", svc.jaeger.Query)
}

// cmdJaegerTrace implements `jaegertrace TRACEID MINSPANS`.
func cmdJaegerTrace(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: jaegertrace TRACEID MINSPANS")
	}
	j := services(ts).jaeger
	if j == nil {
		ts.Fatalf("jaegertrace: no Jaeger; start one with jaeger")
	}
	minSpans, err := strconv.Atoi(args[1])
	if err != nil || minSpans < 1 {
		ts.Fatalf("jaegertrace: MINSPANS %q is not a positive number", args[1])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tr, err := j.WaitTrace(ctx, args[0], minSpans)
	if err != nil {
		ts.Fatalf("jaegertrace: %v\njaeger log:\n%s", err, j.Log())
	}
	fmt.Fprint(ts.Stdout(), formatTrace(tr))
}

// formatTrace writes a trace as jaegertrace shows it.
func formatTrace(tr *jaegertest.Trace) string {
	spans := slices.Clone(tr.Spans)
	sort.SliceStable(spans, func(i, k int) bool {
		a, b := spans[i], spans[k]
		if !a.Start.Equal(b.Start) {
			return a.Start.Before(b.Start)
		}
		if a.OperationName != b.OperationName {
			return a.OperationName < b.OperationName
		}
		return a.SpanID < b.SpanID
	})
	var out strings.Builder
	for _, s := range spans {
		parent := "-"
		if id := s.Parent(); id != "" {
			parent = "?" + id // a parent the trace does not hold (yet)
			if p, ok := tr.Span(id); ok {
				parent = p.OperationName
			}
		}
		tags := make(map[string]any, len(s.Tags))
		for _, kv := range s.Tags {
			tags[kv.Key] = kv.Value
		}
		fmt.Fprintf(&out, "span %s parent=%s%s\n", s.OperationName, parent, formatFields(tags))
		for _, e := range s.Events() {
			fmt.Fprintf(&out, "event %s %s%s\n", s.OperationName, formatValue(e.Name), formatFields(e.Fields))
		}
	}
	return out.String()
}

// formatFields writes " KEY=VALUE" for each field, sorted by key.
func formatFields(fields map[string]any) string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&out, " %s=%s", formatValue(k), formatValue(fields[k]))
	}
	return out.String()
}

// formatValue writes a tag's value: strings bare unless they are empty or
// hold spaces, quotes or control characters, then quoted as in Go; bytes in
// base64.
func formatValue(v any) string {
	switch v := v.(type) {
	case string:
		if v == "" || strings.ContainsFunc(v, func(r rune) bool {
			return r == '"' || r == '\\' || unicode.IsSpace(r) || !unicode.IsPrint(r)
		}) {
			return strconv.Quote(v)
		}
		return v
	case []byte:
		return base64.StdEncoding.EncodeToString(v)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}

func TestFormatTrace(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	child := func(op, id, parent string, start time.Time, tags ...jaegertest.KeyValue) jaegertest.Span {
		s := jaegertest.Span{TraceID: "t1", SpanID: id, OperationName: op, Start: start, Tags: tags}
		if parent != "" {
			s.References = []jaegertest.Reference{{Type: "CHILD_OF", TraceID: "t1", SpanID: parent}}
		}
		return s
	}
	step := child("runbook.step", "s2", "s1", t0.Add(time.Millisecond),
		jaegertest.KeyValue{Key: "runbook.step", Value: "migrate db"},
		jaegertest.KeyValue{Key: "attempts", Value: int64(3)},
		jaegertest.KeyValue{Key: "empty", Value: ""},
		jaegertest.KeyValue{Key: "ratio", Value: 0.5},
		jaegertest.KeyValue{Key: "changes", Value: true},
		jaegertest.KeyValue{Key: "raw", Value: []byte("hi")},
	)
	step.Logs = []jaegertest.Log{
		{Time: t0.Add(3 * time.Millisecond), Fields: []jaegertest.KeyValue{{Key: "event", Value: "done"}}},
		{Time: t0.Add(2 * time.Millisecond), Fields: []jaegertest.KeyValue{
			{Key: "reason", Value: `said "no"`}, {Key: "event", Value: "retry"}, {Key: "attempt", Value: int64(2)},
		}},
		{Time: t0.Add(2 * time.Millisecond), Fields: []jaegertest.KeyValue{{Key: "message", Value: "not an event"}}},
	}
	tests := []struct {
		name  string
		spans []jaegertest.Span
		want  string
	}{
		{
			name: "parent, child and events",
			// Out of order: the lines follow the start times.
			spans: []jaegertest.Span{step, child("runbook.exec", "s1", "", t0, jaegertest.KeyValue{Key: "runbook.name", Value: "deploy"})},
			want: "span runbook.exec parent=- runbook.name=deploy\n" +
				`span runbook.step parent=runbook.exec attempts=3 changes=true empty="" ratio=0.5 raw=aGk= runbook.step="migrate db"` + "\n" +
				`event runbook.step retry attempt=2 reason="said \"no\""` + "\n" +
				"event runbook.step done\n",
		},
		{
			name: "same start, by name",
			spans: []jaegertest.Span{
				child("b", "s2", "", t0), child("a", "s3", "", t0), child("a", "s1", "", t0),
			},
			want: "span a parent=-\nspan a parent=-\nspan b parent=-\n",
		},
		{
			name:  "parent missing",
			spans: []jaegertest.Span{child("runbook.step", "s2", "s9", t0)},
			want:  "span runbook.step parent=?s9\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := formatTrace(&jaegertest.Trace{TraceID: "t1", Spans: tt.spans})
			if got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}
