package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/runbookdev/runbook/engine/transcript"
)

// ExportTranscript makes the spans of a recorded run with tracer, at the
// times the transcript records (`runbook transcript export`,
// docs/telemetry.md): the run, its steps and their action attempts, with
// the same names, attributes and events as a traced run. It returns the
// trace id the spans got.
func ExportTranscript(ctx context.Context, tracer trace.Tracer, tr *transcript.Transcript) (string, error) {
	rs, err := tr.RunStarted()
	if err != nil {
		return "", err
	}
	if len(tr.Events) == 0 {
		return "", errors.New("the transcript holds no events")
	}
	started := tr.Events[0].Time
	ctx, root := tracer.Start(ctx, "RUN "+rs.Runbook, trace.WithTimestamp(started), trace.WithAttributes(
		attrPipelineName.String(rs.Runbook), attrPipelineRunID.String(rs.RunID), attrPipelineAction.String("RUN"),
		attribute.String("runbook.mode", rs.Mode), attribute.String("runbook.operator", rs.Operator),
		attribute.String("runbook.version", rs.Version)))
	if rs.Identity != nil {
		root.SetAttributes(attribute.String("runbook.operator.principal", rs.Identity.Principal))
	}
	rp := &replay{tracer: tracer, ctx: ctx, root: root, runID: rs.RunID}
	end := started
	for _, ev := range tr.Events[1:] {
		end = ev.Time
		r, ok, err := ev.Record()
		if !ok || err != nil {
			continue
		}
		rp.record(ev.Time, r)
	}
	rp.endStep(end, StepResult{Status: StatusInterrupted})
	if !rp.ended {
		root.SetAttributes(attribute.String("runbook.status", transcript.StatusUnfinished))
		root.End(trace.WithTimestamp(end))
	}
	return root.SpanContext().TraceID().String(), nil
}

// replay turns a transcript's records into spans, in order.
type replay struct {
	tracer  trace.Tracer
	ctx     context.Context
	root    trace.Span
	runID   string
	step    trace.Span
	stepCtx context.Context
	ended   bool
}

func (rp *replay) record(at time.Time, r transcript.Record) {
	switch r := r.(type) {
	case transcript.StepStarted:
		rp.endStep(at, StepResult{Status: StatusInterrupted})
		rp.stepCtx, rp.step = rp.tracer.Start(rp.ctx, r.Name, trace.WithTimestamp(at), trace.WithAttributes(
			attrTaskName.String(r.Name), attrTaskRunID.String(fmt.Sprintf("%s/%d", rp.runID, r.Index)),
			attribute.Int("runbook.step.index", r.Index), attribute.String("runbook.step.owner", r.Owner)))
	case transcript.StepFinished:
		rp.endStep(at, StepResult{Status: r.Status, Reason: r.Reason})
	case transcript.ActionFinished:
		rp.attempt(at, r)
	case transcript.RunFinished:
		rp.endRun(at, &Result{Status: r.Status, ExitCode: r.ExitCode, Reason: r.Reason})
	case transcript.Interrupted:
		rp.endStep(at, StepResult{Status: StatusInterrupted})
		rp.endRun(at, &Result{Status: StatusInterrupted, ExitCode: 130, Reason: "interrupted"})
	default:
		span := rp.step
		if span == nil {
			span = rp.root
		}
		if name, attrs := eventAttributes(r); name != "" {
			span.AddEvent(name, trace.WithTimestamp(at), trace.WithAttributes(attrs...))
		}
	}
}

// attempt is the span of one recorded attempt: it ended when recorded and
// lasted its duration.
func (rp *replay) attempt(at time.Time, r transcript.ActionFinished) {
	parent := rp.stepCtx
	if parent == nil {
		parent = rp.ctx
	}
	plugin, _, _ := strings.Cut(r.Action, ".")
	_, span := rp.tracer.Start(parent, r.Action, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithTimestamp(at.Add(-time.Duration(r.Duration))), trace.WithAttributes(
			attribute.String("runbook.plugin", plugin), attribute.String("runbook.action", r.Action),
			attribute.String("runbook.action.kind", "apply"), attribute.Bool("runbook.action.read_only", r.ReadOnly),
			attribute.Int("runbook.action.attempt", r.Attempt)))
	outcome := "ok"
	if r.Error != "" {
		outcome = "error"
		span.SetStatus(codes.Error, oneLine(r.Error))
	}
	span.SetAttributes(attribute.String("runbook.action.outcome", outcome))
	span.End(trace.WithTimestamp(at))
}

func (rp *replay) endStep(at time.Time, res StepResult) {
	if rp.step == nil {
		return
	}
	endStep(rp.step, res, at)
	rp.step, rp.stepCtx = nil, nil
}

func (rp *replay) endRun(at time.Time, res *Result) {
	endRun(rp.root, res, at)
	rp.ended = true
}
