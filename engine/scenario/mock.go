package scenario

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/runbookdev/runbook/engine"
	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/schema"
)

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

func (r planRecorder) Handle(e engine.Event) error {
	if p, ok := e.(engine.Planned); ok && p.Error == "" {
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
