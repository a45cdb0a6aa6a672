package prometheus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
)

// prometheusBinary finds Debian's prometheus. Without it the test is skipped,
// unless RUNBOOK_REQUIRE_SERVICES=1 (CI), where a missing server is a failure.
func prometheusBinary(t *testing.T) string {
	t.Helper()
	for _, candidate := range []string{"/usr/bin/prometheus", "prometheus"} {
		if path, err := exec.LookPath(candidate); err == nil {
			return path
		}
	}
	msg := "no prometheus binary (apt-get install prometheus); .ci/run installs it"
	if os.Getenv("RUNBOOK_REQUIRE_SERVICES") == "1" {
		t.Fatal(msg + ", and RUNBOOK_REQUIRE_SERVICES=1 requires it")
	}
	t.Skip(msg)
	return ""
}

// syncBuffer collects a process's output while it runs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// exporter serves the metrics the test's Prometheus scrapes: two gauges and a
// counter that grows by 10 at every scrape, so its rate is 10/s at a 1s
// scrape interval.
func exporter(t *testing.T) *httptest.Server {
	var scrapes atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := scrapes.Add(1)
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, `# TYPE runbook_test_queue_depth gauge
runbook_test_queue_depth{queue="a"} 3
runbook_test_queue_depth{queue="b"} 4
# TYPE runbook_test_requests_total counter
runbook_test_requests_total %d
`, 10*n)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// startPrometheus runs a Prometheus of its own on a free loopback port, with
// its storage in a temporary folder, scraping target every second. It
// returns the server's base URL once it is ready.
func startPrometheus(t *testing.T, bin, target string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	yml := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: runbook-test
    static_configs:
      - targets: [%q]
`, target)
	if err := os.WriteFile(cfg, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}

	// A free port can be taken between our check and Prometheus's bind:
	// try again with another.
	var lastLogs string
	for attempt := 0; attempt < 3; attempt++ {
		addr := freePort(t)
		logs := &syncBuffer{}
		cmd := exec.Command(bin,
			"--config.file="+cfg,
			"--storage.tsdb.path="+filepath.Join(dir, fmt.Sprintf("data-%d", attempt)),
			"--web.listen-address="+addr,
			"--log.level=warn",
		)
		cmd.Stdout = logs
		cmd.Stderr = logs
		if err := cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", bin, err)
		}
		exited := make(chan struct{})
		go func() {
			_ = cmd.Wait()
			close(exited)
		}()
		stop := func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
		}

		base := "http://" + addr
		if err := waitReady(base+"/-/ready", exited); err != nil {
			stop()
			lastLogs = logs.String()
			if strings.Contains(lastLogs, "address already in use") {
				continue
			}
			t.Fatalf("prometheus did not start: %v\n%s", err, lastLogs)
		}
		t.Cleanup(func() {
			stop()
			if t.Failed() {
				t.Logf("prometheus log:\n%s", logs.String())
			}
		})
		return base
	}
	t.Fatalf("prometheus found no free port:\n%s", lastLogs)
	return ""
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func waitReady(url string, exited <-chan struct{}) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errors.New("it exited")
		default:
		}
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("not ready after 60s")
}

// TestRealPrometheus queries a real Prometheus that scrapes metrics the test
// serves, so the plugin is checked against the server's actual answers.
func TestRealPrometheus(t *testing.T) {
	bin := prometheusBinary(t)
	target := strings.TrimPrefix(exporter(t).URL, "http://")
	base := startPrometheus(t, bin, target)
	p := configured(t, config(base))

	// A rate needs two scrapes; wait for them. irate looks at the last two
	// samples only, so it is 10/s at once, where rate() over a window that
	// is mostly empty still extrapolates.
	const rate = `sum(irate(runbook_test_requests_total[1m]))`
	var out cty.Value
	var err error
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err = query(t, p, rate, nil)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("%s never answered: %v", rate, err)
	}
	if got := number(out.GetAttr("value")); got < 5 || got > 15 {
		t.Errorf("%s = %v, want about 10 (per second)", rate, got)
	}

	for _, tc := range []struct {
		query  string
		value  float64
		labels map[string]string
		err    string
	}{
		{query: `sum(rate(runbook_test_requests_total[1m])) > bool 0`, value: 1, labels: map[string]string{}},
		{query: `sum(runbook_test_queue_depth)`, value: 7, labels: map[string]string{}},
		{query: `max(runbook_test_queue_depth)`, value: 4, labels: map[string]string{}},
		{query: `runbook_test_queue_depth{queue="b"}`, value: 4, labels: map[string]string{
			"__name__": "runbook_test_queue_depth", "queue": "b", "job": "runbook-test", "instance": target,
		}},
		{query: `scalar(sum(runbook_test_queue_depth)) * 2`, value: 14, labels: map[string]string{}},
		{query: `runbook_test_queue_depth`, err: "returned 2 series"},
		{query: `runbook_test_no_such_metric`, err: "no data"},
		{query: `sum(runbook_test_queue_depth) * 0 / 0`, err: "NaN"},
		{query: `sum(runbook_test_queue_depth) / 0`, err: "+Inf"},
		{query: `runbook_test_queue_depth[1m]`, err: "range vector"},
		{query: `sum(`, err: "Prometheus rejected the query"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			out, err := query(t, p, tc.query, nil)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				var perr *plugins.Error
				if !errors.As(err, &perr) || !perr.Path.Equals(cty.GetAttrPath("query")) {
					t.Errorf("err = %#v, want it attributed to the query", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := number(out.GetAttr("value")); got != tc.value {
				t.Errorf("value = %v, want %v", got, tc.value)
			}
			labels := out.GetAttr("series").Index(cty.NumberIntVal(0)).GetAttr("labels").AsValueMap()
			if len(labels) != len(tc.labels) {
				t.Errorf("labels = %v, want %v", labels, tc.labels)
			}
			for k, want := range tc.labels {
				if got, ok := labels[k]; !ok || got.AsString() != want {
					t.Errorf("label %s = %v, want %q", k, got, want)
				}
			}
		})
	}

	// The plugin honours the host's context too.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Apply(ctx, &plugins.ActionRequest{Action: "query", Args: queryArgs("up")}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled query: err = %v, want context.Canceled", err)
	}
}
