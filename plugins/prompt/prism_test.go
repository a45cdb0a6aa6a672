package prompt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/runbookdev/runbook/plugins/prompt/langfusetest"
)

// The Langfuse tests talk to the model (langfusetest) through Stoplight
// Prism, which holds both sides to Langfuse's own OpenAPI description of its
// API (testdata/langfuse-openapi/openapi.yml, as Langfuse publishes it):
//
//	backend → checker → prism proxy --errors openapi.yml → dispatcher → model
//
// The checker fails the test that owns the model when Prism reports that a
// request or an answer breaks the spec, with Prism's message; the
// dispatcher finds the model by the public key of the request's basic auth
// (each model gets a key of its own), so that one Prism serves every test.
// A model set to answer off the spec on purpose (langfusetest.Server.OffSpec:
// a fault, Langfuse server's 201 to a create) is reached without Prism.
//
// Prism is the npm package @stoplight/prism-cli, which .ci/run installs; it
// is found as $PRISM_BIN, prism on $PATH, or /opt/prism/node_modules/.bin/prism.
// Without it the tests talk to the model directly (and TestLangfuseSpec is
// skipped), unless RUNBOOK_REQUIRE_SERVICES=1 (CI), where they fail.

// langfuseSpec is Langfuse's OpenAPI description; replacing it with a newer
// one is the whole upgrade of the contract.
var langfuseSpec = filepath.Join("testdata", "langfuse-openapi", "openapi.yml")

// prismBinary finds Prism, or says why there is none.
func prismBinary() (string, error) {
	if bin := os.Getenv("PRISM_BIN"); bin != "" {
		return exec.LookPath(bin)
	}
	for _, c := range []string{"prism", "/opt/prism/node_modules/.bin/prism"} {
		if path, err := exec.LookPath(c); err == nil {
			return path, nil
		}
	}
	return "", fmt.Errorf("no Stoplight Prism (npm install --prefix /opt/prism @stoplight/prism-cli); .ci/run installs it")
}

// requirePrism returns Prism's path; without it t is skipped, or failed
// when RUNBOOK_REQUIRE_SERVICES=1.
func requirePrism(t testing.TB) string {
	t.Helper()
	bin, err := prismBinary()
	if err != nil {
		if os.Getenv("RUNBOOK_REQUIRE_SERVICES") == "1" {
			t.Fatalf("%v, and RUNBOOK_REQUIRE_SERVICES=1 requires it", err)
		}
		t.Skip(err.Error())
	}
	return bin
}

// prismProcess is a running Prism.
type prismProcess struct {
	URL  string
	cmd  *exec.Cmd
	log  *prismLog
	done chan struct{}
}

type prismLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *prismLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *prismLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// startPrism runs `prism MODE ARGS... -h 127.0.0.1 -p PORT` (MODE is mock
// or proxy) on a free port and waits until it listens.
func startPrism(bin, mode string, args ...string) (*prismProcess, error) {
	var lastLog string
	for attempt := 0; attempt < 3; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		full := append([]string{mode}, args...)
		full = append(full, "-h", "127.0.0.1", "-p", strconv.Itoa(port))
		cmd := exec.Command(bin, full...)
		logs := &prismLog{}
		cmd.Stdout, cmd.Stderr = logs, logs
		// Prism's own colours and its telemetry stay off.
		cmd.Env = append(os.Environ(), "NO_COLOR=1", "FORCE_COLOR=0", "SCARF_ANALYTICS=false", "DO_NOT_TRACK=1")
		cmd.SysProcAttr = diesWithTest()
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("start prism: %w", err)
		}
		p := &prismProcess{URL: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd, log: logs, done: make(chan struct{})}
		go func() {
			_ = cmd.Wait()
			close(p.done)
		}()
		deadline := time.After(60 * time.Second)
	wait:
		for {
			select {
			case <-p.done:
				lastLog = logs.String()
				if strings.Contains(lastLog, "EADDRINUSE") {
					break wait
				}
				return nil, fmt.Errorf("prism %s exited before it listened:\n%s", mode, lastLog)
			case <-deadline:
				p.stop()
				return nil, fmt.Errorf("prism %s did not listen within 60s:\n%s", mode, logs.String())
			case <-time.After(50 * time.Millisecond):
				if strings.Contains(logs.String(), "Prism is listening on") {
					return p, nil
				}
			}
		}
	}
	return nil, fmt.Errorf("prism found no free port:\n%s", lastLog)
}

func (p *prismProcess) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// specChain is the checker, Prism's validating proxy and the dispatcher,
// shared by every test of the package.
type specChain struct {
	checker    *httptest.Server
	dispatcher *httptest.Server
	prism      *prismProcess

	mu     sync.Mutex
	models map[string]*chainModel // by public key
	next   int
	// validated counts the requests sent through Prism.
	validated int
}

// chainModel is what answers for one public key: a model, or a handler of
// a test's own.
type chainModel struct {
	handler http.Handler
	// offSpec says whether it answers off the spec on purpose now.
	offSpec func() bool
	t       testing.TB
}

var (
	chainOnce sync.Once
	chain     *specChain
	chainErr  error
)

// TestMain stops the shared Prism when the tests end.
func TestMain(m *testing.M) {
	code := m.Run()
	if chain != nil {
		chain.close()
	}
	os.Exit(code)
}

// theChain starts the chain on first use; nil (and no error) without
// Prism where it is not required.
func theChain(t testing.TB) *specChain {
	t.Helper()
	chainOnce.Do(func() {
		bin, err := prismBinary()
		if err != nil {
			if os.Getenv("RUNBOOK_REQUIRE_SERVICES") == "1" {
				chainErr = fmt.Errorf("%v, and RUNBOOK_REQUIRE_SERVICES=1 requires it", err)
			}
			return
		}
		chain, chainErr = startChain(bin)
	})
	if chainErr != nil {
		t.Fatal(chainErr)
	}
	return chain
}

func startChain(bin string) (*specChain, error) {
	c := &specChain{models: map[string]*chainModel{}}
	c.dispatcher = httptest.NewServer(http.HandlerFunc(c.dispatch))
	p, err := startPrism(bin, "proxy", "--errors", langfuseSpec, c.dispatcher.URL)
	if err != nil {
		c.dispatcher.Close()
		return nil, err
	}
	c.prism = p
	target, _ := url.Parse(p.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = c.check
	c.checker = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A model that answers off the spec on purpose is reached
		// directly.
		if m := c.model(r); m != nil && m.offSpec() {
			m.handler.ServeHTTP(w, r)
			return
		}
		c.mu.Lock()
		c.validated++
		c.mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	return c, nil
}

func (c *specChain) close() {
	c.checker.Close()
	c.prism.stop()
	c.dispatcher.Close()
}

// register gives the model a public key of its own and routes it through
// the chain until the test ends; its URL becomes the checker's.
func (c *specChain) register(t testing.TB, s *langfusetest.Server) {
	s.PublicKey = c.add(t, s, s.OffSpec)
	s.URL = c.checker.URL
}

// add routes requests with a new public key, which it returns, to h until
// the test ends; violations fail t.
func (c *specChain) add(t testing.TB, h http.Handler, offSpec func() bool) string {
	c.mu.Lock()
	c.next++
	key := fmt.Sprintf("pk-lf-test-%d", c.next)
	c.models[key] = &chainModel{handler: h, offSpec: offSpec, t: t}
	c.mu.Unlock()
	t.Cleanup(func() {
		c.mu.Lock()
		delete(c.models, key)
		c.mu.Unlock()
	})
	return key
}

func (c *specChain) model(r *http.Request) *chainModel {
	user, _, _ := r.BasicAuth()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.models[user]
}

// dispatch hands a request that passed Prism to its model.
func (c *specChain) dispatch(w http.ResponseWriter, r *http.Request) {
	m := c.model(r)
	if m == nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"message": "Invalid credentials. Confirm that you've configured the correct host."}`)
		return
	}
	m.handler.ServeHTTP(w, r)
}

// check fails the model's test when Prism found the request or the answer
// off the spec: it says so in the sl-violations header, and with --errors
// answers a problem of type …#VIOLATIONS (422 for a request, 500 for an
// answer) in place of the model's.
func (c *specChain) check(resp *http.Response) error {
	violations := prismViolations(resp)
	if len(violations) == 0 {
		return nil
	}
	// A path the API does not have is answered 404 by Prism, as by
	// Langfuse: a test of a wrong url expects just that.
	if resp.StatusCode == http.StatusNotFound && strings.Contains(strings.Join(violations, " "), "NO_PATH_MATCHED") {
		return nil
	}
	what := resp.Request.Method + " " + resp.Request.URL.RequestURI()
	if m := c.model(resp.Request); m != nil {
		m.t.Errorf("Langfuse's API spec (Prism): %s: %s", what, strings.Join(violations, "; "))
	}
	return nil
}

// prismViolations reads Prism's report on an answer it passed on: the
// violations of the spec, as "location: message".
func prismViolations(resp *http.Response) []string {
	var out []string
	add := func(raw []byte) {
		var list []struct {
			Location []any  `json:"location"`
			Message  string `json:"message"`
			Severity string `json:"severity"`
		}
		if json.Unmarshal(raw, &list) != nil {
			return
		}
		for _, v := range list {
			loc := make([]string, len(v.Location))
			for i, l := range v.Location {
				loc[i] = fmt.Sprint(l)
			}
			line := fmt.Sprintf("%s %s: %s", v.Severity, strings.Join(loc, "."), v.Message)
			if !slices.Contains(out, line) {
				out = append(out, line)
			}
		}
	}
	if h := resp.Header.Get("sl-violations"); h != "" {
		add([]byte(h))
	}
	if strings.Contains(resp.Header.Get("Content-Type"), "problem+json") {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		var problem struct {
			Type       string          `json:"type"`
			Title      string          `json:"title"`
			Detail     string          `json:"detail"`
			Validation json.RawMessage `json:"validation"`
		}
		if json.Unmarshal(body, &problem) == nil && problem.Type != "" {
			add(problem.Validation)
			if len(out) == 0 {
				out = append(out, fmt.Sprintf("%s: %s (%s)", problem.Title, problem.Detail, problem.Type))
			}
		}
	}
	return out
}
