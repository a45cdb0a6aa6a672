package fallback

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/runbookdev/runbook/plugins/internal/spantest"
)

// Each etcd call made under the action's span is a client span under it;
// calls made without one make no span.
func TestEtcdTraceContext(t *testing.T) {
	rec := spantest.Install(t)
	e := newEtcdRoutes(t)
	p := e.plugin(t)

	if _, err := p.Apply(context.Background(), request("status", "chat")); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.Ended()); n != 0 {
		t.Errorf("without a span, %d spans were made", n)
	}

	for _, action := range []string{"status", "activate"} {
		t.Run(action, func(t *testing.T) {
			ctx, attempt := rec.Start(context.Background(), "attempt")
			if _, err := p.Apply(ctx, request(action, "chat")); err != nil {
				t.Fatal(err)
			}
			attempt.End()
			children := rec.Children(attempt.SpanContext())
			if len(children) == 0 {
				t.Fatal("no span under the attempt")
			}
			var names []string
			for _, s := range children {
				names = append(names, s.Name())
				if s.SpanKind() != trace.SpanKindClient {
					t.Errorf("span %q is of kind %v, want client", s.Name(), s.SpanKind())
				}
				if !strings.HasPrefix(s.Name(), "etcdserverpb.") {
					t.Errorf("span %q is not an etcd call", s.Name())
				}
			}
			if action == "activate" && !strings.Contains(strings.Join(names, " "), "etcdserverpb.KV/Txn") {
				t.Errorf("activate made spans %v, want a KV/Txn among them", names)
			}
		})
	}
}
