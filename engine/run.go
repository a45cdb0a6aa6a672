package engine

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"go.opentelemetry.io/otel/trace"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/runbookdev/runbook/engine/lock"
	"github.com/runbookdev/runbook/engine/redact"
	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/safefile"
	"github.com/runbookdev/runbook/schema"

	"github.com/runbookdev/runbook/engine/exitcode"
)

// Result is how a run ended.
type Result struct {
	RunID string
	// Status is succeeded, failed, blocked (a precondition stopped it),
	// declined (a confirmation was declined or refused) or interrupted.
	Status   string
	ExitCode int
	// Reason says why a run that did not succeed stopped.
	Reason string
	Steps  []StepResult
	// Plan is, for a dry-run, the plan to save (--out); nil for a real run.
	Plan *SavedPlan
}

// StepResult is how one step ended.
type StepResult struct {
	Name   string
	Status string
	Reason string
	Output cty.Value
	// At locates the precondition or expectation that stopped the step.
	At hcl.Range
}

// NewRunID returns a sortable, unique run id: UTC time plus randomness.
func NewRunID(now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format(runIDTime) + "-" + hex.EncodeToString(b[:])
}

// runIDTime is the layout of the time a run id starts with.
const runIDTime = "20060102T150405Z"

// ValidRunID reports whether id has the shape NewRunID gives: a UTC time
// to the second, a hyphen and six lowercase hex digits.
func ValidRunID(id string) bool {
	stamp, suffix, ok := strings.Cut(id, "-")
	if !ok || len(stamp) != len(runIDTime) || len(suffix) != 6 {
		return false
	}
	if _, err := time.Parse(runIDTime, stamp); err != nil {
		return false
	}
	for _, r := range suffix {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') {
			return false
		}
	}
	return true
}

// Run executes rb, or rehearses it with WithDryRun. It returns an error
// only when the run could not start (bad variables: *InputError, exit 2; the
// lock is held: *lock.HeldError, exit 3); once started, the Result says how
// it ended.
func Run(ctx context.Context, cfg *schema.Config, rb *schema.Runbook, opts ...Option) (*Result, error) {
	c := newConfig(cfg, opts)
	if c.apply != nil {
		if c.dryRun || c.resume != nil {
			return nil, inputErrorf("a saved plan is applied by a real run that resumes nothing")
		}
		if err := checkPlan(cfg, rb, c); err != nil {
			return nil, err
		}
	}
	if err := checkAgent(c); err != nil {
		return nil, err
	}
	if err := checkApprovals(cfg, rb, c); err != nil {
		return nil, err
	}
	vars, err := resolveVars(ctx, rb, c)
	if err != nil {
		return nil, err
	}
	r := newRunner(cfg, rb, c, vars)
	if c.apply != nil {
		if err := r.checkPlanVars(); err != nil {
			return nil, err
		}
	}
	lockName, err := r.lockName()
	if err != nil {
		return nil, err
	}
	if !c.dryRun && c.locker != nil {
		lease, err := c.locker.Acquire(ctx, lockName, lock.Holder{
			RunID: c.runID, Operator: c.operator, PID: os.Getpid(), Since: r.started,
		}, c.lockWait)
		if err != nil {
			return nil, err
		}
		defer lease.Release()
		if l, ok := lease.(lock.Losable); ok {
			r.lockLost, r.held = l.Lost(), lockName
		}
	}
	res := r.run(ctx, lockName)
	r.endRunSpan(res)
	return res, nil
}

// newConfig applies opts over the defaults: the operator, a new run id,
// nobody asked in a rehearsal.
func newConfig(cfg *schema.Config, opts []Option) *config {
	c := &config{clock: realClock{}}
	for _, o := range opts {
		o(c)
	}
	if c.agent != "" {
		// An agent's run is the agent's, unverified, and asks nobody at
		// a terminal.
		c.operator = AgentPrefix + c.agent
		c.prompter = nil
	}
	if c.operator == "" {
		c.operator = defaultOperator()
	}
	if c.runID == "" {
		c.runID = NewRunID(c.clock.Now())
	}
	if c.dryRun {
		// Nothing is asked in a rehearsal.
		c.prompter = nil
	}
	c.pluginInfo = reportedVersions(cfg, c.pluginInfo)
	return c
}

// newRunner prepares a run of rb with its resolved variables: its masker
// knows every sensitive variable's secrets, what functions compute from
// them, and the plugins' sensitive configuration.
func newRunner(cfg *schema.Config, rb *schema.Runbook, c *config, vars cty.Value) *runner {
	m := redact.New()
	for _, v := range rb.Variables {
		if v.Sensitive {
			for _, s := range secretsOf(vars.GetAttr(v.Name), true) {
				m.Add(s)
			}
		}
	}

	r := &runner{
		cfg: cfg, rb: rb, c: c, vars: vars, mask: m,
		outputs:   map[string]cty.Value{},
		stale:     map[string]bool{},
		predicted: map[string][]byte{},
		started:   c.clock.Now(),
	}
	// What a function computes from a secret (upper(var.token)) is masked
	// too, wherever a plugin or a command repeats it; but not a bool
	// spelled out (tostring(strcontains(…))), or every "true" and "false"
	// in the run's output would be masked.
	r.functions = schema.FunctionsReporting(schema.FunctionsLive, func(v cty.Value) {
		for _, s := range secretsOf(v, false) {
			if s != "true" && s != "false" {
				m.Add(s)
			}
		}
	})
	r.rememberPluginSecrets()
	r.prepareNotify()
	return r
}

type runner struct {
	cfg  *schema.Config
	rb   *schema.Runbook
	c    *config
	vars cty.Value
	mask *redact.Masker
	// functions are the language's functions, reporting what they derive
	// from sensitive values to mask.
	functions map[string]function.Function

	plugins map[string]plugins.Plugin
	outputs map[string]cty.Value
	// changed is set once a mutating action or a manual step ran since
	// the hooks' last flush (see boundary).
	changed bool
	// lockLost is closed when the run's lock is lost (see lock.Losable);
	// nil for a lock that cannot be lost.
	lockLost <-chan struct{}
	held     string // the lock's name
	started  time.Time
	// hookErr stops the run: a hook (the transcript) could not record.
	hookErr error
	// failedHooks are the hooks (by index) that failed and get no more.
	failedHooks map[int]bool
	// planned is set once a dry-run has planned a change it did not make.
	planned bool
	// unpredicted is set once a dry-run has planned a change whose effect no
	// plugin predicts (a manual step, an action of a plugin without
	// Schema.Predicts): from then on nothing read from live state shows what
	// the real run would see.
	unpredicted bool
	// predicted holds, by plugin, the planned state its latest plan returned
	// (plugins.PlanResult.Planned), handed back in its later requests.
	predicted map[string][]byte
	// pendingChecks counts the dry-run's checks that could not be judged.
	pendingChecks int
	// saved collects, in a dry-run, the mutating steps planned, with the
	// basis each was planned against.
	saved []PlanStep
	// runSpan and stepSpan are the spans of the run and of the step
	// running (trace.go); stepSpan is nil between steps.
	runSpan, stepSpan trace.Span
	// recordedVars are the variables as run_started records them
	// (sensitive ones masked), which approval requests digest.
	recordedVars map[string]any
	// info is the plugins' identity, as run_started records it.
	info map[string]PluginInfo
	// ctx is what expressions see, built once per step's outputs (nil:
	// to be built again).
	ctx *hcl.EvalContext
	// stale names the steps whose outputs were read from live state after
	// a planned change: they do not show what the real run would see.
	stale map[string]bool
	// outputStale is set while the current step's own output is stale.
	outputStale bool
}

// readsStaleState reports whether an expression uses an output read from
// live state after a change that was only planned.
func (r *runner) readsStaleState(expr hcl.Expression, extra map[string]cty.Value) bool {
	for _, t := range expr.Variables() {
		switch t.RootName() {
		case "output":
			if _, ok := extra["output"]; ok && r.outputStale {
				return true
			}
		case "step":
			if len(t) > 1 {
				if a, ok := t[1].(hcl.TraverseAttr); ok && r.stale[a.Name] {
					return true
				}
			}
		}
	}
	return false
}

func (r *runner) mode() string {
	if r.c.dryRun {
		return ModeDryRun
	}
	return ModeRun
}

// emit hands an event to every hook; the first error stops the run.
//
// A hook that failed gets nothing more, but the others (the terminal) still
// hear how the run ends, so the operator sees why it stopped.
func (r *runner) emit(e Event) bool {
	if r.c.dryRun {
		r.summarize(e)
	}
	r.spanEvent(e)
	for i, h := range r.c.hooks {
		if r.failedHooks[i] {
			continue
		}
		if err := h.Handle(e); err != nil {
			r.hookFailed(i, fmt.Errorf("recording %s: %w", e.Type(), err))
		}
	}
	if r.c.live {
		return r.flush()
	}
	return r.hookErr == nil
}

// planSummary is what the dry-run planned, change by change, and how many
// checks it could not judge.
func (r *runner) planSummary() *PlanSummary {
	sum := &PlanSummary{Changes: []PlannedChange{}, PendingChecks: r.pendingChecks}
	for _, s := range r.saved {
		for _, c := range s.Changes {
			sum.Changes = append(sum.Changes, PlannedChange{Step: s.Step, Action: s.Action, Change: c})
		}
	}
	return sum
}

// summarize counts a dry-run's checks that could not be judged.
func (r *runner) summarize(e Event) {
	switch e := e.(type) {
	case PreconditionChecked:
		if e.Result == StatusPending {
			r.pendingChecks++
		}
	case ExpectationChecked:
		if e.Result == StatusPending {
			r.pendingChecks++
		}
	}
}

// hookFailed takes hook i out of the run; its first error stops the run.
func (r *runner) hookFailed(i int, err error) {
	if r.failedHooks == nil {
		r.failedHooks = map[int]bool{}
	}
	r.failedHooks[i] = true
	if r.hookErr == nil {
		r.hookErr = err
	}
}

// checkLock says whether the run still holds its lock: once a lock is
// lost, another run may hold it, and nothing more may change.
func (r *runner) checkLock() error {
	if r.lockLost == nil {
		return nil
	}
	select {
	case <-r.lockLost:
		return fmt.Errorf("lost the lock %q (its lease expired or was revoked): another run may hold it now, so this one stops", r.held)
	default:
		return nil
	}
}

// flush makes what the hooks recorded so far durable (see Flusher); the
// first error stops the run as one from emit does.
func (r *runner) flush() bool {
	for i, h := range r.c.hooks {
		f, ok := h.(Flusher)
		if !ok || r.failedHooks[i] {
			continue
		}
		if err := f.Flush(); err != nil {
			r.hookFailed(i, fmt.Errorf("recording: %w", err))
		}
	}
	return r.hookErr == nil
}

// boundary is a step boundary (the run's start, a step's end). What the
// hooks recorded is made durable before anything changes (st.apply flushes
// before every mutating action), after anything changed (here, once a step
// that ran a mutating action or a manual step ends) and when the run ends
// (finish): a step that only read waits for no disk flush, and neither
// does a dry-run, which changes nothing. It reports whether the hooks
// still work.
func (r *runner) boundary() bool {
	if r.c.dryRun || !r.changed {
		return r.hookErr == nil
	}
	r.changed = false
	return r.flush()
}

// lockName evaluates the runbook's lock. A sensitive part of it (lock =
// "tenant/${var.token}") is replaced by a digest of its value, so that the
// name, which is recorded, shown to whoever finds the lock held and used to
// name the lock's file, holds no secret, while two runs with the same value
// still share the lock.
func (r *runner) lockName() (string, error) {
	if r.rb.Lock == nil {
		return r.rb.Name, nil
	}
	ctx := r.evalCtx(nil, r.rb.Lock)
	val, diags := r.rb.Lock.Value(ctx)
	if diags.HasErrors() {
		return "", inputErrorf("lock: %s", diags.Error())
	}
	name, ok := lockString(val)
	if ok && val.ContainsMarked() {
		name = ""
		parts := templateParts(r.rb.Lock)
		if parts == nil {
			name = lockDigest(val)
		}
		for _, part := range parts {
			v, _ := part.Value(ctx)
			if s, isString := lockString(v); isString && !v.ContainsMarked() {
				name += s
			} else {
				name += lockDigest(v)
			}
		}
	}
	if !ok || name == "" {
		return "", inputErrorf("lock at %s must be a non-empty string", r.rb.Lock.Range())
	}
	return name, nil
}

// lockString converts a lock's value (or a part of it) to a string.
func lockString(v cty.Value) (string, bool) {
	v, _ = v.UnmarkDeep()
	v, err := convert.Convert(v, cty.String)
	if err != nil || v.IsNull() || !v.IsKnown() {
		return "", false
	}
	return v.AsString(), true
}

// lockDigest stands for a sensitive part of a lock's name.
func lockDigest(v cty.Value) string {
	s, _ := lockString(v)
	sum := sha256.Sum256([]byte(s))
	return "sha256-" + hex.EncodeToString(sum[:8])
}

// evalCtx is the context exprs are evaluated in: var, run, extra, and of
// step only the outputs of the steps that exprs reference. Building step
// from every output so far would make each step cost as much as the steps
// before it, and a long runbook quadratic.
func (r *runner) evalCtx(extra map[string]cty.Value, exprs ...hcl.Expression) *hcl.EvalContext {
	if r.ctx == nil {
		r.ctx = &hcl.EvalContext{
			Variables: map[string]cty.Value{
				"var": r.vars,
				"run": cty.ObjectVal(map[string]cty.Value{
					"id":       cty.StringVal(r.c.runID),
					"operator": cty.StringVal(r.c.operator),
					"dry_run":  cty.BoolVal(r.c.dryRun),
				}),
			},
			Functions: r.functions,
		}
	}
	steps := map[string]cty.Value{}
	for _, expr := range exprs {
		if expr == nil {
			continue
		}
		for _, t := range expr.Variables() {
			if name, ok := stepName(t); ok {
				if out, ok := r.outputs[name]; ok {
					steps[name] = cty.ObjectVal(map[string]cty.Value{"output": out})
				}
			}
		}
	}
	stepObj := cty.EmptyObjectVal
	if len(steps) > 0 {
		stepObj = cty.ObjectVal(steps)
	}
	child := r.ctx.NewChild()
	child.Variables = make(map[string]cty.Value, len(extra)+1)
	maps.Copy(child.Variables, extra)
	child.Variables["step"] = stepObj
	return child
}

// stepName is NAME in a traversal step.NAME….
func stepName(t hcl.Traversal) (string, bool) {
	if t.RootName() != "step" || len(t) < 2 {
		return "", false
	}
	switch a := t[1].(type) {
	case hcl.TraverseAttr:
		return a.Name, true
	case hcl.TraverseIndex:
		if a.Key.Type() == cty.String && a.Key.IsKnown() && !a.Key.IsNull() {
			return a.Key.AsString(), true
		}
	}
	return "", false
}

// setOutput records a step's output for the steps after it.
func (r *runner) setOutput(step string, out cty.Value) { r.outputs[step] = out }

// text evaluates a string expression for people (see showText), with
// secrets masked.
func (r *runner) text(expr hcl.Expression, extra map[string]cty.Value) (string, error) {
	s, err := showText(r.evalCtx(extra, expr), expr)
	if err != nil {
		return "", err
	}
	return r.mask.String(s), nil
}

// condition evaluates a check: "passed", "failed" or "pending" (unknown
// inputs, in a dry-run), with the message when it failed.
func (r *runner) condition(check *schema.Check, extra map[string]cty.Value) (result, msg string, err error) {
	ctx := r.evalCtx(extra, check.Condition)
	val, diags := check.Condition.Value(ctx)
	if diags.HasErrors() {
		return "", "", errors.New(diags.Error())
	}
	val, _ = val.UnmarkDeep()
	if !val.IsKnown() {
		return StatusPending, "", nil
	}
	val, convErr := convert.Convert(val, cty.Bool)
	if convErr != nil || val.IsNull() {
		return "", "", fmt.Errorf("condition at %s is not a bool", check.Condition.Range())
	}
	if val.True() {
		return "passed", "", nil
	}
	msg, err = r.text(check.ErrorMessage, extra)
	if err != nil {
		msg = fmt.Sprintf("(message at %s could not be evaluated: %s)", check.ErrorMessage.Range(), err)
	}
	if r.c.dryRun && r.readsStaleState(check.Condition, extra) {
		// It compares live state read after a change that was only planned:
		// a rehearsal cannot judge it.
		return StatusPending, "after the planned changes: " + msg, nil
	}
	return "failed", msg, nil
}

func (r *runner) sourceInfo() SourceInfo {
	return SourceInfo{Path: r.rb.Filename, SHA256: SourceSHA256(r.rb.Filename)}
}

// SourceSHA256 is the hex SHA-256 of a runbook file, as transcripts record
// it ("" when it cannot be read).
func SourceSHA256(path string) string {
	b, err := safefile.ReadFile(path, schema.MaxSourceSize)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// usedPlugins lists the plugins the runbook's actions use, sorted.
func (r *runner) usedPlugins() []string { return UsedPlugins(r.rb) }

// UsedPlugins returns the names of the plugins rb's steps use, sorted: the
// plugins a run of rb starts.
func UsedPlugins(rb *schema.Runbook) []string {
	seen := map[string]bool{}
	for _, s := range rb.Steps {
		if s.Action != nil {
			seen[s.Action.Plugin] = true
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (r *runner) run(ctx context.Context, lockName string) *Result {
	res := &Result{RunID: r.c.runID}
	ctx = r.startRunSpan(ctx)
	start := r.startEvent(lockName)
	start.TraceID = r.traceID()
	signErr := r.sign(&start)
	if !r.emit(start) || !r.boundary() {
		return r.finish(res, StatusFailed, exitcode.Failed, r.hookErr.Error())
	}
	r.notifyStarted(ctx)
	if signErr != nil {
		return r.finish(res, StatusFailed, exitcode.Failed, signErr.Error())
	}

	if err := r.startPlugins(ctx); err != nil {
		if ctx.Err() != nil {
			return r.interrupted(res, "")
		}
		return r.finish(res, StatusFailed, exitcode.Failed, err.Error())
	}
	defer r.c.provider.Close()
	return r.runSteps(ctx, res, start.Steps)
}

// startEvent is the event that opens the run: what runs, by whom, with
// which plugins and variables (sensitive ones masked), and its steps. It
// keeps the plugins' information for the run.
func (r *runner) startEvent(lockName string) RunStarted {
	steps := make([]StepRef, len(r.rb.Steps))
	for i, s := range r.rb.Steps {
		steps[i] = StepRef{Index: i + 1, Name: s.Name, Owner: s.Owner}
	}
	varsOut := map[string]any{}
	for _, v := range r.rb.Variables {
		varsOut[v.Name] = export(r.vars.GetAttr(v.Name), r.mask)
	}
	info := map[string]PluginInfo{}
	for _, name := range r.usedPlugins() {
		pi := r.c.pluginInfo[name]
		// A configuration that cannot be evaluated fails the run when the
		// plugin is configured; it has no hash to record.
		pi.Config, _ = PluginConfigSHA256(r.cfg, name)
		info[name] = pi
	}
	r.info = info
	r.recordedVars = varsOut
	start := RunStarted{
		RunID: r.c.runID, Runbook: r.rb.Name, Source: r.sourceInfo(), Mode: r.mode(),
		Operator: r.c.operator, Version: r.c.version, Plugins: info, Vars: varsOut,
		Steps: steps, Started: r.started,
	}
	if !r.c.dryRun {
		start.Lock = lockName
	}
	if r.c.resume != nil {
		start.Resumes = r.c.resume.RunID
	}
	if ap := r.c.apply; ap != nil {
		start.Plan = &PlanRef{SHA256: ap.SHA256, DryRun: ap.Plan.DryRun}
	}
	return start
}

// runSteps runs the steps in order until one ends the run; steps under
// on_failure = "continue" fail without ending it, and fail it at the end.
func (r *runner) runSteps(ctx context.Context, res *Result, steps []StepRef) *Result {
	failedSteps := 0
	for i, s := range r.rb.Steps {
		ref := steps[i]
		if err := r.checkLock(); err != nil {
			return r.finish(res, StatusFailed, exitcode.Failed, fmt.Sprintf("before step %q: %s", s.Name, err))
		}
		sr := r.step(ctx, ref, s)
		res.Steps = append(res.Steps, sr)
		if r.hookErr != nil {
			return r.finish(res, StatusFailed, exitcode.Failed, r.hookErr.Error())
		}
		switch sr.Status {
		case StatusInterrupted:
			return r.interrupted(res, s.Name)
		case StatusBlocked:
			return r.finish(res, StatusBlocked, exitcode.Failed, fmt.Sprintf("step %q: %s", s.Name, sr.Reason))
		case StatusDeclined:
			return r.finish(res, StatusDeclined, exitcode.Refused, fmt.Sprintf("step %q: %s", s.Name, sr.Reason))
		case StatusFailed:
			if s.OnFailure != schema.OnFailureContinue {
				return r.finish(res, StatusFailed, exitcode.Failed, fmt.Sprintf("step %q: %s", s.Name, sr.Reason))
			}
			failedSteps++
		}
	}
	if failedSteps > 0 {
		return r.finish(res, StatusFailed, exitcode.Failed, fmt.Sprintf("%d step(s) failed under on_failure = \"continue\"", failedSteps))
	}
	return r.finish(res, StatusSucceeded, exitcode.OK, "")
}

func (r *runner) finish(res *Result, status string, code int, reason string) *Result {
	res.Status, res.ExitCode, res.Reason = status, code, r.mask.String(reason)
	d := r.c.clock.Now().Sub(r.started)
	fin := RunFinished{Status: status, ExitCode: code, Reason: res.Reason, Duration: Duration(d)}
	if r.c.dryRun {
		fin.Plan = r.planSummary()
		res.Plan = r.savedPlan()
	}
	r.notifyFinished(res)
	r.emit(fin)
	r.flush()
	if r.hookErr != nil && res.Status == StatusSucceeded {
		res.Status, res.ExitCode, res.Reason = StatusFailed, exitcode.Failed, r.hookErr.Error()
	}
	return res
}

func (r *runner) interrupted(res *Result, step string) *Result {
	res.Status, res.ExitCode, res.Reason = StatusInterrupted, exitcode.Interrupted, "interrupted"
	if step != "" {
		res.Reason = fmt.Sprintf("interrupted during step %q", step)
	}
	r.notifyInterrupted(res, step)
	d := r.c.clock.Now().Sub(r.started)
	r.emit(Interrupted{Step: step, Duration: Duration(d)})
	r.flush()
	return res
}

// reportedVersions is info with the version each external plugin reported
// (schema.Config.Versions: as it was launched for its schema, or as its
// lock file recorded it) in place of whatever the caller could say of it
// before: the transcript and saved plans name the plugin's own version.
func reportedVersions(cfg *schema.Config, info map[string]PluginInfo) map[string]PluginInfo {
	if len(cfg.Versions) == 0 {
		return info
	}
	out := make(map[string]PluginInfo, len(info))
	maps.Copy(out, info)
	for name, v := range cfg.Versions {
		if decl := cfg.Plugins[name]; !decl.External() {
			continue
		}
		pi := out[name]
		pi.Version = v
		out[name] = pi
	}
	return out
}

// startPlugins starts every plugin the runbook uses, once, and configures
// each from its plugin block.
func (r *runner) startPlugins(ctx context.Context) error {
	names := r.usedPlugins()
	if r.c.provider == nil {
		r.c.provider = InProcess{}
	}
	if len(names) == 0 {
		r.plugins = map[string]plugins.Plugin{}
		return nil
	}
	started, err := r.c.provider.Start(ctx, names)
	if err != nil {
		return fmt.Errorf("starting plugins: %w", err)
	}
	r.plugins = started
	for _, name := range names {
		p := started[name]
		if p == nil {
			return fmt.Errorf("plugin %q did not start", name)
		}
		cfgVal, err := r.pluginConfig(name)
		if err != nil {
			return err
		}
		r.remember(cfgVal)
		cfgVal, _ = cfgVal.UnmarkDeep()
		if err := p.Configure(ctx, cfgVal); err != nil {
			var pe *plugins.Error
			if errors.As(err, &pe) {
				pe.Config = true
			}
			return fmt.Errorf("configuring plugin %q: %s", name, r.mask.String(locateConfig(r.cfg, name, err).Error()))
		}
	}
	return nil
}

// rememberPluginSecrets makes the masker hide, from the start of the run,
// the values of the attributes that plugins declare sensitive: their
// configuration, and the action arguments known before any step runs
// (literals, variables). Arguments computed from step outputs are added
// when their step runs (see remember).
func (r *runner) rememberPluginSecrets() {
	for _, name := range r.usedPlugins() {
		if cfgVal, err := r.pluginConfig(name); err == nil {
			r.remember(cfgVal)
		}
	}
	for _, s := range r.rb.Steps {
		a := s.Action
		if a == nil || a.Schema == nil {
			continue
		}
		content, _ := a.Body.Content(schema.AttributesBodySchema(a.Schema.Args))
		for _, arg := range a.Schema.Args {
			attr, ok := content.Attributes[arg.Name]
			if !ok || !arg.Sensitive {
				continue
			}
			if v, diags := attr.Expr.Value(r.evalCtx(nil, attr.Expr)); !diags.HasErrors() {
				for _, secret := range secretsOf(v, true) {
					r.mask.Add(secret)
				}
			}
		}
	}
}

// remember makes the masker hide every sensitive part of v (a plugin's
// configuration or an action's arguments): what a plugin declares
// sensitive, and what was computed from a sensitive value.
func (r *runner) remember(v cty.Value) {
	if v == cty.NilVal || !v.IsKnown() || v.IsNull() {
		return
	}
	if v.IsMarked() {
		for _, s := range secretsOf(v, true) {
			r.mask.Add(s)
		}
		return
	}
	if ty := v.Type(); ty.IsCollectionType() || ty.IsObjectType() || ty.IsTupleType() {
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			r.remember(e)
		}
	}
}

// pluginConfig evaluates a plugin block against the plugin's config schema:
// defaults applied, relative paths resolved against the block's folder.
func (r *runner) pluginConfig(name string) (cty.Value, error) {
	return pluginConfig(r.cfg, name)
}

func pluginConfig(cfg *schema.Config, name string) (cty.Value, error) {
	s := cfg.Schemas[name]
	if s == nil {
		return cty.EmptyObjectVal, nil
	}
	var attrs hcl.Attributes
	dir := "."
	if decl := cfg.Plugins[name]; decl != nil {
		content, diags := decl.Config.Content(schema.AttributesBodySchema(s.Config))
		if diags.HasErrors() {
			return cty.NilVal, fmt.Errorf("plugin %q: %s", name, diags.Error())
		}
		attrs = content.Attributes
		dir = decl.Dir
	}
	ctx := &hcl.EvalContext{Functions: schema.Functions(schema.FunctionsLive)}
	return evalAttributes(ctx, s.Config, attrs, dir, fmt.Sprintf("plugin %q", name))
}

// PluginConfigSHA256 is the SHA-256 of plugin name's configuration as a run
// would give it (defaults applied, paths made absolute), without its
// secrets: a sensitive attribute, or a value marked sensitive, is hashed as
// "(sensitive)" whatever it holds (when it is set at all), so that a rotated token does not change
// it but a registry moved elsewhere does. run_started records it and
// --resume compares it.
func PluginConfigSHA256(cfg *schema.Config, name string) (string, error) {
	v, err := pluginConfig(cfg, name)
	if err != nil {
		return "", err
	}
	sensitive := map[string]bool{}
	if s := cfg.Schemas[name]; s != nil {
		for _, a := range s.Config {
			sensitive[a.Name] = a.Sensitive
		}
	}
	redacted := map[string]cty.Value{}
	for it := v.ElementIterator(); it.Next(); {
		k, av := it.Element()
		if raw, _ := av.UnmarkDeep(); !raw.IsNull() && (sensitive[k.AsString()] || av.ContainsMarked()) {
			av = cty.StringVal(redact.Marker)
		}
		redacted[k.AsString()] = av
	}
	obj := cty.EmptyObjectVal
	if len(redacted) > 0 {
		obj = cty.ObjectVal(redacted)
	}
	b, err := ctyjson.Marshal(obj, obj.Type())
	if err != nil {
		return "", fmt.Errorf("plugin %q: hash its configuration: %w", name, err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// evalAttributes builds the object a plugin receives: each attribute's
// value converted to its type, defaults for the missing ones, relative
// paths made absolute against dir. Unknown values stay unknown (dry-run).
func evalAttributes(ctx *hcl.EvalContext, schemaAttrs []*plugins.Attribute, attrs hcl.Attributes, dir, what string) (cty.Value, error) {
	vals := make(map[string]cty.Value, len(schemaAttrs))
	for _, a := range schemaAttrs {
		attr, ok := attrs[a.Name]
		if !ok {
			if a.Default != cty.NilVal {
				vals[a.Name] = a.Default
			} else {
				vals[a.Name] = cty.NullVal(a.Type)
			}
			continue
		}
		v, diags := attr.Expr.Value(ctx)
		if diags.HasErrors() {
			return cty.NilVal, fmt.Errorf("%s: %s", what, diags.Error())
		}
		v, err := convert.Convert(v, a.Type)
		if err != nil {
			return cty.NilVal, fmt.Errorf("%s: argument %q: %s", what, a.Name, err)
		}
		// The validators were checked by validate where the value was
		// known; here the rest is.
		if errs := a.Validate(v); len(errs) > 0 {
			msgs := make([]string, len(errs))
			for i, e := range errs {
				msgs[i] = e.Detail
			}
			return cty.NilVal, fmt.Errorf("%s: %s: argument %q: %s", attr.Expr.Range(), what, a.Name, strings.Join(msgs, " "))
		}
		if a.Sensitive {
			v = v.Mark(SensitiveMark)
		}
		if a.Path && v.Type() == cty.String && v.IsKnown() && !v.IsNull() {
			p, marks := v.Unmark()
			if s := p.AsString(); s != "" && !filepath.IsAbs(s) {
				abs, err := filepath.Abs(filepath.Join(dir, s))
				if err == nil {
					v = cty.StringVal(abs).WithMarks(marks)
				}
			}
		}
		vals[a.Name] = v
	}
	if len(vals) == 0 {
		return cty.EmptyObjectVal, nil
	}
	return cty.ObjectVal(vals), nil
}

// oneLine shortens an error for a status line.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " …"
	}
	return s
}
