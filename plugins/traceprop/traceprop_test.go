package traceprop_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/runbookdev/runbook/plugins/internal/spantest"
	"github.com/runbookdev/runbook/plugins/traceprop"
)

func TestFields(t *testing.T) {
	plain := spantest.Fixed(t, "")
	withState := spantest.Fixed(t, "vendor=abc,other=1")
	tests := []struct {
		name string
		ctx  context.Context
		want map[string]string
	}{
		{"no span", context.Background(), nil},
		{"invalid span context", trace.ContextWithSpanContext(context.Background(), trace.SpanContext{}), nil},
		{"span", trace.ContextWithSpanContext(context.Background(), plain), map[string]string{
			"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		}},
		{"remote span with tracestate", trace.ContextWithRemoteSpanContext(context.Background(), withState), map[string]string{
			"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
			"tracestate":  "vendor=abc,other=1",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := traceprop.Fields(tt.ctx)
			if len(got) != len(tt.want) {
				t.Fatalf("Fields = %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestTransport(t *testing.T) {
	rec := spantest.Install(t)
	seen := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Get("traceparent")
	}))
	t.Cleanup(srv.Close)
	client := &http.Client{Transport: traceprop.Transport(nil)}

	get := func(ctx context.Context) string {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return <-seen
	}

	if got := get(context.Background()); got != "" {
		t.Errorf("without a span the server saw traceparent %q", got)
	}
	if n := len(rec.Ended()); n != 0 {
		t.Errorf("without a span %d spans were made", n)
	}

	ctx, parent := rec.Start(context.Background(), "attempt")
	got := get(ctx)
	parent.End()
	children := rec.Children(parent.SpanContext())
	if len(children) != 1 {
		t.Fatalf("%d child spans of the request, want 1", len(children))
	}
	child := children[0]
	if child.SpanKind() != trace.SpanKindClient {
		t.Errorf("span kind %v, want client", child.SpanKind())
	}
	if want := spantest.TraceParent(child.SpanContext()); got != want {
		t.Errorf("server saw traceparent %q, want the client span's %q", got, want)
	}
}

func TestGRPCStatsHandler(t *testing.T) {
	rec := spantest.Install(t)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	seen := make(chan []string, 4)
	srv := grpc.NewServer(grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		seen <- md.Get("traceparent")
		return handler(ctx, req)
	}))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)

	conn, err := grpc.NewClient(lis.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(traceprop.GRPCStatsHandler()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	client := healthpb.NewHealthClient(conn)

	if _, err := client.Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	if got := <-seen; len(got) != 0 {
		t.Errorf("without a span the server saw traceparent %q", got)
	}
	if n := len(rec.Ended()); n != 0 {
		t.Errorf("without a span %d spans were made", n)
	}

	ctx, parent := rec.Start(context.Background(), "attempt")
	if _, err := client.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	got := <-seen
	parent.End()
	children := rec.Children(parent.SpanContext())
	if len(children) != 1 {
		t.Fatalf("%d child spans of the call, want 1", len(children))
	}
	if want := spantest.TraceParent(children[0].SpanContext()); len(got) != 1 || got[0] != want {
		t.Errorf("server saw traceparent %q, want the client span's %q", got, want)
	}
}

// Whatever a peer sends, Extract either leaves the context without a span
// context or gives one that Fields writes back as a well-formed
// traceparent of the same ids.
func FuzzExtract(f *testing.F) {
	f.Add("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "vendor=abc,other=1")
	f.Add("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", "")
	f.Add("00-00000000000000000000000000000000-00f067aa0ba902b7-01", "")
	f.Add("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "")
	f.Add("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", "a=1")
	f.Add("", "vendor=abc")
	f.Fuzz(func(t *testing.T, parent, state string) {
		carrier := propagation.MapCarrier{"traceparent": parent, "tracestate": state}
		ctx := traceprop.Extract(context.Background(), carrier)
		sc := trace.SpanContextFromContext(ctx)
		fields := traceprop.Fields(ctx)
		if !sc.IsValid() {
			if fields != nil {
				t.Fatalf("no span context, yet Fields = %v", fields)
			}
			return
		}
		if !sc.IsRemote() {
			t.Error("an extracted span context is not remote")
		}
		if want := spantest.TraceParent(sc); fields["traceparent"] != want {
			t.Errorf("traceparent %q, want %q", fields["traceparent"], want)
		}
	})
}
