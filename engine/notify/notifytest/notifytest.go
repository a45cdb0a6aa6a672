// Package notifytest models, for tests, the receivers of notifications: a
// Slack incoming webhook that answers as Slack documents it, a generic
// webhook, and receivers that are down or too slow.
package notifytest

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Answer is what a receiver answers one request with, instead of
// accepting it.
type Answer struct {
	Status int
	// Body is Slack's error code ("rollup_error") or any text.
	Body string
	// RetryAfter is the Retry-After header, when set.
	RetryAfter string
}

// Slack's documented failures of an incoming webhook.
var (
	InvalidToken      = Answer{Status: http.StatusForbidden, Body: "invalid_token"}
	NoService         = Answer{Status: http.StatusNotFound, Body: "no_service"}
	ChannelArchived   = Answer{Status: http.StatusGone, Body: "channel_is_archived"}
	RollupError       = Answer{Status: http.StatusInternalServerError, Body: "rollup_error"}
	InvalidPayload    = Answer{Status: http.StatusBadRequest, Body: "invalid_payload"}
	RateLimited       = Answer{Status: http.StatusTooManyRequests, Body: "rate_limited", RetryAfter: "1"}
	slackServicesPath = "/services/"
)

// Request is one request a receiver got.
type Request struct {
	Method, Path, ContentType, UserAgent string
	Body                                 []byte
	// Answered is the status the receiver answered with.
	Answered int
}

// Receiver is an httptest server that records what it receives and
// answers each request with the next queued Answer, or accepts it.
type Receiver struct {
	srv   *httptest.Server
	slack bool
	token string

	mu       sync.Mutex
	queue    []Answer
	requests []Request
}

// NewSlack starts a model of a Slack incoming webhook: it accepts a POST
// of a JSON object with "text" or "blocks" at URL() with 200 "ok", and
// answers as Slack documents otherwise: 400 "invalid_payload" for a body
// that is not such an object, 403 "invalid_token" for a webhook of the
// workspace that is not this one, 404 "no_service" for any other path.
func NewSlack(t testing.TB) *Receiver {
	return start(t, &Receiver{slack: true, token: "T0RUNBOOK/B0RUNBOOK/xoxhooksecret0123456789"})
}

// NewWebhook starts a generic receiver: it accepts any POST with 200.
func NewWebhook(t testing.TB) *Receiver { return start(t, &Receiver{}) }

func start(t testing.TB, r *Receiver) *Receiver {
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

// URL is where to post: for Slack, the webhook's URL, a secret.
func (r *Receiver) URL() string {
	if r.slack {
		return r.srv.URL + slackServicesPath + r.token
	}
	return r.srv.URL + "/hooks/whsec-7f3a9c2e1b0d"
}

// RevokedURL is a Slack webhook URL of this workspace whose token is not
// valid.
func (r *Receiver) RevokedURL() string {
	return r.srv.URL + slackServicesPath + "T0RUNBOOK/B0RUNBOOK/revoked"
}

// Then queues answers for the next requests, in order.
func (r *Receiver) Then(answers ...Answer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.queue = append(r.queue, answers...)
}

// Requests returns what the receiver got so far.
func (r *Receiver) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.requests...)
}

// Bodies decodes the JSON bodies of the requests the receiver accepted.
func (r *Receiver) Bodies(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, req := range r.Requests() {
		if req.Answered != http.StatusOK {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(req.Body, &m); err != nil {
			t.Fatalf("body %q: %v", req.Body, err)
		}
		out = append(out, m)
	}
	return out
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	a := r.answer(req, body)
	r.mu.Lock()
	r.requests = append(r.requests, Request{
		Method: req.Method, Path: req.URL.Path, ContentType: req.Header.Get("Content-Type"),
		UserAgent: req.Header.Get("User-Agent"), Body: body, Answered: a.Status,
	})
	r.mu.Unlock()
	if a.RetryAfter != "" {
		w.Header().Set("Retry-After", a.RetryAfter)
	}
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(a.Status)
	_, _ = io.WriteString(w, a.Body)
}

// answer decides the answer to one request: the request's own faults
// first, as Slack checks them, then a queued answer, else acceptance.
func (r *Receiver) answer(req *http.Request, body []byte) Answer {
	if req.Method != http.MethodPost {
		return Answer{Status: http.StatusMethodNotAllowed, Body: "invalid_method"}
	}
	if r.slack {
		switch {
		case !strings.HasPrefix(req.URL.Path, slackServicesPath):
			return NoService
		case req.URL.Path != slackServicesPath+r.token:
			return InvalidToken
		case !slackPayload(req.Header.Get("Content-Type"), body):
			return InvalidPayload
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.queue) > 0 {
		a := r.queue[0]
		r.queue = r.queue[1:]
		return a
	}
	if r.slack {
		return Answer{Status: http.StatusOK, Body: "ok"}
	}
	return Answer{Status: http.StatusOK}
}

// slackPayload reports whether a body is what Slack accepts: a JSON object
// with a non-empty "text" or "blocks".
func slackPayload(contentType string, body []byte) bool {
	if !strings.HasPrefix(contentType, "application/json") {
		return false
	}
	var p struct {
		Text   string            `json:"text"`
		Blocks []json.RawMessage `json:"blocks"`
	}
	if json.Unmarshal(body, &p) != nil {
		return false
	}
	return p.Text != "" || len(p.Blocks) > 0
}

// NewSlow starts a receiver that never answers: each request waits until
// the client gives up or the test ends.
func NewSlow(t testing.TB) (url string, requests func() int) {
	done := make(chan struct{})
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		n++
		mu.Unlock()
		select {
		case <-req.Context().Done():
		case <-done:
		}
	}))
	t.Cleanup(func() { close(done); srv.Close() })
	return srv.URL + "/hook", func() int { mu.Lock(); defer mu.Unlock(); return n }
}

// ClosedURL is the URL of a port nothing listens on: a receiver that is
// down.
func ClosedURL(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/hook"
}
