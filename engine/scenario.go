package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/schema"
)

// StatusInvalid is what a test expects when the run must refuse to start
// because of its inputs (a variable's validation fails).
const StatusInvalid = "invalid"

// TestResult is how one `test` block ran.
type TestResult struct {
	Test    *schema.TestCase
	Passed  bool
	Elapsed time.Duration
	// Failures say what differed from the test's expectations, the first
	// difference first.
	Failures []string
	// Run is the run's result (nil when it could not start).
	Run *Result
	// Calls counts the calls of each mocked action.
	Calls map[string]int
}

// RunTest runs one test scenario: the runbook it names, with its variables,
// against mocks of every action (nothing real runs, and no plugin process
// starts), answering confirmations from its answers, on a virtual clock so
// that `within` waits take no time; then compares what happened with what
// the test expects.
func RunTest(ctx context.Context, cfg *schema.Config, tc *schema.TestCase) *TestResult {
	started := time.Now()
	res := &TestResult{Test: tc, Calls: map[string]int{}}
	rb := cfg.Runbook(tc.Runbook)
	if rb == nil {
		res.Failures = []string{fmt.Sprintf("runbook %q does not exist", tc.Runbook)}
		return res
	}
	mocks := &mockSet{tc: tc, calls: res.Calls}
	plans := planRecorder{}
	run, err := Run(ctx, cfg, rb, testOptions(cfg, rb, tc, mocks, plans)...)
	res.Elapsed = time.Since(started)
	res.Run = run
	var inputErr *InputError
	if errors.As(err, &inputErr) && tc.ExpectStatus == StatusInvalid {
		res.Passed = len(tc.ExpectSteps) == 0 && len(tc.ExpectCalls) == 0 && len(tc.ExpectPlans) == 0
		if !res.Passed {
			res.Failures = append(res.Failures, "the run did not start ("+err.Error()+"), so no step or call can be checked")
		}
		return res
	}
	if err != nil {
		f := "the run did not start: " + err.Error()
		if tc.ExpectStatus != "" {
			f = fmt.Sprintf("run: want %s, but it did not start: %s", tc.ExpectStatus, err)
		}
		res.Failures = append(res.Failures, f)
		return res
	}
	res.Failures = append(res.Failures, mocks.problems...)
	res.Failures = append(res.Failures, compareRun(rb, tc, run, res.Calls, plans)...)
	res.Passed = len(res.Failures) == 0
	return res
}

// testOptions run a test's scenario: every action of rb mocked, its
// confirmations answered from the test, on a virtual clock.
func testOptions(cfg *schema.Config, rb *schema.Runbook, tc *schema.TestCase, mocks *mockSet, plans planRecorder) []Option {
	provider := InProcess{}
	manual := map[string]bool{}
	for _, s := range rb.Steps {
		manual[s.Name] = s.Action == nil
		if s.Action != nil && s.Action.Schema != nil {
			provider[s.Action.Plugin] = &mockPlugin{name: s.Action.Plugin, set: mocks, schema: cfg.Schemas[s.Action.Plugin]}
		}
	}
	return []Option{
		WithPlugins(provider),
		WithHooks(plans),
		WithPrompter(&answerPrompter{tc: tc, set: mocks, manual: manual}),
		WithClock(NewVirtualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))),
		WithOperator("test@runbook"),
		WithRunID("test"),
		WithDryRun(tc.DryRun),
		WithEnv(func(string) (string, bool) { return "", false }),
		withVarValues(tc.Vars),
	}
}

// compareRun says how a run differed from what its test expects: the
// run's status, each step's, the call counts and the plan lines.
func compareRun(rb *schema.Runbook, tc *schema.TestCase, run *Result, calls map[string]int, plans planRecorder) []string {
	var failures []string
	if tc.ExpectStatus != "" && run.Status != tc.ExpectStatus {
		f := fmt.Sprintf("run: want %s, got %s", tc.ExpectStatus, run.Status)
		if run.Reason != "" {
			f += " (" + run.Reason + ")"
		}
		failures = append(failures, f+stoppedAt(run))
	}
	got := map[string]StepResult{}
	for _, s := range run.Steps {
		got[s.Name] = s
	}
	for _, s := range rb.Steps {
		want, ok := tc.ExpectSteps[s.Name]
		if !ok {
			continue
		}
		actual := "not run"
		sr, ran := got[s.Name]
		if ran {
			actual = sr.Status
		}
		if actual != want {
			f := fmt.Sprintf("step %q: want %s, got %s", s.Name, want, actual)
			if ran && sr.Reason != "" {
				f += ": " + sr.Reason
			}
			if ran && sr.At.Filename != "" {
				f += fmt.Sprintf(" (at %s)", sr.At)
			}
			failures = append(failures, f)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(tc.ExpectCalls)) {
		if want, got := tc.ExpectCalls[name], calls[name]; want != got {
			failures = append(failures, fmt.Sprintf("calls of %s: want %d, got %d", name, want, got))
		}
	}
	for _, s := range rb.Steps {
		want, ok := tc.ExpectPlans[s.Name]
		if !ok {
			continue
		}
		if got := plans[s.Name]; !slices.Equal(want, got) {
			failures = append(failures, fmt.Sprintf("plan of step %q: want %s, got %s", s.Name, quoteLines(want), quoteLines(got)))
		}
	}
	return failures
}

// quoteLines shows plan lines as a list: ["a", "b"], or "no plan".
func quoteLines(lines []string) string {
	if len(lines) == 0 {
		return "no plan"
	}
	q := make([]string, len(lines))
	for i, l := range lines {
		q[i] = fmt.Sprintf("%q", l)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func stoppedAt(run *Result) string {
	for _, s := range run.Steps {
		if s.At.Filename != "" && s.Status != StatusSucceeded {
			return fmt.Sprintf(" at %s", s.At)
		}
	}
	return ""
}

// withVarValues gives variables as typed values (a test's vars), below
// --var flags in precedence.
func withVarValues(vals map[string]cty.Value) Option {
	return func(c *config) { c.varValues = vals }
}

// mockSet answers every mocked call of one test and keeps what went wrong.
type mockSet struct {
	mu       sync.Mutex
	tc       *schema.TestCase
	calls    map[string]int
	problems []string
}

func (m *mockSet) problem(format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range m.problems {
		if p == msg {
			return fmt.Errorf("%s", msg)
		}
	}
	m.problems = append(m.problems, msg)
	return fmt.Errorf("%s", msg)
}

func (m *mockSet) call(action string, out cty.Type) (cty.Value, error) {
	mock := m.tc.Mocks[action]
	if mock == nil {
		return cty.NilVal, m.problem("no mock for %s: nothing real runs in a test; add mock %q { output = … }", action, action)
	}
	m.mu.Lock()
	m.calls[action]++
	n := m.calls[action]
	m.mu.Unlock()
	var v cty.Value
	switch {
	case mock.Error != "":
		return cty.NilVal, fmt.Errorf("%s", mock.Error)
	case mock.Output != cty.NilVal:
		v = mock.Output
	case n <= len(mock.Outputs):
		v = mock.Outputs[n-1]
	default:
		return cty.NilVal, m.problem("%s was called %d times, but its mock gives %d outputs", action, n, len(mock.Outputs))
	}
	conv, err := convert.Convert(v, out)
	if err != nil {
		return cty.NilVal, m.problem("the mock output of %s does not fit its output type: %s", action, err)
	}
	return conv, nil
}

// mockPlugin stands in for one plugin in a test.
type mockPlugin struct {
	name   string
	set    *mockSet
	schema *plugins.Schema
}

func (p *mockPlugin) Schema(context.Context) (*plugins.Schema, error) { return p.schema, nil }

func (p *mockPlugin) Configure(context.Context, cty.Value) error { return nil }

func (p *mockPlugin) Plan(_ context.Context, req *plugins.ActionRequest) (*plugins.PlanResult, error) {
	a := p.schema.Actions[req.Action]
	changes := []string{"(mocked " + p.name + "." + req.Action + ")"}
	if m := p.set.tc.Mocks[p.name+"."+req.Action]; m != nil && m.Plan != nil {
		changes = m.Plan
	}
	return &plugins.PlanResult{Changes: changes, Output: cty.UnknownVal(a.Output)}, nil
}

// planRecorder keeps the plan lines of each step, for expect_plans.
type planRecorder map[string][]string

func (r planRecorder) Handle(e Event) error {
	if p, ok := e.(Planned); ok && p.Error == "" {
		r[p.Name] = append(r[p.Name], p.Changes...)
	}
	return nil
}

func (p *mockPlugin) Apply(_ context.Context, req *plugins.ActionRequest) (*plugins.ApplyResult, error) {
	a := p.schema.Actions[req.Action]
	out, err := p.set.call(p.name+"."+req.Action, a.Output)
	if err != nil {
		return nil, err
	}
	return &plugins.ApplyResult{Output: out}, nil
}

func (p *mockPlugin) Close() error { return nil }

// answerPrompter answers confirmations from a test's answers; manual steps
// confirm by default; a confirmation the test does not answer fails it.
type answerPrompter struct {
	tc     *schema.TestCase
	set    *mockSet
	manual map[string]bool
}

func (p *answerPrompter) Confirm(context.Context, string) (bool, error) {
	return false, fmt.Errorf("a confirmation without a step")
}

func (p *answerPrompter) ConfirmStep(_ context.Context, step, question string) (bool, error) {
	if yes, ok := p.tc.Answers[step]; ok {
		return yes, nil
	}
	if p.manual[step] {
		return true, nil
	}
	return false, p.set.problem("step %q asks %q; answer it with answers = { %s = true }", step, strings.TrimSpace(question), step)
}

func (p *answerPrompter) Ask(_ context.Context, name, _ string, _ bool) (string, error) {
	return "", p.set.problem("variable %q has no value; give it in vars", name)
}
