package jaegertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// TB is what Start needs of a test: *testing.T and *testing.B have it, and
// a testscript command can adapt its script to it.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Skip(args ...any)
	Logf(format string, args ...any)
	// Cleanup registers a function to run when the test ends.
	Cleanup(func())
}

// ErrNoBinary is returned by Binary when neither $RUNBOOK_JAEGER nor $PATH
// has a jaeger binary.
var ErrNoBinary = errors.New("no jaeger binary: set RUNBOOK_JAEGER to one, or put jaeger on $PATH " +
	"(.ci/run builds the version pinned in .ci/jaeger into ${RUNBOOK_CI_CACHE:-/var/cache/runbook-ci}/jaeger-VERSION/jaeger; " +
	"by hand: cd .ci/jaeger && go build -o /tmp/jaeger github.com/jaegertracing/jaeger/cmd/jaeger)")

// Required says whether a missing binary fails a test rather than skipping
// it: RUNBOOK_REQUIRE_SERVICES=1, as in CI.
func Required() bool { return os.Getenv("RUNBOOK_REQUIRE_SERVICES") == "1" }

// Binary finds the Jaeger v2 binary: $RUNBOOK_JAEGER, which must then be
// a file, or jaeger on $PATH. Without either it returns ErrNoBinary.
func Binary() (string, error) {
	if bin := os.Getenv("RUNBOOK_JAEGER"); bin != "" {
		info, err := os.Stat(bin)
		if err != nil {
			return "", fmt.Errorf("RUNBOOK_JAEGER=%s: %w", bin, err)
		}
		if info.IsDir() {
			return "", fmt.Errorf("RUNBOOK_JAEGER=%s is a folder, not the jaeger binary", bin)
		}
		return filepath.Abs(bin)
	}
	if path, err := exec.LookPath("jaeger"); err == nil {
		return path, nil
	}
	return "", ErrNoBinary
}

// binary is Binary for a test: it skips t without a binary, or fails it
// when Required.
func binary(t TB) string {
	t.Helper()
	bin, err := Binary()
	if errors.Is(err, ErrNoBinary) {
		if Required() {
			t.Fatalf("%v, and RUNBOOK_REQUIRE_SERVICES=1 requires it", err)
		}
		t.Skip(err.Error())
	}
	if err != nil {
		t.Fatalf("%v", err)
	}
	return bin
}

// Jaeger is a running Jaeger of one test's own.
type Jaeger struct {
	// OTLPHTTP is the OTLP/HTTP receiver's base URL, http://127.0.0.1:PORT
	// (spans are posted to /v1/traces under it).
	OTLPHTTP string
	// OTLPGRPC is the OTLP/gRPC receiver's address, 127.0.0.1:PORT.
	OTLPGRPC string
	// Query is the query service's base URL, http://127.0.0.1:PORT.
	Query string

	logs   *lockedBuffer
	client *http.Client
}

// Log returns what Jaeger has written to its stdout and stderr so far, for
// messages about a failure.
func (j *Jaeger) Log() string { return j.logs.String() }

// startTimeout bounds how long Jaeger may take to serve both its query API
// and its OTLP receiver.
const startTimeout = 60 * time.Second

// Start runs a Jaeger for the test and returns once its query API answers
// and its OTLP/HTTP receiver takes spans. It is stopped, its process group
// killed, when the test ends; when the test failed (a t with Failed),
// Jaeger's log is logged. Without a binary the test is skipped, or fails
// when Required.
func Start(t TB) *Jaeger {
	t.Helper()
	bin := binary(t)
	dir, err := os.MkdirTemp("", "runbook-jaeger-")
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// A free port can be taken between our check and Jaeger's bind: try
	// again with others.
	var lastLog string
	for attempt := 0; attempt < 3; attempt++ {
		ports, err := freeTCPPorts(4)
		if err != nil {
			t.Fatalf("%v", err)
		}
		config := filepath.Join(dir, fmt.Sprintf("config-%d.yaml", attempt))
		if err := os.WriteFile(config, []byte(configYAML(ports)), 0o600); err != nil {
			t.Fatalf("%v", err)
		}
		p, err := startProcess(bin, dir, config)
		if err != nil {
			t.Fatalf("start %s: %v", bin, err)
		}
		j := &Jaeger{
			OTLPGRPC: fmt.Sprintf("127.0.0.1:%d", ports[0]),
			OTLPHTTP: fmt.Sprintf("http://127.0.0.1:%d", ports[1]),
			Query:    fmt.Sprintf("http://127.0.0.1:%d", ports[2]),
			logs:     p.logs,
			client:   &http.Client{Timeout: 10 * time.Second},
		}
		if err := j.waitReady(p.exited); err != nil {
			p.stop()
			lastLog = p.logs.String()
			if strings.Contains(lastLog, "address already in use") {
				continue
			}
			t.Fatalf("jaeger did not start: %v\n%s", err, lastLog)
		}
		t.Cleanup(func() {
			p.stop()
			if f, ok := t.(interface{ Failed() bool }); ok && f.Failed() {
				t.Logf("jaeger log:\n%s", p.logs.String())
			}
		})
		return j
	}
	t.Fatalf("jaeger found no free ports:\n%s", lastLog)
	return nil
}

// configYAML is Jaeger's configuration (an OpenTelemetry Collector's) for
// ports, in order: OTLP/gRPC, OTLP/HTTP, query HTTP, query gRPC. Only what
// the tests use is on: no sampling, health check or UI configuration, no
// metrics endpoint (which would take a fixed port), spans stored as they
// arrive (no batch processor), and the query service neither tracing
// itself into the store nor moving spans to make up for clock skew.
func configYAML(ports []int) string {
	return fmt.Sprintf(`service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: info

extensions:
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 10000
  jaeger_query:
    storage:
      traces: memstore
    enable_tracing: false
    max_clock_skew_adjust: 0s
    http:
      endpoint: 127.0.0.1:%[3]d
    grpc:
      endpoint: 127.0.0.1:%[4]d

receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:%[1]d
      http:
        endpoint: 127.0.0.1:%[2]d

exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`, ports[0], ports[1], ports[2], ports[3])
}

// waitReady waits until the query API answers and the OTLP/HTTP receiver
// takes an (empty) export, or Jaeger exits.
func (j *Jaeger) waitReady(exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for {
		err := j.ready(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("jaeger exited: %w", err)
		case <-ctx.Done():
			return fmt.Errorf("not ready after %v: %w", startTimeout, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// ready checks both services once.
func (j *Jaeger) ready(ctx context.Context) error {
	check := func(method, url, body string) error {
		req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
		if err != nil {
			return err
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := j.client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s %s: %s", method, url, resp.Status)
		}
		return nil
	}
	if err := check(http.MethodGet, j.Query+"/api/services", ""); err != nil {
		return err
	}
	return check(http.MethodPost, j.OTLPHTTP+"/v1/traces", "{}")
}

// process is a running jaeger.
type process struct {
	cmd    *exec.Cmd
	logs   *lockedBuffer
	exited chan struct{} // closed when the process has exited
}

// startProcess starts bin with config in its own process group.
func startProcess(bin, dir, config string) (*process, error) {
	p := &process{logs: &lockedBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, "--config", config)
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	p.cmd.SysProcAttr = sysProcAttr()
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// stop asks Jaeger to shut down, kills its process group if it has not
// within ten seconds, and waits for it to exit.
func (p *process) stop() {
	terminate(p.cmd.Process)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		kill(p.cmd.Process)
		<-p.exited
	}
	// Whatever else is left in its group goes too.
	kill(p.cmd.Process)
}

// freeTCPPorts returns n distinct ports free on 127.0.0.1 just now.
func freeTCPPorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		// Held open until all are chosen, so no port is chosen twice.
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// lockedBuffer collects a process's output, written from other goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
