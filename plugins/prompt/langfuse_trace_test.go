package prompt

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/runbookdev/runbook/plugins/internal/spantest"
)

// Each request to Langfuse made under the action's span is a client span
// under it, whose trace context Langfuse receives; without a span nothing
// is traced or sent.
func TestLangfuseTraceContext(t *testing.T) {
	rec := spantest.Install(t)
	f := newFakeLangfuse(t)
	p := langfusePlugin(t, f, nil)

	if _, err := p.Apply(context.Background(), request("status", map[string]any{"name": "support-agent"})); err != nil {
		t.Fatal(err)
	}
	untraced := f.Requests()
	if len(untraced) == 0 {
		t.Fatal("status made no request")
	}
	for _, r := range untraced {
		if r.TraceParent != "" {
			t.Errorf("without a span, %s %s carried traceparent %q", r.Method, r.Path, r.TraceParent)
		}
	}
	if n := len(rec.Ended()); n != 0 {
		t.Errorf("without a span, %d spans were made", n)
	}

	ctx, attempt := rec.Start(context.Background(), "attempt")
	if _, err := p.Apply(ctx, request("status", map[string]any{"name": "support-agent"})); err != nil {
		t.Fatal(err)
	}
	attempt.End()
	traced := f.Requests()[len(untraced):]
	children := rec.Children(attempt.SpanContext())
	if len(children) != len(traced) {
		t.Fatalf("%d client spans for %d requests", len(children), len(traced))
	}
	sent := map[string]bool{}
	for _, r := range traced {
		sent[r.TraceParent] = true
	}
	for _, s := range children {
		if s.SpanKind() != trace.SpanKindClient {
			t.Errorf("span %q is of kind %v, want client", s.Name(), s.SpanKind())
		}
		if s.SpanContext().TraceID() != attempt.SpanContext().TraceID() {
			t.Errorf("span %q is in trace %s, want the attempt's %s", s.Name(), s.SpanContext().TraceID(), attempt.SpanContext().TraceID())
		}
		if tp := spantest.TraceParent(s.SpanContext()); !sent[tp] {
			t.Errorf("Langfuse never received span %q's traceparent %s (it got %v)", s.Name(), tp, sent)
		}
	}
}
