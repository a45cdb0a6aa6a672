package engine

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/runbookdev/runbook/engine/exitcode"
)

// Tracing (docs/telemetry.md): a run is a trace. Its root span is the run,
// each step a child span, each attempt of an action (and each plan of
// one) a child of its step; confirmations, plan lines, checks and
// approvals are events of the step's span. Every attribute comes from an
// event the hooks see, so it is masked as they are: no sensitive value is
// exported. The context handed to a plugin carries the attempt's span,
// which plugins pass on (W3C traceparent) to what they call.

// WithTracer sets the tracer the run's spans are made with (default: none
// is made).
func WithTracer(t trace.Tracer) Option { return func(c *config) { c.tracer = t } }

// Span attribute keys: OpenTelemetry's CI/CD conventions where they fit,
// runbook.* for the rest.
const (
	attrPipelineName   = attribute.Key("cicd.pipeline.name")
	attrPipelineRunID  = attribute.Key("cicd.pipeline.run.id")
	attrPipelineAction = attribute.Key("cicd.pipeline.action.name")
	attrPipelineResult = attribute.Key("cicd.pipeline.result")
	attrTaskName       = attribute.Key("cicd.pipeline.task.name")
	attrTaskRunID      = attribute.Key("cicd.pipeline.task.run.id")
	attrTaskResult     = attribute.Key("cicd.pipeline.task.run.result")
)

func (c *config) tracerOrNoop() trace.Tracer {
	if c.tracer == nil {
		return noop.NewTracerProvider().Tracer("")
	}
	return c.tracer
}

// startRunSpan opens the run's span; its trace id goes into run_started.
func (r *runner) startRunSpan(ctx context.Context) context.Context {
	mode := r.mode()
	ctx, r.runSpan = r.c.tracerOrNoop().Start(ctx, "RUN "+r.rb.Name,
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithTimestamp(r.started),
		trace.WithAttributes(
			attrPipelineName.String(r.rb.Name),
			attrPipelineRunID.String(r.c.runID),
			attrPipelineAction.String("RUN"),
			attribute.String("runbook.mode", mode),
			attribute.String("runbook.operator", r.c.operator),
			attribute.String("runbook.version", r.c.version),
		))
	if id := r.c.identity; id != nil && id.Principal != "" {
		r.runSpan.SetAttributes(attribute.String("runbook.operator.principal", id.Principal))
	}
	return ctx
}

// traceID is the run's trace id, "" when it is not traced.
func (r *runner) traceID() string {
	if r.runSpan == nil || !r.runSpan.SpanContext().IsValid() {
		return ""
	}
	return r.runSpan.SpanContext().TraceID().String()
}

// endRunSpan closes the run's span with the run's result.
func (r *runner) endRunSpan(res *Result) {
	if r.runSpan != nil {
		endRun(r.runSpan, res, r.c.clock.Now())
	}
}

// pipelineResult is a status in the CI/CD conventions' words.
func pipelineResult(status string) string {
	switch status {
	case StatusSucceeded, StatusPlanned:
		return "success"
	case StatusInterrupted:
		return "cancellation"
	case StatusSkipped:
		return "skip"
	}
	return "failure"
}

// startStepSpan opens a step's span, the parent of its attempts.
func (r *runner) startStepSpan(ctx context.Context, ref StepRef) context.Context {
	ctx, r.stepSpan = r.c.tracerOrNoop().Start(ctx, ref.Name,
		trace.WithTimestamp(r.c.clock.Now()),
		trace.WithAttributes(
			attrTaskName.String(ref.Name),
			attrTaskRunID.String(fmt.Sprintf("%s/%d", r.c.runID, ref.Index)),
			attribute.Int("runbook.step.index", ref.Index),
			attribute.String("runbook.step.owner", ref.Owner),
		))
	return ctx
}

// endStepSpan closes the step's span with how the step ended.
func (r *runner) endStepSpan(res StepResult) {
	if r.stepSpan == nil {
		return
	}
	endStep(r.stepSpan, res, r.c.clock.Now())
	r.stepSpan = nil
}

// endStep closes a step's span, live or replayed.
func endStep(span trace.Span, res StepResult, at time.Time) {
	span.SetAttributes(attrTaskResult.String(pipelineResult(res.Status)), attribute.String("runbook.step.status", res.Status))
	if res.Reason != "" {
		span.SetAttributes(attribute.String("runbook.step.reason", res.Reason))
	}
	switch res.Status {
	case StatusFailed, StatusBlocked, StatusDeclined:
		span.SetStatus(codes.Error, res.Reason)
	}
	span.End(trace.WithTimestamp(at))
}

// endRun closes a run's span, live or replayed.
func endRun(span trace.Span, res *Result, at time.Time) {
	span.SetAttributes(
		attrPipelineResult.String(pipelineResult(res.Status)),
		attribute.String("runbook.status", res.Status),
		attribute.Int("runbook.exit_code", res.ExitCode),
	)
	if res.ExitCode != exitcode.OK {
		span.SetStatus(codes.Error, res.Reason)
	}
	span.End(trace.WithTimestamp(at))
}

// startCallSpan opens the span of one plugin call: an attempt of the
// step's action (kind "apply") or its plan ("plan").
func (st *stepRun) startCallSpan(ctx context.Context, kind string, readOnly bool) (context.Context, trace.Span) {
	a := st.s.Action
	name := a.FullName()
	if kind == "plan" {
		name = "plan " + name
	}
	attrs := []attribute.KeyValue{
		attribute.String("runbook.plugin", a.Plugin),
		attribute.String("runbook.action", a.FullName()),
		attribute.String("runbook.action.kind", kind),
		attribute.Bool("runbook.action.read_only", readOnly),
	}
	if kind == "apply" {
		attrs = append(attrs, attribute.Int("runbook.action.attempt", st.attempt))
	}
	return st.c.tracerOrNoop().Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithTimestamp(st.c.clock.Now()), trace.WithAttributes(attrs...))
}

// endCallSpan closes a plugin call's span; errText is the masked error as
// recorded, "" when the call succeeded.
func (st *stepRun) endCallSpan(span trace.Span, errText string) {
	outcome := "ok"
	if errText != "" {
		outcome = "error"
		span.SetStatus(codes.Error, oneLine(errText))
	}
	span.SetAttributes(attribute.String("runbook.action.outcome", outcome))
	span.End(trace.WithTimestamp(st.c.clock.Now()))
}

// spanEvent adds what e tells to the span it belongs to: the step's, or
// the run's between steps. The events that open and close spans, and the
// lines of output, are not repeated as events.
func (r *runner) spanEvent(e Event) {
	span := r.stepSpan
	if span == nil {
		span = r.runSpan
	}
	if span == nil || !span.IsRecording() {
		return
	}
	name, attrs := eventAttributes(e)
	if name == "" {
		return
	}
	span.AddEvent(name, trace.WithTimestamp(r.c.clock.Now()), trace.WithAttributes(attrs...))
}

// eventAttributes are the span event of a recorded event, or "".
func eventAttributes(e Event) (string, []attribute.KeyValue) {
	switch e := e.(type) {
	case PreconditionChecked:
		return "precondition", []attribute.KeyValue{
			attribute.String("runbook.condition", e.Condition), attribute.String("runbook.check.status", e.Result),
			attribute.String("runbook.check.message", e.Message),
		}
	case ConfirmationAnswered:
		return "confirmation", []attribute.KeyValue{
			attribute.String("runbook.question", e.Question), attribute.String("runbook.answer", e.Answer),
			attribute.String("runbook.answered_by", e.By),
		}
	case Planned:
		if e.Error != "" {
			return "plan", []attribute.KeyValue{attribute.String("runbook.action", e.Action), attribute.String("runbook.plan.error", oneLine(e.Error))}
		}
		return "plan", []attribute.KeyValue{attribute.String("runbook.action", e.Action), attribute.StringSlice("runbook.plan.changes", e.Changes)}
	case ExpectationChecked:
		return "expectation", []attribute.KeyValue{
			attribute.String("runbook.condition", e.Condition), attribute.String("runbook.check.status", e.Result),
			attribute.Int("runbook.check", e.Check), attribute.String("runbook.check.message", e.Message),
		}
	case ApprovalRequested:
		return "approval_request", []attribute.KeyValue{
			attribute.String("runbook.approval.digest", e.Digest), attribute.Int("runbook.approval.needed", e.Needed),
			attribute.StringSlice("runbook.approval.approvers", e.Approvers), attribute.Bool("runbook.dry_run", e.DryRun),
		}
	case ApprovalAnswered:
		return "approval", []attribute.KeyValue{
			attribute.String("runbook.approval.decision", e.Decision), attribute.String("runbook.approval.principal", e.Principal),
			attribute.String("runbook.approval.key", e.Key), attribute.Bool("runbook.approval.accepted", e.Accepted),
			attribute.String("runbook.approval.refused", e.Refused),
		}
	}
	return "", nil
}

// errText is err masked, "" for none: what a call's span may say of it.
func errText(mask interface{ String(string) string }, err error) string {
	if err == nil {
		return ""
	}
	return mask.String(err.Error())
}
