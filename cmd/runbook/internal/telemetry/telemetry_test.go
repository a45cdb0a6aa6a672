package telemetry

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/runbookdev/runbook/cmd/runbook/internal/jaegertest"
)

func TestEnabled(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{}, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_SDK_DISABLED": "TRUE"}, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_SDK_DISABLED": "false"}, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_TRACES_EXPORTER": "none"}, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_TRACES_EXPORTER": "otlp"}, true},
	} {
		if got := Enabled(func(k string) string { return tc.env[k] }); got != tc.want {
			t.Errorf("%v: Enabled %v, want %v", tc.env, got, tc.want)
		}
	}
}

// collector is an OTLP/HTTP receiver: it keeps the requests' spans'
// names, the service name and a header.
type collector struct {
	mu      sync.Mutex
	spans   []string
	service string
	header  string
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var req collectortrace.ExportTraceServiceRequest
	if r.URL.Path != "/v1/traces" || proto.Unmarshal(body, &req) != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.header = r.Header.Get("X-Team")
	for _, rs := range req.ResourceSpans {
		for _, a := range rs.Resource.Attributes {
			if a.Key == "service.name" {
				c.service = a.Value.GetStringValue()
			}
		}
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				c.spans = append(c.spans, s.Name)
			}
		}
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	b, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
	w.Write(b)
}

func TestExportsToTheEnvironmentsEndpoint(t *testing.T) {
	c := &collector{}
	srv := httptest.NewServer(c)
	defer srv.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "X-Team=ml-oncall")
	t.Setenv("OTEL_SERVICE_NAME", "oncall-runbooks")
	tel, err := Setup(context.Background(), Options{Getenv: os.Getenv, Version: "test"})
	if err != nil || !tel.Enabled() {
		t.Fatalf("Setup: %v, enabled %v", err, tel.Enabled())
	}
	_, span := tel.Tracer().Start(context.Background(), "RUN rb")
	span.End()
	if err := tel.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.spans) != 1 || c.spans[0] != "RUN rb" || c.service != "oncall-runbooks" || c.header != "ml-oncall" {
		t.Errorf("collector got spans %q, service %q, header %q", c.spans, c.service, c.header)
	}
}

func TestACollectorThatIsDownIsOneWarning(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+addr)
	tel, err := Setup(context.Background(), Options{Getenv: os.Getenv})
	if err != nil {
		t.Fatal(err)
	}
	_, span := tel.Tracer().Start(context.Background(), "RUN rb")
	span.End()
	if err := tel.Shutdown(context.Background()); err == nil {
		t.Fatal("no warning for a collector that is down")
	}
}

func TestOff(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
	t.Setenv("OTEL_SDK_DISABLED", "true")
	tel, err := Setup(context.Background(), Options{Getenv: os.Getenv})
	if err != nil || tel.Enabled() {
		t.Fatalf("disabled: %v, %v", err, tel.Enabled())
	}
	_, span := tel.Tracer().Start(context.Background(), "x")
	if span.SpanContext().IsValid() {
		t.Error("a disabled tracer made a real span")
	}
	if err := tel.Shutdown(context.Background()); err != nil {
		t.Error(err)
	}
	t.Setenv("OTEL_SDK_DISABLED", "")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
	if _, err := Setup(context.Background(), Options{Getenv: os.Getenv}); err == nil {
		t.Error("http/json accepted")
	}
}

func TestFromEnvironment(t *testing.T) {
	env := map[string]string{"TRACEPARENT": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
	ctx := FromEnvironment(context.Background(), func(k string) string { return env[k] })
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsRemote() || sc.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("span context %v", sc)
	}
	if sc := trace.SpanContextFromContext(FromEnvironment(context.Background(), func(string) string { return "" })); sc.IsValid() {
		t.Errorf("without TRACEPARENT: %v", sc)
	}
}

// TestExportsToJaegerOverBothProtocols: a real Jaeger takes the spans over
// OTLP/HTTP and OTLP/gRPC alike.
func TestExportsToJaegerOverBothProtocols(t *testing.T) {
	if _, err := jaegertest.Binary(); err != nil && !jaegertest.Required() {
		t.Skip(err)
	}
	j := jaegertest.Start(t)
	for _, tc := range []struct{ protocol, endpoint string }{
		{"http/protobuf", j.OTLPHTTP},
		{"grpc", "http://" + j.OTLPGRPC},
	} {
		t.Run(tc.protocol, func(t *testing.T) {
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", tc.endpoint)
			t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", tc.protocol)
			tel, err := Setup(context.Background(), Options{Getenv: os.Getenv, Version: "test"})
			if err != nil {
				t.Fatal(err)
			}
			_, span := tel.Tracer().Start(context.Background(), "RUN "+tc.protocol)
			span.End()
			if err := tel.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			tr, err := j.WaitTrace(ctx, span.SpanContext().TraceID().String(), 1)
			if err != nil {
				t.Fatalf("%v\n%s", err, j.Log())
			}
			if got := tr.Find("RUN " + tc.protocol); len(got) != 1 || got[0].Process.ServiceName != "runbook" {
				t.Errorf("spans %+v", tr.Spans)
			}
		})
	}
}
