package main

import (
	"testing"

	"github.com/runbookdev/runbook/engine"
)

func TestVisible(t *testing.T) {
	tests := map[string]string{
		"plain":                "plain",
		"tab\tand\nnewline":    "tab\tand\nnewline",
		"\x1b[32mOK\x1b[0m":    `\x1b[32mOK\x1b[0m`,
		"\x1b]0;title\x07":     `\x1b]0;title\x07`,
		"over\rwrite":          `over\rwrite`,
		"del\x7f nul\x00":      `del\x7f nul\x00`,
		"c1 \u009b2J":          `c1 \u009b2J`,
		"bidi \u202eevil":      `bidi \u202eevil`,
		"bad utf-8 \xff\xfe":   `bad utf-8 \xff\xfe`,
		"unicode ✓ pässwörd →": "unicode ✓ pässwörd →",
	}
	for in, want := range tests {
		if got := visible(in); got != want {
			t.Errorf("visible(%q) = %q, want %q", in, got, want)
		}
	}
	if got := visibleLine("a\nb\tc\x1b"); got != `a\nb\tc\x1b` {
		t.Errorf("visibleLine = %q", got)
	}
}

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
