package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Notification types, as a notify block's type names them.
const (
	TypeSlack   = "slack"
	TypeWebhook = "webhook"
)

// Bounds of one notification's delivery.
const (
	// AttemptTimeout bounds one POST, its response included.
	AttemptTimeout = 2 * time.Second
	// MaxAttempts counts every attempt, the first included.
	MaxAttempts = 3
	// Budget bounds every attempt and wait of one notification.
	Budget = 5 * time.Second
	// MaxResponse is as much of a response body as is read.
	MaxResponse = 64 << 10
)

// backoff is the wait before the second and the third attempt.
var backoff = []time.Duration{200 * time.Millisecond, 400 * time.Millisecond}

// Target is where one notify block posts.
type Target struct {
	// Name is the notify block's name: errors say notify "NAME", never
	// the URL.
	Name string
	// Type is TypeSlack or TypeWebhook.
	Type string
	// URL is a secret.
	URL string
}

// Result is how one delivery went.
type Result struct {
	Delivered bool
	// Attempts counts the requests made (0 when none could be).
	Attempts int
	// StatusCode is the last response's; 0 when none came.
	StatusCode int
	// Err says why it was not delivered; it names the notify block,
	// never the URL.
	Err error
	// Elapsed is the time the delivery took, by the sender's clock.
	Elapsed time.Duration
}

// Sender delivers a message to a target, within the bounds above. It
// never panics, and returns when its budget is spent whatever the
// receiver does.
type Sender interface {
	Send(ctx context.Context, t Target, m Message) Result
}

// HTTPSender is the Sender that posts over HTTP.
type HTTPSender struct {
	// Version goes in the User-Agent: runbook/VERSION.
	Version string
	// Client makes the requests; nil: one that follows no redirect.
	Client *http.Client
	// AttemptTimeout, Budget and Backoff replace the package's bounds
	// when set (tests).
	AttemptTimeout, Budget time.Duration
	Backoff                []time.Duration
	// Now and Sleep replace the clock (tests); Sleep returns early with
	// ctx's error when ctx ends.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// NewSender returns an HTTPSender with the package's bounds.
func NewSender(version string) *HTTPSender { return &HTTPSender{Version: version} }

// Send implements Sender.
func (s *HTTPSender) Send(ctx context.Context, t Target, m Message) (res Result) {
	start := s.now()
	defer func() { res.Elapsed = s.now().Sub(start) }()
	fail := func(format string, args ...any) Result {
		res.Err = fmt.Errorf("notify %q: "+format, append([]any{t.Name}, args...)...)
		return res
	}
	body, err := encode(t.Type, m)
	if err != nil {
		return fail("%s", err)
	}
	if err := checkURL(t.URL); err != nil {
		return fail("%s", err)
	}
	budget := s.budget()
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	deadline := start.Add(budget)
	for {
		code, wait, retry, err := s.attempt(ctx, t, body, deadline)
		res.Attempts++
		res.StatusCode = code
		if err == nil {
			res.Delivered = true
			return res
		}
		if !retry || res.Attempts >= MaxAttempts {
			return fail("%s", err)
		}
		if wait == 0 {
			wait = s.backoff(res.Attempts)
		}
		left := deadline.Sub(s.now())
		if wait >= left {
			return fail("%s; no time left in the %s budget to try again", err, budget)
		}
		if sleepErr := s.sleep(ctx, wait); sleepErr != nil {
			return fail("%s; gave up waiting to try again: %s", err, describe(sleepErr))
		}
	}
}

// attempt makes one POST. It says what status came back, how long the
// receiver asked to wait (Retry-After), whether to try again, and what
// went wrong.
func (s *HTTPSender) attempt(ctx context.Context, t Target, body []byte, deadline time.Time) (code int, wait time.Duration, retry bool, err error) {
	timeout := min(s.attemptTimeout(), deadline.Sub(s.now()))
	if timeout <= 0 {
		return 0, 0, false, errors.New("no time left for an attempt")
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, t.URL, bytes.NewReader(body))
	if err != nil {
		return 0, 0, false, errors.New("the url is not a valid URL")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "runbook/"+s.version())
	resp, err := s.client().Do(req)
	if err != nil {
		return 0, 0, true, errors.New(describe(err))
	}
	defer resp.Body.Close()
	// An answer cut short still has its status, which is what counts.
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, MaxResponse))
	code = resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		return code, 0, false, nil
	case code == http.StatusTooManyRequests:
		return code, retryAfter(resp.Header.Get("Retry-After")), true, answered(t, code, answer)
	case code >= 500:
		return code, 0, true, answered(t, code, answer)
	default:
		return code, 0, false, answered(t, code, answer)
	}
}

// answered describes a response that refused the message: its status and
// the start of what it said (Slack answers with a short code such as
// "invalid_token"), never all of it.
func answered(t Target, code int, body []byte) error {
	msg := fmt.Sprintf("the %s answered %d %s", receiver(t.Type), code, http.StatusText(code))
	if said := excerpt(body); said != "" {
		msg += ": " + said
	}
	return errors.New(msg)
}

func receiver(typ string) string {
	if typ == TypeSlack {
		return "Slack webhook"
	}
	return "webhook"
}

// excerpt is the first line of a response body, printable characters
// only, at most 80 of them.
func excerpt(body []byte) string {
	line, _, _ := strings.Cut(string(body), "\n")
	line = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, strings.TrimSpace(line))
	return truncate(line, 80)
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(h string) time.Duration {
	if h == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && n >= 0 {
		// Anything beyond the budget is as good as an hour, and an
		// hour does not overflow.
		return time.Duration(min(n, 3600)) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// describe says what went wrong with a request without the URL or the
// address it went to (url.Error and net.OpError quote both).
func describe(err error) string {
	var dnsErr *net.DNSError
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.As(err, &dnsErr):
		return "the host name did not resolve"
	case errors.As(err, &netErr) && netErr.Timeout():
		return "timed out"
	case strings.Contains(err.Error(), "connection refused"):
		return "connection refused"
	case strings.Contains(err.Error(), "connection reset"):
		return "connection reset"
	case strings.Contains(err.Error(), "tls:"), strings.Contains(err.Error(), "x509:"):
		return "the TLS handshake failed"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the connection closed before a response"
	default:
		return "the request failed"
	}
}

// checkURL says, without quoting it, what is wrong with a URL to post to.
func checkURL(raw string) error {
	if raw == "" {
		return errors.New("the url is empty (is the environment variable it reads set?)")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("the url is not an http:// or https:// URL")
	}
	return nil
}

func encode(typ string, m Message) ([]byte, error) {
	switch typ {
	case TypeSlack:
		return slackBody(m)
	case TypeWebhook:
		return webhookBody(m)
	default:
		return nil, fmt.Errorf("unknown type %q", typ)
	}
}

var defaultClient = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func (s *HTTPSender) client() *http.Client {
	if s.Client != nil {
		return s.Client
	}
	return defaultClient
}

func (s *HTTPSender) version() string {
	if s.Version == "" {
		return "dev"
	}
	return s.Version
}

func (s *HTTPSender) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *HTTPSender) sleep(ctx context.Context, d time.Duration) error {
	if s.Sleep != nil {
		return s.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *HTTPSender) attemptTimeout() time.Duration {
	if s.AttemptTimeout > 0 {
		return s.AttemptTimeout
	}
	return AttemptTimeout
}

func (s *HTTPSender) budget() time.Duration {
	if s.Budget > 0 {
		return s.Budget
	}
	return Budget
}

func (s *HTTPSender) backoff(attempt int) time.Duration {
	b := backoff
	if s.Backoff != nil {
		b = s.Backoff
	}
	if len(b) == 0 {
		return 0
	}
	return b[min(attempt-1, len(b)-1)]
}
