package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"go.opentelemetry.io/otel/trace"

	"github.com/runbookdev/runbook/engine/notify"
	"github.com/runbookdev/runbook/engine/transcript"
	"github.com/runbookdev/runbook/schema"
)

// Notifications (docs/execution.md, "Notifications"): the run tells the
// notify blocks that apply to it when it starts, when a step waits for
// approvals, and how it ends. Each delivery is bounded by the sender, is
// recorded as a notification record, and never fails or stops the run.

// Notification is the record of one delivery.
type Notification = transcript.Notification

// WithNotify sends the run's notifications through s to blocks: the notify
// blocks that apply to the runbook (schema.Config.NotifyFor). A dry-run
// sends only those of blocks with dry_run = true.
func WithNotify(s notify.Sender, blocks []*schema.Notify) Option {
	return func(c *config) { c.notify = &notifier{sender: s, blocks: blocks} }
}

// WithTranscriptHead says how to read the transcript's head (its last
// line's hash, transcript.Writer.Head), which notifications carry.
func WithTranscriptHead(head func() string) Option {
	return func(c *config) { c.transcriptHead = head }
}

// notifier holds a run's notify targets.
type notifier struct {
	sender  notify.Sender
	blocks  []*schema.Notify
	targets []notifyTarget
	// ctx is the run's context without its cancellation: an interrupted
	// run still says so, within the sender's bounds.
	ctx context.Context
}

// notifyTarget is a block whose url was evaluated for the run; err says
// why it could not be.
type notifyTarget struct {
	block *schema.Notify
	url   string
	err   error
}

// prepareNotify evaluates the url of every block the run will use, and
// makes the masker hide each from the start of the run: a URL is a
// secret whatever the variable it came from says.
func (r *runner) prepareNotify() {
	n := r.c.notify
	if n == nil {
		return
	}
	n.targets = nil
	for _, b := range n.blocks {
		if r.c.dryRun && !b.DryRun {
			continue
		}
		t := notifyTarget{block: b}
		val, diags := b.URL.Value(r.evalCtx(nil, b.URL))
		url, ok := lockString(val)
		switch {
		case diags.HasErrors():
			t.err = fmt.Errorf("notify %q: its url could not be evaluated", b.Name)
		case !ok:
			t.err = fmt.Errorf("notify %q: its url is not a string", b.Name)
		default:
			t.url = url
			r.mask.Add(url)
		}
		n.targets = append(n.targets, t)
	}
}

// notifyStarted tells that the run started; run_started is recorded.
func (r *runner) notifyStarted(ctx context.Context) {
	if r.c.notify != nil {
		r.c.notify.ctx = context.WithoutCancel(ctx)
	}
	r.sendNotifications(schema.NotifyStarted, r.message(schema.NotifyStarted))
}

// notifyWaiting tells that a step waits for approvals; its
// approval_request is recorded.
func (st *stepRun) notifyWaiting(req *ApprovalRequest) {
	m := st.message(schema.NotifyWaitingApproval)
	m.FailedStep = st.s.Name
	who := "any allowed signer"
	if len(req.From) > 0 {
		who = strings.Join(req.From, ", ")
	}
	m.Reason = fmt.Sprintf("step %q waits for %d more %s from %s, until %s", st.s.Name, req.Needed, approvalWord(req.Needed), who, req.Expires.UTC().Format("2006-01-02 15:04:05Z"))
	st.sendNotifications(schema.NotifyWaitingApproval, m)
}

// notifyFinished tells how the run ended: succeeded, or failed (a
// declined or blocked run too); run_finished is not yet recorded.
func (r *runner) notifyFinished(res *Result) {
	event := schema.NotifyFailed
	if res.Status == StatusSucceeded {
		event = schema.NotifySucceeded
	}
	m := r.message(event)
	m.Status, m.ExitCode, m.Reason = res.Status, res.ExitCode, res.Reason
	for i := len(res.Steps) - 1; i >= 0 && event == schema.NotifyFailed; i-- {
		if s := res.Steps[i]; s.Status == StatusFailed || s.Status == StatusBlocked || s.Status == StatusDeclined {
			m.FailedStep = s.Name
			break
		}
	}
	r.sendNotifications(event, m)
}

// notifyInterrupted tells that the run was interrupted during step;
// interrupted is not yet recorded.
func (r *runner) notifyInterrupted(res *Result, step string) {
	m := r.message(schema.NotifyInterrupted)
	m.Status, m.ExitCode, m.Reason, m.FailedStep = res.Status, res.ExitCode, res.Reason, step
	r.sendNotifications(schema.NotifyInterrupted, m)
}

// message is what every notification of the run says.
func (r *runner) message(event string) notify.Message {
	m := notify.Message{
		Event: event, Runbook: r.rb.Name, RunID: r.c.runID, Mode: r.mode(),
		Operator: r.c.operator, Time: r.c.clock.Now().UTC(),
	}
	if r.c.transcriptHead != nil {
		m.TranscriptHead = r.c.transcriptHead()
	}
	if n := r.c.notify; n != nil && n.ctx != nil {
		if sc := trace.SpanContextFromContext(n.ctx); sc.TraceID().IsValid() {
			m.TraceID = sc.TraceID().String()
		}
	}
	return m
}

// sendNotifications delivers m to every target that wants event, at once,
// and records each delivery in the targets' order.
func (r *runner) sendNotifications(event string, m notify.Message) {
	n := r.c.notify
	if n == nil {
		return
	}
	ctx := n.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	var targets []notifyTarget
	for _, t := range n.targets {
		if t.block.Wants(event) {
			targets = append(targets, t)
		}
	}
	results := make([]notify.Result, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		if t.err != nil {
			results[i] = notify.Result{Err: t.err}
			continue
		}
		wg.Go(func() {
			results[i] = n.sender.Send(ctx, notify.Target{Name: t.block.Name, Type: t.block.Type, URL: t.url}, m)
		})
	}
	wg.Wait()
	for i, t := range targets {
		rec := Notification{
			Notify: t.block.Name, NotifyType: t.block.Type, Event: event,
			Delivered: results[i].Delivered, Attempts: results[i].Attempts, StatusCode: results[i].StatusCode,
		}
		if err := results[i].Err; err != nil && !rec.Delivered {
			rec.Error = r.mask.String(err.Error())
		}
		r.emit(rec)
	}
}
