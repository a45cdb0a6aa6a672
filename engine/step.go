package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/schema"
)

// errInterrupted is what an action cancelled by Ctrl-C or SIGTERM reports.
var errInterrupted = errors.New("interrupted")

// stepRun carries one step through its lifecycle.
type stepRun struct {
	*runner
	ref     StepRef
	s       *schema.Step
	started time.Time
	attempt int
	// failedAt locates the first expectation that did not hold.
	failedAt hcl.Range
	// basis is, when the run applies a saved plan, what the step's
	// mutating action was planned against.
	basis []byte
	// changes are the plan lines its preview recorded, which an approval
	// request shows and signs.
	changes []string
}

// step runs one step: when → preconditions → confirm → action (timeout,
// retry) → expect (within/every) — and reports how it ended. The output is
// recorded for later steps whatever the status.
func (r *runner) step(ctx context.Context, ref StepRef, s *schema.Step) StepResult {
	st := &stepRun{runner: r, ref: ref, s: s, started: r.c.clock.Now()}
	ctx = r.startStepSpan(ctx, ref)
	res := st.lifecycle(ctx)
	if res.Output == cty.NilVal {
		res.Output = cty.NullVal(schema.StepOutputType(s))
	}
	r.setOutput(s.Name, res.Output)
	if ctx.Err() != nil && res.Status != StatusSucceeded && res.Status != StatusSkipped {
		res.Status, res.Reason = StatusInterrupted, ""
	}
	d := r.c.clock.Now().Sub(st.started)
	var out any
	if res.Status == StatusSucceeded || res.Status == StatusPlanned || res.Status == StatusFailed {
		out = export(res.Output, r.mask)
	}
	r.endStepSpan(res)
	r.emit(StepFinished{StepRef: ref, Status: res.Status, Reason: res.Reason, Duration: Duration(d), Output: out})
	r.boundary()
	return res
}

func (st *stepRun) fail(status, format string, args ...any) StepResult {
	return StepResult{Name: st.s.Name, Status: status, Reason: st.mask.String(fmt.Sprintf(format, args...))}
}

func (st *stepRun) lifecycle(ctx context.Context) StepResult {
	s := st.s
	if !st.emit(st.startEvent()) {
		return st.fail(StatusFailed, "%s", st.hookErr)
	}
	if res, done := st.resumed(ctx); done {
		return res
	}
	if res, ok := st.when(); !ok {
		return res
	}
	if res, ok := st.preconditions(); !ok {
		return res
	}

	// A real run shows and records what a mutating action will change
	// before it runs, and before its step's confirmation: the person
	// confirming sees what they are asked about (a dry-run plans it in
	// its place instead).
	var args cty.Value
	if s.Action != nil && !st.c.dryRun {
		var err error
		if args, err = st.args(); err != nil {
			return st.fail(StatusFailed, "%s", err)
		}
		if res, ok := st.preview(ctx, args); !ok {
			return res
		}
	}
	if st.c.agent != "" {
		// An agent confirms nothing: people approve instead.
		return st.agentStep(ctx, args)
	}
	if s.Confirm != nil {
		question, err := st.text(s.Confirm, nil)
		if err != nil {
			return st.fail(StatusFailed, "confirm: %s", err)
		}
		if res, ok := st.confirm(ctx, question); !ok {
			return res
		}
		if res, ok := st.approvals(ctx, question); !ok {
			return res
		}
	}

	if s.Action == nil {
		return st.manual(ctx)
	}
	return st.action(ctx, args)
}

// startEvent is the event that opens the step: its action, or its manual
// text when that can be rendered already.
func (st *stepRun) startEvent() StepStarted {
	s := st.s
	start := StepStarted{StepRef: st.ref, Description: s.Description}
	if s.Action != nil {
		start.Action = s.Action.FullName()
	}
	if s.Manual != nil {
		if text, err := st.text(s.Manual, nil); err == nil {
			start.Manual = text
		}
	}
	return start
}

// when evaluates the step's `when`; false ends the step as skipped
// (ok=false, with the result to return).
func (st *stepRun) when() (StepResult, bool) {
	s := st.s
	if s.When == nil {
		return StepResult{}, true
	}
	val, diags := s.When.Value(st.evalCtx(nil, s.When))
	if diags.HasErrors() {
		return st.fail(StatusFailed, "when: %s", diags.Error()), false
	}
	val, _ = val.UnmarkDeep()
	if !val.IsKnown() {
		// Unknown in a dry-run: rehearse the step as if it runs.
		return StepResult{}, true
	}
	b, err := convert.Convert(val, cty.Bool)
	if err != nil || b.IsNull() {
		return st.fail(StatusFailed, "when at %s is not a bool", s.When.Range()), false
	}
	if b.False() {
		return StepResult{Name: s.Name, Status: StatusSkipped, Reason: "when " + st.cfg.Source(s.When.Range()) + " is false"}, false
	}
	return StepResult{}, true
}

// preconditions checks the step's preconditions in order, recording each;
// the first that fails blocks the step (ok=false, with the result to
// return).
func (st *stepRun) preconditions() (StepResult, bool) {
	for _, p := range st.s.Preconditions {
		result, msg, err := st.condition(p, nil)
		if err != nil {
			return st.fail(StatusFailed, "precondition: %s", err), false
		}
		if !st.emit(PreconditionChecked{StepRef: st.ref, Condition: st.cfg.Source(p.Condition.Range()), Result: result, Message: msg}) {
			return st.fail(StatusFailed, "%s", st.hookErr), false
		}
		if result == "failed" {
			res := st.fail(StatusBlocked, "precondition failed: %s", msg)
			res.At = p.Condition.Range()
			return res, false
		}
	}
	return StepResult{}, true
}

// preview shows, in a real run, what the step's mutating action will
// change before it runs (and before the step's confirmation is asked): the
// plugin's plan, or,
// when the run applies a saved plan, what that plan planned for the step.
// The plan is recorded like a dry-run's. A plan that fails fails the step,
// as it does in a dry-run; a read-only action is not planned.
func (st *stepRun) preview(ctx context.Context, args cty.Value) (StepResult, bool) {
	a := st.s.Action
	if a.Schema.IsReadOnly(args) {
		return StepResult{}, true
	}
	ev := Planned{StepRef: st.ref, Action: a.FullName()}
	if st.c.apply != nil {
		ps, ok := st.planStep()
		if !ok {
			// action refuses the step, saying why.
			return StepResult{}, true
		}
		ev.Changes = ps.Changes
	} else {
		p := st.plugins[a.Plugin]
		if p == nil {
			return st.fail(StatusFailed, "plugin %q is not running", a.Plugin), false
		}
		unmarked, _ := args.UnmarkDeep()
		pctx, cancel := context.WithTimeout(ctx, st.s.Timeout)
		pctx, span := st.startCallSpan(pctx, "plan", false)
		res, err := p.Plan(pctx, &plugins.ActionRequest{Action: a.Name, Args: unmarked, RunID: st.c.runID, Operator: st.c.operator})
		st.endCallSpan(span, errText(st.mask, err))
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return StepResult{Name: st.s.Name, Status: StatusInterrupted}, false
			}
			// As in a dry-run: the whole error (a crash's stderr) recorded,
			// its first line the step's reason.
			full := st.mask.String(st.locate(err).Error())
			if strings.Contains(full, "\n") && !st.emit(Planned{StepRef: st.ref, Action: a.FullName(), Error: full}) {
				return st.fail(StatusFailed, "%s", st.hookErr), false
			}
			when := "before it runs"
			if st.s.Confirm != nil {
				when = "before asking to confirm it"
			}
			return st.fail(StatusFailed, "planning %s %s: %s", a.FullName(), when, oneLine(full)), false
		}
		ev.Changes = make([]string, len(res.Changes))
		for i, c := range res.Changes {
			ev.Changes[i] = st.mask.String(c)
		}
		if out, err := conform(res.Output, a.Schema.Output); err == nil && res.Output != cty.NilVal {
			ev.Output = export(out, st.mask)
		}
	}
	if !st.emit(ev) {
		return st.fail(StatusFailed, "%s", st.hookErr), false
	}
	st.changes = ev.Changes
	return StepResult{}, true
}

// resumed handles a step the run being resumed already took: a step that
// succeeded is not taken again — its recorded output is reused — unless its
// action is read-only, which runs again to refresh what later steps see; a
// step whose result was never recorded runs again only if a person agrees.
func (st *stepRun) resumed(ctx context.Context) (StepResult, bool) {
	rs := st.c.resume
	if rs == nil {
		return StepResult{}, false
	}
	prev, ok := rs.Steps[st.s.Name]
	if !ok {
		return StepResult{}, false
	}
	switch prev.Status {
	case StatusSucceeded:
		if st.s.Action != nil && st.s.Action.Schema != nil {
			if args, err := st.args(); err == nil && st.s.Action.Schema.IsReadOnly(args) {
				return StepResult{}, false
			}
		}
		out, err := fromJSON(prev.Output, schema.StepOutputType(st.s))
		if err != nil || len(prev.Output) == 0 {
			return st.fail(StatusFailed, "the output run %s recorded for step %q cannot be reused: %v", rs.RunID, st.s.Name, err), true
		}
		return StepResult{Name: st.s.Name, Status: StatusSucceeded, Reason: "done in run " + rs.RunID, Output: out}, true
	case unknownStatus:
		q := fmt.Sprintf("Step %q started in run %s, but its result was never recorded: it may have run. Run it again?", st.s.Name, rs.RunID)
		if res, ok := st.confirm(ctx, q); !ok {
			return res, true
		}
	}
	return StepResult{}, false
}

// fromJSON decodes a recorded value into ty; parts of dynamic type take the
// type the JSON implies.
func fromJSON(raw []byte, ty cty.Type) (cty.Value, error) {
	if !ty.HasDynamicTypes() {
		return ctyjson.Unmarshal(raw, ty)
	}
	implied, err := ctyjson.ImpliedType(raw)
	if err != nil {
		return cty.NilVal, err
	}
	v, err := ctyjson.Unmarshal(raw, implied)
	if err != nil {
		return cty.NilVal, err
	}
	return convert.Convert(v, ty)
}

// unknownStatus is the recorded status of a step that started and never
// finished (docs/execution.md, "Resume").
const unknownStatus = "unknown"

// confirm asks a question; ok is false when the step must stop.
func (st *stepRun) confirm(ctx context.Context, question string) (StepResult, bool) {
	ev := ConfirmationAnswered{StepRef: st.ref, Question: question}
	switch {
	case st.c.dryRun:
		ev.Answer = "not asked"
	case st.c.yes:
		ev.Answer, ev.By = "yes", "--yes"
	case st.c.prompter == nil:
		ev.Answer = "refused"
		st.emit(ev)
		return st.fail(StatusDeclined, "%s", ErrNoOperator), false
	default:
		var yes bool
		var err error
		if sp, ok := st.c.prompter.(StepPrompter); ok {
			yes, err = sp.ConfirmStep(ctx, st.s.Name, question)
		} else {
			yes, err = st.c.prompter.Confirm(ctx, question)
		}
		if err != nil {
			if ctx.Err() != nil {
				return StepResult{Name: st.s.Name, Status: StatusInterrupted}, false
			}
			return st.fail(StatusFailed, "asking for confirmation: %s", err), false
		}
		ev.Answer, ev.By = "no", st.c.operator
		if yes {
			ev.Answer = "yes"
		}
	}
	if !st.emit(ev) {
		return st.fail(StatusFailed, "%s", st.hookErr), false
	}
	if ev.Answer == "no" {
		return st.fail(StatusDeclined, "%s declined: %s", st.c.operator, question), false
	}
	return StepResult{}, true
}

// manual shows a person's instructions and waits for them to confirm.
func (st *stepRun) manual(ctx context.Context) StepResult {
	text, err := st.text(st.s.Manual, nil)
	if err != nil {
		return st.fail(StatusFailed, "manual: %s", err)
	}
	if res, ok := st.confirm(ctx, text); !ok {
		return res
	}
	out := cty.UnknownVal(schema.ManualOutputType)
	status := StatusPlanned
	if st.c.dryRun {
		// What the person does is not done in a rehearsal, and no plugin
		// can predict it.
		st.planned, st.unpredicted = true, true
	} else {
		by := st.c.operator
		if st.c.yes {
			by = st.c.operator + " (--yes)"
		}
		out = cty.ObjectVal(map[string]cty.Value{
			"confirmed_by": cty.StringVal(by),
			"confirmed_at": cty.StringVal(st.c.clock.Now().UTC().Format(time.RFC3339)),
		})
		status = StatusSucceeded
		// A person did something: its record is made durable with the
		// step's end, as a mutating action's is.
		st.changed = true
	}
	return st.expect(out, status)
}

// args evaluates the action block against the action's schema.
func (st *stepRun) args() (cty.Value, error) {
	a := st.s.Action
	if a.Schema == nil {
		return cty.NilVal, fmt.Errorf("plugin %q has no action %q", a.Plugin, a.Name)
	}
	content, diags := a.Body.Content(schema.AttributesBodySchema(a.Schema.Args))
	if diags.HasErrors() {
		return cty.NilVal, errors.New(diags.Error())
	}
	// Relative paths in action arguments are relative to where the operator
	// runs runbook, like any path typed on a command line; plugin blocks
	// resolve theirs against their file's folder instead.
	exprs := make([]hcl.Expression, 0, len(content.Attributes))
	for _, attr := range content.Attributes {
		exprs = append(exprs, attr.Expr)
	}
	ctx := st.evalCtx(nil, exprs...)
	args, err := evalAttributes(ctx, a.Schema.Args, content.Attributes, ".", a.FullName())
	if err == nil {
		st.remember(args)
		for _, attr := range content.Attributes {
			st.rememberParts(ctx, attr.Expr)
		}
	}
	return args, err
}

// rememberParts makes the masker hide the value of every part of expr
// that is computed from a sensitive value: `"pin=${var.pin + 1}"` hands a
// command a value that is neither the secret nor the whole argument.
// (What functions compute is reported by the functions themselves.)
func (st *stepRun) rememberParts(ctx *hcl.EvalContext, expr hcl.Expression) {
	node, ok := expr.(hclsyntax.Node)
	if !ok {
		return
	}
	_ = hclsyntax.VisitAll(node, func(n hclsyntax.Node) hcl.Diagnostics {
		e, ok := n.(hclsyntax.Expression)
		if !ok {
			return nil
		}
		switch e.(type) {
		case *hclsyntax.ScopeTraversalExpr, *hclsyntax.LiteralValueExpr, *hclsyntax.TemplateExpr, *hclsyntax.FunctionCallExpr:
			// A variable, a literal, a whole template (the argument), a
			// function: already known.
			return nil
		}
		if v, diags := e.Value(ctx); !diags.HasErrors() && v.ContainsMarked() && v.IsWhollyKnown() {
			for _, s := range secretsOf(v, true) {
				if s != "true" && s != "false" {
					st.mask.Add(s)
				}
			}
		}
		return nil
	})
}

// action runs the step's action with args, evaluated here when they were
// not already (cty.NilVal).
func (st *stepRun) action(ctx context.Context, args cty.Value) StepResult {
	a := st.s.Action
	if args == cty.NilVal {
		var err error
		if args, err = st.args(); err != nil {
			return st.fail(StatusFailed, "%s", err)
		}
	}
	p := st.plugins[a.Plugin]
	if p == nil {
		return st.fail(StatusFailed, "plugin %q is not running", a.Plugin)
	}
	readOnly := a.Schema.IsReadOnly(args)

	if st.c.dryRun && !readOnly {
		return st.plan(ctx, p, args)
	}
	if st.c.apply != nil && !readOnly {
		ps, ok := st.planStep()
		if !ok {
			return st.fail(StatusFailed, "the plan being applied did not plan step %q (%s): it runs only what was reviewed; make a new plan", st.s.Name, a.FullName())
		}
		st.basis = ps.Basis
	}
	if st.c.dryRun && !args.IsWhollyKnown() {
		// A read-only action whose arguments depend on a planned step
		// cannot run yet.
		return StepResult{Name: st.s.Name, Status: StatusPending, Reason: "arguments known only after earlier steps run", Output: cty.UnknownVal(a.Schema.Output)}
	}
	out, err := st.apply(ctx, p, args, readOnly)
	if err != nil {
		return st.fail(StatusFailed, "%s", oneLine(err.Error()))
	}
	if st.c.dryRun && st.readsUnpredicted() {
		st.stale[st.s.Name] = true
		st.outputStale = true
		defer func() { st.outputStale = false }()
	}
	return st.expectPolling(ctx, p, args, readOnly, out)
}

func (st *stepRun) plan(ctx context.Context, p plugins.Plugin, args cty.Value) StepResult {
	a := st.s.Action
	unmarked, _ := args.UnmarkDeep()
	pctx, cancel := context.WithTimeout(ctx, st.s.Timeout)
	defer cancel()
	pctx, span := st.startCallSpan(pctx, "plan", false)
	res, err := p.Plan(pctx, &plugins.ActionRequest{Action: a.Name, Args: unmarked, RunID: st.c.runID, Operator: st.c.operator, Planned: st.plannedState()})
	st.endCallSpan(span, errText(st.mask, err))
	if err != nil {
		full := st.mask.String(st.locate(err).Error())
		if strings.Contains(full, "\n") && !st.emit(Planned{StepRef: st.ref, Action: a.FullName(), Error: full}) {
			return st.fail(StatusFailed, "%s", st.hookErr)
		}
		return st.fail(StatusFailed, "planning %s: %s", a.FullName(), oneLine(full))
	}
	if len(res.Planned) > maxPlannedState {
		return st.fail(StatusFailed, "planning %s: the plugin's planned state is %d bytes, more than the %d a plan may carry", a.FullName(), len(res.Planned), maxPlannedState)
	}
	out := res.Output
	if out == cty.NilVal {
		out = cty.UnknownVal(a.Schema.Output)
	}
	out, err = conform(out, a.Schema.Output)
	if err != nil {
		return st.fail(StatusFailed, "%s planned an output that does not match its schema: %s", a.FullName(), err)
	}
	changes := make([]string, len(res.Changes))
	for i, c := range res.Changes {
		changes[i] = st.mask.String(c)
	}
	if !st.emit(Planned{StepRef: st.ref, Action: a.FullName(), Changes: changes, Output: export(out, st.mask)}) {
		return st.fail(StatusFailed, "%s", st.hookErr)
	}
	st.saved = append(st.saved, PlanStep{Index: st.ref.Index, Step: st.s.Name, Action: a.FullName(), Changes: changes, Basis: res.Basis})
	switch {
	case !st.predicts():
		st.planned, st.unpredicted = true, true
	case res.Planned != nil:
		// The plugin answers its later requests from its planned state.
		st.predicted[a.Plugin] = res.Planned
		st.planned = true
	case len(res.Changes) > 0:
		// A change the plugin could not predict (its target is known only
		// once earlier steps run).
		st.planned, st.unpredicted = true, true
	}
	// A plan of a predicting plugin that changes nothing leaves the state
	// as the real run will find it.
	return st.expect(out, StatusPlanned)
}

// maxPlannedState bounds the planned state a plugin may hand back.
const maxPlannedState = 1 << 20

// predicts reports whether the step's plugin answers from planned state.
func (st *stepRun) predicts() bool {
	s := st.cfg.Schemas[st.s.Action.Plugin]
	return s != nil && s.Predicts
}

// plannedState is what the step's plugin gets as ActionRequest.Planned: its
// planned state in a dry-run, nothing in a real run.
func (st *stepRun) plannedState() []byte {
	if !st.c.dryRun || !st.predicts() {
		return nil
	}
	return st.predicted[st.s.Action.Plugin]
}

// readsUnpredicted reports whether what the step's read-only action read may
// differ from what the real run will read: a change was planned that its
// plugin does not account for.
func (st *stepRun) readsUnpredicted() bool {
	return st.unpredicted || (st.planned && !st.predicts())
}

// apply runs the action with the step's timeout, retrying as configured.
func (st *stepRun) apply(ctx context.Context, p plugins.Plugin, args cty.Value, readOnly bool) (cty.Value, error) {
	unmarked, _ := args.UnmarkDeep()
	attempts, delay := 1, time.Duration(0)
	if st.s.Retry != nil {
		attempts, delay = st.s.Retry.Attempts, st.s.Retry.Delay
	}
	var lastErr error
	for try := 1; try <= attempts; try++ {
		out, failed, stop := st.tryAction(ctx, p, unmarked, readOnly)
		if stop != nil {
			return cty.NilVal, stop
		}
		if failed == nil {
			return out, nil
		}
		lastErr = failed
		if ctx.Err() != nil {
			return cty.NilVal, errInterrupted
		}
		if try < attempts && delay > 0 {
			if err := st.c.clock.Sleep(ctx, delay); err != nil {
				return cty.NilVal, err
			}
		}
	}
	if attempts > 1 {
		return cty.NilVal, fmt.Errorf("after %d attempts: %w", attempts, lastErr)
	}
	return cty.NilVal, lastErr
}

// tryAction is one attempt of the step's action, recorded as an
// ActionFinished event. It returns the action's output, or in failed the
// attempt's error as recorded (masked, located); stop is an error that ends
// the step at once, without a retry (a hook failed, or the lock was lost).
func (st *stepRun) tryAction(ctx context.Context, p plugins.Plugin, args cty.Value, readOnly bool) (out cty.Value, failed, stop error) {
	a := st.s.Action
	st.attempt++
	if !readOnly {
		// The step's record so far (started, checked, confirmed, earlier
		// attempts) is on disk before the action changes anything.
		if !st.flush() {
			return cty.NilVal, nil, st.hookErr
		}
		st.changed = true
		if err := st.checkLock(); err != nil {
			return cty.NilVal, nil, err
		}
	}
	began := st.c.clock.Now()
	actx, cancel := context.WithTimeout(ctx, st.s.Timeout)
	// Lines are masked as one text: a secret may be wrapped over several.
	progress := st.mask.Lines(func(line string) {
		st.emit(Progress{StepRef: st.ref, Line: line})
	}, "stderr: ")
	actx, span := st.startCallSpan(actx, "apply", readOnly)
	res, err := p.Apply(actx, &plugins.ActionRequest{
		Action: a.Name, Args: args, RunID: st.c.runID, Operator: st.c.operator, Planned: st.plannedState(),
		Basis: st.basis, Progress: progress.Line,
	})
	progress.Flush()
	timedOut := actx.Err() == context.DeadlineExceeded && ctx.Err() == nil
	cancel()
	d := st.c.clock.Now().Sub(began)
	ev := ActionFinished{StepRef: st.ref, Action: a.FullName(), Attempt: st.attempt, Duration: Duration(d), ReadOnly: readOnly}
	if err == nil {
		out, err = conform(res.Output, a.Schema.Output)
		if err != nil {
			err = fmt.Errorf("%s returned an output that does not match its schema: %w", a.FullName(), err)
		}
	}
	switch {
	case timedOut:
		err = fmt.Errorf("%s timed out after %s", a.FullName(), st.s.Timeout)
	case err != nil && ctx.Err() != nil:
		err = errInterrupted
	}
	if err != nil {
		ev.Error = st.mask.String(st.locate(err).Error())
	} else {
		ev.Output = export(out, st.mask)
		ev.Predicted = res.Predicted && st.c.dryRun
	}
	st.endCallSpan(span, ev.Error)
	if !st.emit(ev) {
		return cty.NilVal, nil, st.hookErr
	}
	if err != nil {
		return cty.NilVal, errors.New(ev.Error), nil
	}
	return out, nil, nil
}

// expectPolling evaluates the step's expectations and, while some fail
// that have `within` (on a read-only action), re-runs the action every
// `every` until they hold or time runs out.
func (st *stepRun) expectPolling(ctx context.Context, p plugins.Plugin, args cty.Value, readOnly bool, out cty.Value) StepResult {
	deadline := st.expectDeadline()
	for check := 1; ; check++ {
		results, failed, pollable, every, res := st.evalExpects(out, check)
		if res != nil {
			return *res
		}
		if len(failed) == 0 {
			return st.expectsMet(results, out)
		}
		now := st.c.clock.Now()
		canPoll := pollable && readOnly && !st.c.dryRun && now.Before(deadline)
		wait := min(every, deadline.Sub(now))
		for _, r := range results {
			if r.Result == "failed" && canPoll {
				r.Result = "waiting"
				r.NextIn = wait
				r.Checks = check + 1
				if every > 0 {
					r.Checks = check + int((deadline.Sub(now)+every-1)/every)
				}
			}
			if st.c.dryRun && r.Result == "failed" && pollable {
				// A rehearsal does not wait: the real run would.
				r.Result = StatusPending
				r.Message = "not yet; a real run waits for it"
			}
			if !st.emit(*r) {
				return st.fail(StatusFailed, "%s", st.hookErr)
			}
		}
		if st.c.dryRun && pollable {
			return StepResult{Name: st.s.Name, Status: StatusSucceeded, Output: out}
		}
		if !canPoll {
			return StepResult{Name: st.s.Name, Status: StatusFailed, Reason: st.mask.String("expectation failed: " + failed[0]), Output: out, At: st.failedAt}
		}
		if err := st.c.clock.Sleep(ctx, wait); err != nil {
			return StepResult{Name: st.s.Name, Status: StatusInterrupted, Output: out}
		}
		next, err := st.apply(ctx, p, args, readOnly)
		if err != nil {
			if ctx.Err() != nil {
				return StepResult{Name: st.s.Name, Status: StatusInterrupted, Output: out}
			}
			return st.fail(StatusFailed, "%s", oneLine(err.Error()))
		}
		out = next
	}
}

// expectDeadline is when the longest `within` of the step's expectations
// runs out, from now; zero when none waits.
func (st *stepRun) expectDeadline() time.Time {
	var deadline time.Time
	for _, e := range st.s.Expects {
		if e.Within > 0 {
			if d := st.c.clock.Now().Add(e.Within); d.After(deadline) {
				deadline = d
			}
		}
	}
	return deadline
}

// expectsMet records the checks of expectations that all held: the step
// succeeded, or is pending when a check could not be decided yet.
func (st *stepRun) expectsMet(results []*ExpectationChecked, out cty.Value) StepResult {
	status := StatusSucceeded
	for _, r := range results {
		if !st.emit(*r) {
			return st.fail(StatusFailed, "%s", st.hookErr)
		}
		if r.Result == StatusPending {
			status = StatusPending
		}
	}
	return StepResult{Name: st.s.Name, Status: status, Output: out}
}

// expect evaluates expectations once (manual steps and plans).
func (st *stepRun) expect(out cty.Value, status string) StepResult {
	results, failed, _, _, res := st.evalExpects(out, 1)
	if res != nil {
		return *res
	}
	for _, r := range results {
		if !st.emit(*r) {
			return st.fail(StatusFailed, "%s", st.hookErr)
		}
	}
	if len(failed) > 0 {
		return StepResult{Name: st.s.Name, Status: StatusFailed, Reason: st.mask.String("expectation failed: " + failed[0]), Output: out, At: st.failedAt}
	}
	return StepResult{Name: st.s.Name, Status: status, Output: out}
}

// evalExpects evaluates every expect block against out. failed holds the
// messages of those that do not hold; pollable is true when every failing
// one has `within`; every is the shortest polling interval among them.
func (st *stepRun) evalExpects(out cty.Value, check int) (results []*ExpectationChecked, failed []string, pollable bool, every time.Duration, res *StepResult) {
	extra := map[string]cty.Value{"output": out}
	pollable = true
	for _, e := range st.s.Expects {
		result, msg, err := st.condition(&e.Check, extra)
		if err != nil {
			r := st.fail(StatusFailed, "expect: %s", err)
			r.Output = out
			return nil, nil, false, 0, &r
		}
		results = append(results, &ExpectationChecked{StepRef: st.ref, Condition: st.cfg.Source(e.Condition.Range()), Result: result, Message: msg, Check: check})
		if result == "failed" {
			if len(failed) == 0 {
				st.failedAt = e.Condition.Range()
			}
			failed = append(failed, msg)
			if e.Within == 0 {
				pollable = false
			} else if every == 0 || e.Every < every {
				every = e.Every
			}
		}
	}
	return results, failed, pollable, every, nil
}

// conform converts a plugin's output to the action's declared output type.
func conform(v cty.Value, ty cty.Type) (cty.Value, error) {
	if v == cty.NilVal {
		return cty.NullVal(ty), nil
	}
	return convert.Convert(v, ty)
}

// locate points a plugin error about one argument at that argument's place
// in the runbook: "runbooks/x.hcl:12,7: name: no prompt named …", and one
// about a configuration attribute at its place in the plugin block.
func (st *stepRun) locate(err error) error {
	pe, attr, ok := errorAttribute(err)
	if !ok {
		return err
	}
	if pe.Config {
		return locateConfig(st.cfg, st.s.Action.Plugin, err)
	}
	attrs, _ := st.s.Action.Body.JustAttributes()
	if a, ok := attrs[attr]; ok {
		return fmt.Errorf("%s: argument %s: %w", a.Expr.Range(), attr, err)
	}
	return fmt.Errorf("argument %s: %w", attr, err)
}

// errorAttribute finds the plugin error in err and the attribute its path
// starts at; ok is false when there is none.
func errorAttribute(err error) (pe *plugins.Error, attr string, ok bool) {
	if !errors.As(err, &pe) || len(pe.Path) == 0 {
		return nil, "", false
	}
	step, ok := pe.Path[0].(cty.GetAttrStep)
	if !ok {
		return nil, "", false
	}
	return pe, step.Name, true
}

// locateConfig points a plugin error about a configuration attribute at its
// place in the plugin block: "runbooks/plugins.hcl:3,9: plugin "litellm"
// attribute api_key: …", or at the block when the attribute is not set
// there (a default).
func locateConfig(cfg *schema.Config, plugin string, err error) error {
	_, attr, ok := errorAttribute(err)
	if !ok {
		return err
	}
	decl := cfg.Plugins[plugin]
	if decl == nil {
		return fmt.Errorf("plugin %q attribute %s: %w", plugin, attr, err)
	}
	if s := cfg.Schemas[plugin]; s != nil {
		content, _ := decl.Config.Content(schema.AttributesBodySchema(s.Config))
		if a, ok := content.Attributes[attr]; ok {
			return fmt.Errorf("%s: plugin %q attribute %s: %w", a.Expr.Range(), plugin, attr, err)
		}
	}
	return fmt.Errorf("%s: plugin %q attribute %s: %w", decl.DeclRange, plugin, attr, err)
}
