package view

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/runbookdev/runbook/cmd/runbook/internal/iostreams"
	"github.com/runbookdev/runbook/engine"
)

// An agent's request shows what people are asked, and counts every
// approval; a person's counts those besides the operator's, whose
// confirmation already showed the question.
func TestApprovalRequestLines(t *testing.T) {
	req := engine.ApprovalRequested{
		StepRef: engine.StepRef{Index: 1, Name: "write"}, Needed: 1, Question: "agent:claude asks to run kv.set (step write)",
		Digest: "sha256:" + strings.Repeat("0", 64), Expires: time.Date(2026, 11, 26, 14, 30, 0, 0, time.UTC),
	}
	for _, tc := range []struct {
		operator  string
		want, not []string
	}{
		{"agent:claude", []string{"? asked of people: agent:claude asks to run kv.set (step write)", "⧗ waiting for 1 approval from the allowed signers"}, []string{"more approval"}},
		{"alice@host", []string{"⧗ waiting for 1 more approval from the allowed signers"}, []string{"asked of people"}},
	} {
		var out bytes.Buffer
		v := NewRun(&out, iostreams.NewColorScheme(false), RunOptions{})
		for _, e := range []engine.Event{
			engine.RunStarted{RunID: "run-1", Runbook: "rb", Operator: tc.operator, Mode: engine.ModeRun},
			engine.StepStarted{StepRef: req.StepRef},
			req,
		} {
			if err := v.Handle(e); err != nil {
				t.Fatal(err)
			}
		}
		for _, w := range tc.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("operator %s: output lacks %q:\n%s", tc.operator, w, out.String())
			}
		}
		for _, n := range tc.not {
			if strings.Contains(out.String(), n) {
				t.Errorf("operator %s: output says %q:\n%s", tc.operator, n, out.String())
			}
		}
	}
}
