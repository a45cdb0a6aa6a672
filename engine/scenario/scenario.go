// Package scenario runs `runbook test` scenarios: a runbook against mocks of
// every action, on a virtual clock, compared with what the test expects
// (docs/language.md, "Tests").
package scenario

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/runbookdev/runbook/engine"
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
	Run *engine.Result
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
	run, err := engine.Run(ctx, cfg, rb, testOptions(cfg, rb, tc, mocks, plans)...)
	res.Elapsed = time.Since(started)
	res.Run = run
	var inputErr *engine.InputError
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
func testOptions(cfg *schema.Config, rb *schema.Runbook, tc *schema.TestCase, mocks *mockSet, plans planRecorder) []engine.Option {
	provider := engine.InProcess{}
	manual := map[string]bool{}
	for _, s := range rb.Steps {
		manual[s.Name] = s.Action == nil
		if s.Action != nil && s.Action.Schema != nil {
			provider[s.Action.Plugin] = &mockPlugin{name: s.Action.Plugin, set: mocks, schema: cfg.Schemas[s.Action.Plugin]}
		}
	}
	return append(approvalOptions(cfg, tc),
		engine.WithPlugins(provider),
		engine.WithHooks(plans),
		engine.WithPrompter(&answerPrompter{tc: tc, set: mocks, manual: manual}),
		engine.WithClock(engine.NewVirtualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))),
		engine.WithOperator(testOperator),
		engine.WithRunID("test"),
		engine.WithDryRun(tc.DryRun),
		engine.WithEnv(func(string) (string, bool) { return "", false }),
		engine.WithVarValues(tc.Vars),
	)
}

// compareRun says how a run differed from what its test expects: the
// run's status, each step's, the call counts and the plan lines.
func compareRun(rb *schema.Runbook, tc *schema.TestCase, run *engine.Result, calls map[string]int, plans planRecorder) []string {
	var failures []string
	if tc.ExpectStatus != "" && run.Status != tc.ExpectStatus {
		f := fmt.Sprintf("run: want %s, got %s", tc.ExpectStatus, run.Status)
		if run.Reason != "" {
			f += " (" + run.Reason + ")"
		}
		failures = append(failures, f+stoppedAt(run))
	}
	got := map[string]engine.StepResult{}
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

func stoppedAt(run *engine.Result) string {
	for _, s := range run.Steps {
		if s.At.Filename != "" && s.Status != engine.StatusSucceeded {
			return fmt.Sprintf(" at %s", s.At)
		}
	}
	return ""
}
