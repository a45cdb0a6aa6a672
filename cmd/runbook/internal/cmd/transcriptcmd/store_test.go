package transcriptcmd

import (
	"testing"
	"time"

	"github.com/runbookdev/runbook/engine/transcript"
)

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 12, 2, 14, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		bad  bool
	}{
		{in: "", want: time.Time{}},
		{in: "24h", want: now.Add(-24 * time.Hour)},
		{in: "90m", want: now.Add(-90 * time.Minute)},
		{in: "7d", want: now.Add(-7 * 24 * time.Hour)},
		{in: "2026-12-01", want: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
		{in: "2026-12-01T10:30:00Z", want: time.Date(2026, 12, 1, 10, 30, 0, 0, time.UTC)},
		{in: "2026-12-01T12:30:00+02:00", want: time.Date(2026, 12, 1, 10, 30, 0, 0, time.UTC)},
		{in: "soon", bad: true},
		{in: "-1h", bad: true},
		{in: "7 days", bad: true},
		{in: "99999999999d", bad: true},
	}
	for _, tt := range tests {
		got, err := parseSince(now, tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("parseSince(%q) = %v, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestRunFilterKeeps(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	run := transcript.Summary{RunID: "r", Runbook: "rollback", Operator: "sre@vm", Status: "succeeded", Started: t0}
	tests := []struct {
		name string
		f    runFilter
		want bool
	}{
		{"no filter", runFilter{}, true},
		{"runbook", runFilter{Runbook: "rollback"}, true},
		{"other runbook", runFilter{Runbook: "deploy"}, false},
		{"operator", runFilter{Operator: "sre@vm"}, true},
		{"operator without host", runFilter{Operator: "sre"}, false},
		{"status", runFilter{Status: "succeeded"}, true},
		{"other status", runFilter{Status: "failed"}, false},
		{"since its start", runFilter{Since: t0}, true},
		{"since after", runFilter{Since: t0.Add(time.Second)}, false},
		{"all", runFilter{Runbook: "rollback", Operator: "sre@vm", Status: "succeeded", Since: t0.Add(-time.Hour)}, true},
	}
	for _, tt := range tests {
		if got := tt.f.keeps(run); got != tt.want {
			t.Errorf("%s: keeps = %v, want %v", tt.name, got, tt.want)
		}
	}
}
