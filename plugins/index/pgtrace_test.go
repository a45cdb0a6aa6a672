package index

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/internal/spantest"
)

// testPGTraced: a statement run under a span is a client span under it,
// with the operation's name and without the statement's text or arguments;
// without a span, nothing is traced.
func testPGTraced(t *testing.T, dsn, schema string) {
	rec := spantest.Install(t)

	t.Run("tracer", func(t *testing.T) {
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Tracer = newPGTracer()
		conn, err := pgx.ConnectConfig(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close(context.Background()) })
		if _, err := conn.Exec(context.Background(), `SELECT $1::text`, "untraced-argument"); err != nil {
			t.Fatal(err)
		}
		if n := len(rec.Ended()); n != 0 {
			t.Errorf("without a span, %d spans were made", n)
		}

		ctx, attempt := rec.Start(context.Background(), "attempt")
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`SELECT $1::text`, []any{"secret-argument"}},
			{`SELECT 'secret-literal'`, nil},
		} {
			if _, err := conn.Exec(ctx, q.sql, q.args...); err != nil {
				t.Fatal(err)
			}
		}
		attempt.End()
		queries := 0
		for _, s := range rec.Children(attempt.SpanContext()) {
			checkPGSpan(t, s.Name(), s.SpanKind(), s.Attributes(), "secret-")
			if s.Name() == "SELECT" && hasAttr(s.Attributes(), "db.operation.name", "SELECT") {
				queries++
			}
		}
		// Each statement is prepared first (pgx's statement cache), then
		// run: the run of each is a span with its operation's name.
		if queries < 2 {
			t.Errorf("%d query spans with db.operation.name SELECT, want one per statement", queries)
		}
	})

	t.Run("plugin", func(t *testing.T) {
		p, _ := newPGPlugin(t, pgConfig{dsn: dsn, schema: schema}, nil)
		const name = "tracedindexname"
		req := &plugins.ActionRequest{Action: "status", Args: nameArgs(name)}
		ctx, attempt := rec.Start(context.Background(), "attempt")
		if _, err := p.Apply(ctx, req); err != nil {
			t.Fatal(err)
		}
		attempt.End()
		children := rec.Children(attempt.SpanContext())
		if len(children) == 0 {
			t.Fatal("status made no span under the attempt")
		}
		for _, s := range children {
			checkPGSpan(t, s.Name(), s.SpanKind(), s.Attributes(), name)
		}
	})
}

// checkPGSpan checks a span of the tracer: a client span of PostgreSQL with
// neither the statement's text nor any value holding secret.
func checkPGSpan(t *testing.T, name string, kind trace.SpanKind, attrs []attribute.KeyValue, secret string) {
	t.Helper()
	if kind != trace.SpanKindClient {
		t.Errorf("span %q is of kind %v, want client", name, kind)
	}
	if !hasAttr(attrs, "db.system.name", "postgresql") {
		t.Errorf("span %q lacks db.system.name=postgresql: %v", name, attrs)
	}
	if strings.Contains(name, secret) {
		t.Errorf("span name %q holds %q", name, secret)
	}
	for _, a := range attrs {
		if a.Key == "db.query.text" || strings.HasPrefix(string(a.Key), "pgx.query.parameters") {
			t.Errorf("span %q records %s", name, a.Key)
		}
		if strings.Contains(a.Value.String(), secret) {
			t.Errorf("span %q: %s = %q holds %q", name, a.Key, a.Value.String(), secret)
		}
	}
}

func hasAttr(attrs []attribute.KeyValue, key, value string) bool {
	for _, a := range attrs {
		if string(a.Key) == key && a.Value.String() == value {
			return true
		}
	}
	return false
}
