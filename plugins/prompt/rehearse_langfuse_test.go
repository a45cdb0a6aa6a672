package prompt

import (
	"testing"

	"github.com/runbookdev/runbook/plugins/internal/rehearse"
)

// The rehearsal of the Langfuse backend predicts what the real label moves
// do, as the file backend's does (runbooks/equivalence_test.go).
func TestLangfuseRehearsalMatchesRealRun(t *testing.T) {
	f := newFakeLangfuse(t)
	p := langfusePlugin(t, f, nil)
	step := func(action string, set map[string]any) rehearse.Step {
		r := request(action, set)
		return rehearse.Step{Action: r.Action, Args: r.Args}
	}
	n := rehearse.Check(t, p, []rehearse.Step{
		step("rollback", map[string]any{"name": "support-agent"}),
		step("rollback", map[string]any{"name": "support-agent"}),
		step("status", map[string]any{"name": "support-agent"}),
		step("promote", map[string]any{"name": "support-agent", "version": 7}),
		step("status", map[string]any{"name": "support-agent"}),
	})
	if n < 10 {
		t.Errorf("only %d values compared", n)
	}
}
