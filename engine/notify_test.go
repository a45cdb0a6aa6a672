package engine

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"go.opentelemetry.io/otel/trace"

	"github.com/runbookdev/runbook/engine/exitcode"
	"github.com/runbookdev/runbook/engine/identity/identitytest"
	"github.com/runbookdev/runbook/engine/notify"
	"github.com/runbookdev/runbook/engine/notify/notifytest"
	"github.com/runbookdev/runbook/engine/transcript"
	"github.com/runbookdev/runbook/schema"
)

// fakeSender records what it is asked to send and delivers it.
type fakeSender struct {
	mu   sync.Mutex
	sent []sentNotification
	// onSend, when set, runs for each message before it is delivered.
	onSend func(notify.Message)
}

type sentNotification struct {
	target notify.Target
	msg    notify.Message
}

func (s *fakeSender) Send(_ context.Context, t notify.Target, m notify.Message) notify.Result {
	if s.onSend != nil {
		s.onSend(m)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, sentNotification{t, m})
	return notify.Result{Delivered: true, Attempts: 1, StatusCode: 200}
}

// events lists "TARGET:EVENT" in the order sent.
func (s *fakeSender) events() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, n := range s.sent {
		out = append(out, n.target.Name+":"+n.msg.Event)
	}
	return out
}

func (s *fakeSender) last(event string) notify.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.sent) - 1; i >= 0; i-- {
		if s.sent[i].msg.Event == event {
			return s.sent[i].msg
		}
	}
	return notify.Message{}
}

// notifyBlock is a notify block posting to url, for every event unless
// on says.
func notifyBlock(name, typ, url string, dryRun bool, on ...string) *schema.Notify {
	if len(on) == 0 {
		on = schema.NotifyEvents
	}
	return &schema.Notify{Name: name, Type: typ, URL: hcl.StaticExpr(cty.StringVal(url), hcl.Range{}), On: on, DryRun: dryRun}
}

// notifications are the notification records a run made.
func notifications(h *harness) []Notification {
	var out []Notification
	for _, e := range h.rec.events {
		if n, ok := e.(Notification); ok {
			out = append(out, n)
		}
	}
	return out
}

const notifyRunbook = `
runbook "rb" {
  owner = "team"
  step "s" {
    %s
  }
}
`

func TestNotifyEvents(t *testing.T) {
	for _, tc := range []struct {
		name    string
		step    string
		opts    []Option
		events  []string
		status  string
		failed  string
		reason  string
		exit    int
		records string // the run's record types, in order
		blocks  []*schema.Notify
	}{
		{name: "succeeded", step: `action "kv.get" { key = "k" }`,
			events: []string{"ops:started", "ops:succeeded"}, status: StatusSucceeded,
			records: "run_started notification step_started action_result step_finished notification run_finished"},
		{name: "failed", step: `action "kv.fail" {}`,
			events: []string{"ops:started", "ops:failed"}, status: StatusFailed, failed: "s", reason: `step "s": failure 1`, exit: exitcode.Failed},
		{name: "blocked", step: `precondition {
      condition     = false
      error_message = "not now"
    }
    action "kv.get" { key = "k" }`,
			events: []string{"ops:started", "ops:failed"}, status: StatusBlocked, failed: "s", reason: "not now", exit: exitcode.Failed},
		{name: "declined", step: `confirm = "go?"
    action "kv.set" {
      key   = "k"
      value = "v2"
    }`, opts: []Option{WithPrompter(&answers{confirm: false})},
			events: []string{"ops:started", "ops:failed"}, status: StatusDeclined, failed: "s", exit: exitcode.Refused},
		{name: "only the events asked for", step: `action "kv.fail" {}`,
			blocks: []*schema.Notify{notifyBlock("failures", schema.NotifyWebhook, "https://hooks.example/f", false, schema.NotifyFailed)},
			events: []string{"failures:failed"}, status: StatusFailed, failed: "s", exit: exitcode.Failed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &fakeSender{}
			blocks := tc.blocks
			if blocks == nil {
				blocks = []*schema.Notify{notifyBlock("ops", schema.NotifySlack, "https://hooks.example/ops", false)}
			}
			w := schemaChecked(t)
			opts := append(tc.opts, WithNotify(s, blocks), WithHooks(TranscriptHook(w)), WithTranscriptHead(w.Head))
			h := run(t, fmt.Sprintf(notifyRunbook, tc.step), opts...)
			if h.err != nil {
				t.Fatal(h.err)
			}
			if h.res.Status != tc.status {
				t.Fatalf("status %s (%s), want %s", h.res.Status, h.res.Reason, tc.status)
			}
			if got := s.events(); !slices.Equal(got, tc.events) {
				t.Fatalf("sent %v, want %v", got, tc.events)
			}
			if tc.records != "" && h.rec.types() != tc.records {
				t.Errorf("records %q, want %q", h.rec.types(), tc.records)
			}
			recs := notifications(h)
			if len(recs) != len(tc.events) {
				t.Fatalf("notification records %+v, want one per delivery", recs)
			}
			for i, r := range recs {
				if r.Notify+":"+r.Event != tc.events[i] || !r.Delivered || r.Attempts != 1 || r.StatusCode != 200 || r.NotifyType != blocks[0].Type {
					t.Errorf("record %+v, want %s delivered", r, tc.events[i])
				}
			}
			for _, m := range []notify.Message{s.sent[0].msg, s.sent[len(s.sent)-1].msg} {
				if m.Runbook != "rb" || m.RunID != "run-1" || m.Mode != ModeRun || m.Operator != "alice@host" || m.TranscriptHead == "" || m.Time.IsZero() {
					t.Errorf("message %+v lacks the run's facts", m)
				}
			}
			end := s.sent[len(s.sent)-1].msg
			if end.Status != tc.status || end.FailedStep != tc.failed || end.ExitCode != tc.exit || !strings.Contains(end.Reason, tc.reason) {
				t.Errorf("last message %+v, want status %s, failed step %q, exit %d, reason %q", end, tc.status, tc.failed, tc.exit, tc.reason)
			}
		})
	}
}

// A notification carries the transcript's head as it was when sent: for
// "started", run_started's hash.
func TestNotifyTranscriptHead(t *testing.T) {
	s := &fakeSender{}
	w, err := transcript.Create(t.TempDir(), "run-1", transcript.WithFS(noSync{}))
	if err != nil {
		t.Fatal(err)
	}
	h := run(t, fmt.Sprintf(notifyRunbook, `action "kv.get" { key = "k" }`), WithNotify(s, []*schema.Notify{notifyBlock("ops", schema.NotifyWebhook, "https://hooks.example/ops", false)}),
		WithHooks(TranscriptHook(w)), WithTranscriptHead(w.Head))
	w.Close()
	if h.err != nil {
		t.Fatal(h.err)
	}
	tr, err := transcript.Read(w.Path())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.last(schema.NotifyStarted).TranscriptHead, tr.Events[0].Hash; got != want {
		t.Errorf("started carries head %q, want run_started's hash %q", got, want)
	}
	if got, want := s.last(schema.NotifySucceeded).TranscriptHead, tr.Events[len(tr.Events)-3].Hash; got != want {
		t.Errorf("succeeded carries head %q, want the last step_finished's hash %q", got, want)
	}
}

// An interrupted run says so, though its context is cancelled, with the
// trace of the run's span.
func TestNotifyInterrupted(t *testing.T) {
	traceID := trace.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	ctx, cancel := context.WithCancel(trace.ContextWithSpanContext(context.Background(),
		trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: trace.SpanID{1}, TraceFlags: trace.FlagsSampled})))
	defer cancel()
	s := &fakeSender{}
	kv := newKV()
	s.onSend = func(m notify.Message) {
		if m.Event == schema.NotifyStarted {
			// The operator presses Ctrl-C while the step blocks.
			go func() { time.Sleep(time.Millisecond); cancel() }()
		}
	}
	cfg, rb := load(t, fmt.Sprintf(notifyRunbook, `action "kv.block" {}`))
	res, err := Run(ctx, cfg, rb, WithPlugins(InProcess{"kv": kv}), WithOperator("alice@host"), WithRunID("run-1"),
		WithEnv(func(string) (string, bool) { return "", false }), WithHooks(TranscriptHook(schemaChecked(t))),
		WithNotify(s, []*schema.Notify{notifyBlock("ops", schema.NotifySlack, "https://hooks.example/ops", false)}))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusInterrupted {
		t.Fatalf("status %s", res.Status)
	}
	if got := s.events(); !slices.Equal(got, []string{"ops:started", "ops:interrupted"}) {
		t.Fatalf("sent %v", got)
	}
	m := s.last(schema.NotifyInterrupted)
	if m.FailedStep != "s" || m.Status != StatusInterrupted || m.ExitCode != exitcode.Interrupted || m.TraceID != traceID.String() {
		t.Errorf("interrupted message %+v, want step s, exit %d, trace %s", m, exitcode.Interrupted, traceID)
	}
}

func TestNotifyDryRun(t *testing.T) {
	s := &fakeSender{}
	blocks := []*schema.Notify{
		notifyBlock("real-only", schema.NotifySlack, "https://hooks.example/a", false),
		notifyBlock("rehearsals-too", schema.NotifyWebhook, "https://hooks.example/b", true),
	}
	h := run(t, fmt.Sprintf(notifyRunbook, `action "kv.set" {
      key   = "k"
      value = "v2"
    }`), WithDryRun(true), WithNotify(s, blocks))
	if h.err != nil || h.res.Status != StatusSucceeded {
		t.Fatalf("%v %+v", h.err, h.res)
	}
	if got := s.events(); !slices.Equal(got, []string{"rehearsals-too:started", "rehearsals-too:succeeded"}) {
		t.Fatalf("sent %v, want only the block with dry_run = true", got)
	}
	if m := s.last(schema.NotifyStarted); m.Mode != ModeDryRun {
		t.Errorf("mode %q", m.Mode)
	}
}

// A step that waits for approvals says so, once its request can be
// answered; a dry-run, which asks nobody, does not.
func TestNotifyWaitingApproval(t *testing.T) {
	keys := approvalKeys{alice: identitytest.NewKey(t, "alice"), bob: identitytest.NewKey(t, "bob"),
		carol1: identitytest.NewKey(t, "carol1"), carol2: identitytest.NewKey(t, "carol2")}
	for _, dry := range []bool{false, true} {
		t.Run(fmt.Sprintf("dry-run %v", dry), func(t *testing.T) {
			cfg, rb := loadApproval(t, 2, keys.signers())
			var requested bool
			broker := &memBroker{answer: func(req *ApprovalRequest) []ApprovalResponse {
				requested = true
				return []ApprovalResponse{signed(t, keys.bob, req, req.Digest, DecisionApprove, "")}
			}}
			s := &fakeSender{onSend: func(m notify.Message) {
				if m.Event == schema.NotifyWaitingApproval && !requested {
					t.Error("told of the wait before the request could be answered")
				}
			}}
			op := &Identity{Principal: "alice@example.com", Key: keys.alice}
			h := runLoaded(t, cfg, rb, WithYes(true), WithIdentity(op), WithDryRun(dry),
				WithApprovals(broker, &SignersVerifier{Signers: cfg.Signers, Operator: op}),
				WithNotify(s, []*schema.Notify{notifyBlock("ops", schema.NotifySlack, "https://hooks.example/ops", true)}))
			if h.err != nil || h.res.Status != StatusSucceeded {
				t.Fatalf("%v %+v", h.err, h.res)
			}
			want := []string{"ops:started", "ops:waiting_approval", "ops:succeeded"}
			if dry {
				want = []string{"ops:started", "ops:succeeded"}
			}
			if got := s.events(); !slices.Equal(got, want) {
				t.Fatalf("sent %v, want %v", got, want)
			}
			if dry {
				return
			}
			m := s.last(schema.NotifyWaitingApproval)
			if m.FailedStep != "write" || !strings.Contains(m.Reason, `step "write" waits for 1 more approval from oncall, until `) {
				t.Errorf("waiting message %+v", m)
			}
			if types := h.rec.types(); !strings.Contains(types, "approval_request notification approval") {
				t.Errorf("records %q: want the notification after the request", types)
			}
		})
	}
}

// Receivers that fail, are down or are too slow cost a run only their
// bounded delivery: the run succeeds, and each delivery is recorded with
// its attempts.
func TestNotifyDelivery(t *testing.T) {
	slack := notifytest.NewSlack(t)
	slow, slowRequests := notifytest.NewSlow(t)
	for _, tc := range []struct {
		name      string
		url       string
		answers   []notifytest.Answer
		delivered bool
		attempts  int
		status    int
		err       string
	}{
		{name: "accepted", url: slack.URL(), delivered: true, attempts: 1, status: 200},
		{name: "a 500 then accepted", url: slack.URL(), answers: []notifytest.Answer{notifytest.RollupError}, delivered: true, attempts: 2, status: 200},
		{name: "a revoked token", url: slack.RevokedURL(), attempts: 1, status: 403, err: "invalid_token"},
		{name: "an archived channel", url: slack.URL(), answers: []notifytest.Answer{notifytest.ChannelArchived}, attempts: 1, status: 410, err: "channel_is_archived"},
		{name: "down", url: notifytest.ClosedURL(t), attempts: 3, err: "connection refused"},
		{name: "too slow", url: slow, attempts: 3, err: "timed out"},
		{name: "no url", url: "", err: "the url is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			slack.Then(tc.answers...)
			before := slowRequests()
			sender := &notify.HTTPSender{Version: "test", AttemptTimeout: 50 * time.Millisecond, Backoff: []time.Duration{time.Millisecond}}
			block := notifyBlock("ops", schema.NotifySlack, tc.url, false, schema.NotifyStarted)
			w := schemaChecked(t)
			h := run(t, fmt.Sprintf(notifyRunbook, `action "kv.get" { key = "k" }`), WithNotify(sender, []*schema.Notify{block}), WithHooks(TranscriptHook(w)))
			if h.err != nil || h.res.Status != StatusSucceeded || h.res.ExitCode != 0 {
				t.Fatalf("%v %+v: a notification must not fail the run", h.err, h.res)
			}
			recs := notifications(h)
			if len(recs) != 1 {
				t.Fatalf("records %+v", recs)
			}
			r := recs[0]
			if r.Delivered != tc.delivered || r.Attempts != tc.attempts || r.StatusCode != tc.status || !strings.Contains(r.Error, tc.err) {
				t.Errorf("record %+v, want delivered %v after %d attempts, status %d, error %q", r, tc.delivered, tc.attempts, tc.status, tc.err)
			}
			if tc.url == slow && slowRequests()-before != tc.attempts {
				t.Errorf("the slow receiver got %d requests, want %d", slowRequests()-before, tc.attempts)
			}
			if tc.url != "" {
				assertNoURL(t, w.Path(), tc.url)
			}
		})
	}
}

// assertNoURL fails when the file at path holds url or its secret part.
func assertNoURL(t *testing.T, path, url string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	secret := url[strings.LastIndex(url, "/")+1:]
	for _, s := range []string{url, secret} {
		if strings.Contains(string(data), s) {
			t.Errorf("the transcript holds %q of the url", s)
		}
	}
}

// The URL is a secret whatever the variable it came from says: a plugin
// that repeats it, a recorded variable and a failure's reason show it
// masked, and the notification block's own record never holds it.
func TestNotifyURLIsSecret(t *testing.T) {
	hook := notifytest.NewWebhook(t)
	hook.Then(notifytest.Answer{Status: 400, Body: "bad request"})
	src := `
runbook "rb" {
  owner = "team"
  variable "endpoint" {}
  notify "ops" {
    type = "webhook"
    url  = var.endpoint
  }
  step "echo" {
    action "kv.echo" { key = var.endpoint }
  }
  step "fail" {
    precondition {
      condition     = false
      error_message = "cannot reach ${var.endpoint}"
    }
    action "kv.get" { key = "k" }
  }
}
`
	cfg, rb := load(t, src)
	w := schemaChecked(t)
	h := runLoaded(t, cfg, rb, WithVars(map[string]string{"endpoint": hook.URL()}), WithHooks(TranscriptHook(w)),
		WithNotify(notify.NewSender("test"), cfg.NotifyFor(rb)))
	if h.err != nil || h.res.Status != StatusBlocked {
		t.Fatalf("%v %+v", h.err, h.res)
	}
	w.Close()
	assertNoURL(t, w.Path(), hook.URL())
	if strings.Contains(h.res.Reason, hook.URL()) {
		t.Errorf("reason %q holds the url", h.res.Reason)
	}
	recs := notifications(h)
	if len(recs) != 2 || recs[0].Delivered || recs[0].StatusCode != 400 || !recs[1].Delivered {
		t.Errorf("records %+v: want a refused started and a delivered failed", recs)
	}
	bodies := hook.Bodies(t)
	if len(bodies) != 1 || !strings.Contains(fmt.Sprint(bodies[0]["reason"]), "(sensitive)") {
		t.Errorf("bodies %v: want the failure, its reason masked", bodies)
	}
}
