package notify_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runbookdev/runbook/engine/notify"
	"github.com/runbookdev/runbook/engine/notify/notifytest"
)

// fakeClock is a sender's clock that moves only when the sender sleeps.
type fakeClock struct {
	now    time.Time
	sleeps []time.Duration
}

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) Sleep(_ context.Context, d time.Duration) error {
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return nil
}

func message() notify.Message {
	return notify.Message{
		Event: "failed", Runbook: "rollback-prompt", RunID: "20260101T000000Z-abcdef", Mode: "run",
		Operator: "ana@host", Status: "failed", FailedStep: "verify", Reason: "error rate <b>12%</b> & rising",
		TranscriptHead: strings.Repeat("ab", 32), ExitCode: 1, Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
	}
}

func TestSend(t *testing.T) {
	for _, tc := range []struct {
		name      string
		slack     bool
		answers   []notifytest.Answer
		url       func(r *notifytest.Receiver) string
		delivered bool
		attempts  int
		status    int
		sleeps    []time.Duration
		err       string
	}{
		{name: "slack accepts", slack: true, delivered: true, attempts: 1, status: 200},
		{name: "webhook accepts", delivered: true, attempts: 1, status: 200},
		{name: "a 500 is tried again", slack: true, answers: []notifytest.Answer{notifytest.RollupError},
			delivered: true, attempts: 2, status: 200, sleeps: []time.Duration{200 * time.Millisecond}},
		{name: "three 500s give up", slack: true, answers: []notifytest.Answer{notifytest.RollupError, notifytest.RollupError, notifytest.RollupError},
			attempts: 3, status: 500, sleeps: []time.Duration{200 * time.Millisecond, 400 * time.Millisecond}, err: "answered 500 Internal Server Error: rollup_error"},
		{name: "a revoked token is not tried again", slack: true, url: (*notifytest.Receiver).RevokedURL,
			attempts: 1, status: 403, err: "answered 403 Forbidden: invalid_token"},
		{name: "no such webhook", slack: true, url: func(r *notifytest.Receiver) string { return strings.Replace(r.URL(), "/services/", "/nothing/", 1) },
			attempts: 1, status: 404, err: "no_service"},
		{name: "an archived channel", slack: true, answers: []notifytest.Answer{notifytest.ChannelArchived},
			attempts: 1, status: 410, err: "channel_is_archived"},
		{name: "rate limited, Retry-After honoured", slack: true, answers: []notifytest.Answer{notifytest.RateLimited},
			delivered: true, attempts: 2, status: 200, sleeps: []time.Duration{time.Second}},
		{name: "Retry-After beyond the budget", slack: true, answers: []notifytest.Answer{{Status: 429, Body: "rate_limited", RetryAfter: "30"}},
			attempts: 1, status: 429, err: "no time left in the 5s budget"},
		{name: "webhook 400 is not tried again", answers: []notifytest.Answer{{Status: 400, Body: "bad\nsecond line"}},
			attempts: 1, status: 400, err: "the webhook answered 400 Bad Request: bad"},
		{name: "a redirect is not followed", answers: []notifytest.Answer{{Status: 302}},
			attempts: 1, status: 302, err: "answered 302"},
		{name: "a receiver that is down", url: func(*notifytest.Receiver) string { return notifytest.ClosedURL(t) },
			attempts: 3, sleeps: []time.Duration{200 * time.Millisecond, 400 * time.Millisecond}, err: "connection refused"},
		{name: "an empty url", url: func(*notifytest.Receiver) string { return "" }, err: "the url is empty"},
		{name: "not an http url", url: func(*notifytest.Receiver) string { return "ftp://secret.example/x" }, err: "not an http:// or https:// URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, typ := notifytest.NewWebhook(t), notify.TypeWebhook
			if tc.slack {
				r, typ = notifytest.NewSlack(t), notify.TypeSlack
			}
			r.Then(tc.answers...)
			target := notify.Target{Name: "ops", Type: typ, URL: r.URL()}
			if tc.url != nil {
				target.URL = tc.url(r)
			}
			clk := &fakeClock{now: time.Unix(1e9, 0)}
			s := &notify.HTTPSender{Version: "1.2.3", Now: clk.Now, Sleep: clk.Sleep}
			res := s.Send(context.Background(), target, message())
			if res.Delivered != tc.delivered || res.Attempts != tc.attempts || res.StatusCode != tc.status {
				t.Errorf("delivered %v, attempts %d, status %d; want %v, %d, %d (%v)", res.Delivered, res.Attempts, res.StatusCode, tc.delivered, tc.attempts, tc.status, res.Err)
			}
			if !slices.Equal(clk.sleeps, tc.sleeps) {
				t.Errorf("waited %v, want %v", clk.sleeps, tc.sleeps)
			}
			if res.Elapsed > notify.Budget {
				t.Errorf("took %s by the sender's clock, beyond the budget", res.Elapsed)
			}
			checkErr(t, res.Err, tc.err, target.URL)
			for _, req := range r.Requests() {
				if req.Method != http.MethodPost || req.ContentType != "application/json" || req.UserAgent != "runbook/1.2.3" {
					t.Errorf("request %s %s %q", req.Method, req.ContentType, req.UserAgent)
				}
			}
		})
	}
}

func checkErr(t *testing.T, err error, want, rawURL string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("error %v", err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Errorf("error %v, want %q", err, want)
	case err != nil && !strings.HasPrefix(err.Error(), `notify "ops": `):
		t.Errorf("error %q does not start with the block's name", err)
	}
	if err == nil || rawURL == "" {
		return
	}
	u, _ := url.Parse(rawURL)
	for _, secret := range []string{rawURL, u.Host, u.Path} {
		if secret != "" && secret != "/" && strings.Contains(err.Error(), secret) {
			t.Errorf("error %q quotes %q of the url", err, secret)
		}
	}
}

// A receiver that never answers costs each attempt its timeout, and the
// delivery gives up after its attempts, within the budget.
func TestSendSlowReceiver(t *testing.T) {
	for _, tc := range []struct {
		name     string
		timeout  time.Duration
		budget   time.Duration
		attempts int
		err      string
	}{
		{name: "every attempt times out", timeout: 20 * time.Millisecond, budget: notify.Budget, attempts: 3, err: "timed out"},
		{name: "the budget ends the first attempt", timeout: notify.AttemptTimeout, budget: 50 * time.Millisecond, attempts: 1, err: "no time left"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, requests := notifytest.NewSlow(t)
			s := &notify.HTTPSender{AttemptTimeout: tc.timeout, Budget: tc.budget, Backoff: []time.Duration{time.Millisecond}}
			res := s.Send(context.Background(), notify.Target{Name: "ops", Type: notify.TypeWebhook, URL: u}, message())
			if res.Delivered || res.Attempts != tc.attempts || requests() != tc.attempts {
				t.Errorf("delivered %v after %d attempts (%d received), want %d", res.Delivered, res.Attempts, requests(), tc.attempts)
			}
			if res.Elapsed > tc.budget+time.Second {
				t.Errorf("took %s by the sender's clock, budget %s", res.Elapsed, tc.budget)
			}
			checkErr(t, res.Err, tc.err, u)
		})
	}
}

func TestSlackBody(t *testing.T) {
	r := notifytest.NewSlack(t)
	s := notify.NewSender("1.0.0")
	if res := s.Send(context.Background(), notify.Target{Name: "ops", Type: notify.TypeSlack, URL: r.URL()}, message()); !res.Delivered {
		t.Fatal(res.Err)
	}
	body := r.Bodies(t)[0]
	text, _ := body["text"].(string)
	if !strings.Contains(text, "rollback-prompt failed") || !strings.Contains(text, "&lt;b&gt;12%&lt;/b&gt; &amp; rising") {
		t.Errorf("text %q: want the headline and the reason, escaped for Slack", text)
	}
	raw, _ := json.Marshal(body["blocks"])
	for _, want := range []string{`"type":"header"`, `*Step*\nverify`, `*Run*\n20260101T000000Z-abcdef`, `*Operator*\nana@host`, "abababababababab"} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("blocks %s do not hold %q", raw, want)
		}
	}
}

func TestWebhookBody(t *testing.T) {
	r := notifytest.NewWebhook(t)
	m := message()
	m.TraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	if res := notify.NewSender("1.0.0").Send(context.Background(), notify.Target{Name: "ops", Type: notify.TypeWebhook, URL: r.URL()}, m); !res.Delivered {
		t.Fatal(res.Err)
	}
	var got notify.Message
	if err := json.Unmarshal(r.Requests()[0].Body, &got); err != nil {
		t.Fatal(err)
	}
	if got != m {
		t.Errorf("received %+v, want %+v", got, m)
	}
	b := r.Bodies(t)[0]
	for _, k := range []string{"event", "runbook", "run_id", "mode", "operator", "status", "failed_step", "reason", "transcript_head", "trace_id", "exit_code", "time"} {
		if _, ok := b[k]; !ok {
			t.Errorf("body has no %q: %v", k, b)
		}
	}
}

// The model of Slack refuses what Slack refuses.
func TestSlackModel(t *testing.T) {
	r := notifytest.NewSlack(t)
	for _, tc := range []struct {
		contentType, body string
		want              int
	}{
		{"application/json", `{"text":"hi"}`, 200},
		{"application/json", `{"blocks":[{"type":"divider"}]}`, 200},
		{"application/json", `{}`, 400},
		{"application/json", `not json`, 400},
		{"text/plain", `{"text":"hi"}`, 400},
	} {
		resp, err := http.Post(r.URL(), tc.contentType, strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s: %d, want %d", tc.contentType, tc.body, resp.StatusCode, tc.want)
		}
	}
	resp, err := http.Get(r.URL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", resp.StatusCode)
	}
}
