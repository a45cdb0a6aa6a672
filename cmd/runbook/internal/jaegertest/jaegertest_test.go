package jaegertest

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// TestStartExportRead exports a parent and a child span to a real Jaeger
// with the OpenTelemetry SDK and reads them back through the query API.
func TestStartExportRead(t *testing.T) {
	var j *Jaeger
	passed := t.Run("export and read", func(t *testing.T) {
		begin := time.Now()
		j = Start(t)
		t.Logf("jaeger started in %v", time.Since(begin).Round(time.Millisecond))

		traceID, parentID, childID := exportSpans(t, j.OTLPHTTP)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		tr, err := j.WaitTrace(ctx, traceID, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(tr.Spans) != 2 {
			t.Fatalf("got %d spans, want 2", len(tr.Spans))
		}
		parents, children := tr.Find("runbook.exec"), tr.Find("runbook.step")
		if len(parents) != 1 || len(children) != 1 {
			t.Fatalf("got %d runbook.exec and %d runbook.step spans, want one each", len(parents), len(children))
		}
		parent, child := parents[0], children[0]
		if parent.SpanID != parentID || child.SpanID != childID {
			t.Errorf("span IDs: got %s and %s, want %s and %s", parent.SpanID, child.SpanID, parentID, childID)
		}
		if got := parent.Parent(); got != "" {
			t.Errorf("the parent's parent is %q, want none", got)
		}
		if got := child.Parent(); got != parentID {
			t.Errorf("the child's parent is %q, want %s", got, parentID)
		}
		if s, ok := tr.Span(child.Parent()); !ok || s.OperationName != "runbook.exec" {
			t.Errorf("Span(child's parent) = %q, %v; want runbook.exec", s.OperationName, ok)
		}
		checkChild(t, child)
		if parent.Process.ServiceName != "jaegertest" {
			t.Errorf("service name %q, want jaegertest", parent.Process.ServiceName)
		}
		if v, ok := parent.Tag("runbook.name"); v != "deploy" || !ok {
			t.Errorf("parent's runbook.name = %v, %v; want deploy", v, ok)
		}
	})
	if !passed || j == nil { // failed, or skipped without a binary
		return
	}
	// The test's cleanup stopped Jaeger: nothing answers on its ports.
	if conn, err := net.DialTimeout("tcp", j.Query[len("http://"):], time.Second); err == nil {
		conn.Close()
		t.Errorf("the query port still answers after the test ended")
	}
}

// checkChild checks the attributes and the event of the child span.
func checkChild(t *testing.T, child Span) {
	t.Helper()
	for key, want := range map[string]any{
		"runbook.step":     "migrate",
		"runbook.attempts": int64(3),
		"runbook.changes":  true,
		"runbook.ratio":    0.5,
	} {
		if got, ok := child.Tag(key); !ok || got != want {
			t.Errorf("tag %s = %#v (%v), want %#v", key, got, ok, want)
		}
	}
	if _, ok := child.Tag("no.such.tag"); ok {
		t.Errorf("Tag found a tag the span does not have")
	}
	events := child.Events()
	if len(events) != 1 {
		t.Fatalf("got %d events, want 1: %+v", len(events), events)
	}
	want := map[string]any{"attempt": int64(2), "reason": "timeout"}
	if events[0].Name != "retry" || !cmp.Equal(events[0].Fields, want) {
		t.Errorf("event %q %v, want retry %v", events[0].Name, events[0].Fields, want)
	}
	if child.Duration <= 0 || child.Start.IsZero() {
		t.Errorf("start %v, duration %v: want both set", child.Start, child.Duration)
	}
}

// exportSpans exports a runbook.exec span and its runbook.step child to
// endpoint over OTLP/HTTP and returns their IDs.
func exportSpans(t *testing.T, endpoint string) (traceID, parentID, childID string) {
	t.Helper()
	ctx := context.Background()
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint+"/v1/traces"))
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSyncer(exp),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "jaegertest"))),
	)
	tracer := tp.Tracer("jaegertest")
	ctx, parent := tracer.Start(ctx, "runbook.exec", trace.WithAttributes(attribute.String("runbook.name", "deploy")))
	_, child := tracer.Start(ctx, "runbook.step", trace.WithAttributes(
		attribute.String("runbook.step", "migrate"),
		attribute.Int64("runbook.attempts", 3),
		attribute.Bool("runbook.changes", true),
		attribute.Float64("runbook.ratio", 0.5),
	))
	child.AddEvent("retry", trace.WithAttributes(attribute.Int("attempt", 2), attribute.String("reason", "timeout")))
	child.End()
	parent.End()
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	return parent.SpanContext().TraceID().String(), parent.SpanContext().SpanID().String(), child.SpanContext().SpanID().String()
}

func TestTraceNotFound(t *testing.T) {
	j := Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := j.Trace(ctx, "0123456789abcdef0123456789abcdef")
	if !errors.Is(err, ErrTraceNotFound) {
		t.Errorf("got %v, want ErrTraceNotFound", err)
	}
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancelShort()
	if _, err := j.WaitTrace(short, "0123456789abcdef0123456789abcdef", 1); !errors.Is(err, ErrTraceNotFound) {
		t.Errorf("WaitTrace: got %v, want ErrTraceNotFound", err)
	}
	if _, err := j.Trace(ctx, "not-hex"); err == nil {
		t.Errorf("Trace took a trace ID that is not hex")
	}
}

func TestBinary(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "jaeger")
	if err := os.WriteFile(file, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, env, path string
		want            string // "" when an error is wanted
		wantNoBinary    bool
	}{
		{name: "RUNBOOK_JAEGER", env: file, want: file},
		{name: "RUNBOOK_JAEGER first", env: file, path: dir, want: file},
		{name: "on PATH", path: dir, want: file},
		{name: "RUNBOOK_JAEGER missing", env: filepath.Join(dir, "nothing")},
		{name: "RUNBOOK_JAEGER a folder", env: dir},
		{name: "nowhere", path: t.TempDir(), wantNoBinary: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("RUNBOOK_JAEGER", tt.env)
			t.Setenv("PATH", tt.path)
			got, err := Binary()
			if tt.want != "" {
				if err != nil || got != tt.want {
					t.Errorf("Binary() = %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Binary() = %q, want an error", got)
			}
			if errors.Is(err, ErrNoBinary) != tt.wantNoBinary {
				t.Errorf("Binary() error %v: ErrNoBinary is %v, want %v", err, !tt.wantNoBinary, tt.wantNoBinary)
			}
		})
	}
}

func TestRequired(t *testing.T) {
	for env, want := range map[string]bool{"1": true, "": false, "0": false, "yes": false} {
		t.Setenv("RUNBOOK_REQUIRE_SERVICES", env)
		if got := Required(); got != want {
			t.Errorf("RUNBOOK_REQUIRE_SERVICES=%q: Required() = %v, want %v", env, got, want)
		}
	}
}
