package etcdtest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Server is a running etcd.
type Server struct {
	// Endpoint is the client address, HOST:PORT on 127.0.0.1.
	Endpoint string
}

// Binary finds the etcd server binary: $ETCD_BIN, /usr/bin/etcd, or etcd on
// $PATH. Without one it skips t, or fails it when RUNBOOK_REQUIRE_SERVICES=1.
func Binary(t testing.TB) string {
	t.Helper()
	candidates := []string{"/usr/bin/etcd", "etcd"}
	if bin := os.Getenv("ETCD_BIN"); bin != "" {
		candidates = []string{bin}
	}
	for _, c := range candidates {
		if path, err := exec.LookPath(c); err == nil {
			return path
		}
	}
	msg := "no etcd server binary (apt-get install etcd-server); .ci/run installs it"
	if os.Getenv("RUNBOOK_REQUIRE_SERVICES") == "1" {
		t.Fatal(msg + ", and RUNBOOK_REQUIRE_SERVICES=1 requires it")
	}
	t.Skip(msg)
	return ""
}

// Start runs a single-member etcd of the test's own and returns once it
// answers its health check. It is stopped, and its data removed, when the
// test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := Binary(t)
	dir := t.TempDir()
	// A free port can be taken between our check and etcd's bind: try
	// again with others.
	var lastLog string
	for attempt := 0; attempt < 3; attempt++ {
		client, peer := freePort(t), freePort(t)
		logs := &syncBuffer{}
		clientURL, peerURL := "http://"+client, "http://"+peer
		cmd := serverCmd(bin, filepath.Join(dir, fmt.Sprintf("data-%d", attempt)), clientURL, peerURL, logs)
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
		if err := waitHealthy(clientURL+"/health", exited); err != nil {
			stop()
			lastLog = logs.String()
			if strings.Contains(lastLog, "address already in use") {
				continue
			}
			t.Fatalf("etcd did not start: %v\n%s", err, lastLog)
		}
		t.Cleanup(func() {
			stop()
			if t.Failed() {
				t.Logf("etcd log:\n%s", logs.String())
			}
		})
		return &Server{Endpoint: client}
	}
	t.Fatalf("etcd found no free ports:\n%s", lastLog)
	return nil
}

// serverEnv is the test's environment without ETCD_* settings, which etcd
// would read as flags. ETCD_UNSUPPORTED_ARCH lets etcd 3.4 run where it was
// not released for, such as arm64.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ETCD_") {
			env = append(env, kv)
		}
	}
	if runtime.GOARCH != "amd64" {
		env = append(env, "ETCD_UNSUPPORTED_ARCH="+runtime.GOARCH)
	}
	return env
}

func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// waitHealthy polls etcd's /health until it reports healthy.
func waitHealthy(url string, exited <-chan struct{}) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errors.New("it exited")
		default:
		}
		if resp, err := client.Get(url); err == nil {
			var body bytes.Buffer
			_, _ = body.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.Contains(body.String(), `"true"`) {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("not healthy after 60s")
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

// serverCmd is the command of a one-member etcd cluster on loopback, its
// output to logs.
func serverCmd(bin, dataDir, clientURL, peerURL string, logs *syncBuffer) *exec.Cmd {
	cmd := exec.Command(bin,
		"--name", "runbook-test",
		"--data-dir", dataDir,
		"--listen-client-urls", clientURL,
		"--advertise-client-urls", clientURL,
		"--listen-peer-urls", peerURL,
		"--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "runbook-test="+peerURL,
		"--initial-cluster-state", "new",
		"--logger", "zap",
		"--log-level", "warn",
	)
	cmd.Env = serverEnv()
	cmd.Stdout = logs
	cmd.Stderr = logs
	cmd.SysProcAttr = sysProcAttr()
	return cmd
}
