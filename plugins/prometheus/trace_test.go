package prometheus

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/internal/spantest"
)

// A query made under the action's span is a client span under it, whose
// trace context the server receives; without a span nothing is sent.
func TestQueryTraceContext(t *testing.T) {
	rec := spantest.Install(t)
	seen := make(chan string, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Get("traceparent")
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, vector(`{"metric":{},"value":[1,"1"]}`))
	}))
	t.Cleanup(srv.Close)
	p := configured(t, config(srv.URL))
	req := &plugins.ActionRequest{Action: "query", Args: queryArgs("up")}

	if _, err := p.Apply(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if got := <-seen; got != "" {
		t.Errorf("without a span the server saw traceparent %q", got)
	}

	ctx, attempt := rec.Start(context.Background(), "attempt")
	if _, err := p.Apply(ctx, req); err != nil {
		t.Fatal(err)
	}
	attempt.End()
	got := <-seen
	children := rec.Children(attempt.SpanContext())
	if len(children) != 1 {
		t.Fatalf("%d spans under the attempt, want 1", len(children))
	}
	if want := spantest.TraceParent(children[0].SpanContext()); got != want {
		t.Errorf("server saw traceparent %q, want the client span's %q", got, want)
	}
}
