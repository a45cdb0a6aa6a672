package view

import (
	"testing"

	"github.com/runbookdev/runbook/engine"
)

func TestVisibleEvent(t *testing.T) {
	e := visibleEvent(engine.ActionFinished{
		StepRef: engine.StepRef{Name: "s\x1b"},
		Error:   "e\x1b",
		Output:  map[string]any{"stdout": "o\x1b", "list": []any{"l\x1b", 1}},
	}).(engine.ActionFinished)
	out := e.Output.(map[string]any)
	if e.Name != `s\x1b` || e.Error != `e\x1b` || out["stdout"] != `o\x1b` || out["list"].([]any)[0] != `l\x1b` || out["list"].([]any)[1] != 1 {
		t.Errorf("visibleEvent = %+v", e)
	}
}
