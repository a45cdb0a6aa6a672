package lock

import (
	"strings"
	"testing"
	"time"
)

func TestHeldErrorMessage(t *testing.T) {
	since := time.Date(2026, 11, 26, 15, 5, 1, 0, time.FixedZone("CET", 3600))
	tests := []struct {
		name   string
		holder Holder
		want   string
	}{
		{
			name:   "everything known",
			holder: Holder{RunID: "20261126T140501-ab12", Operator: "alice", Host: "host", PID: 123, Since: since},
			want:   `lock "prompt/support-agent" is held by run 20261126T140501-ab12 (alice@host, pid 123) since 2026-11-26 14:05:01 UTC`,
		},
		{
			name:   "no run id",
			holder: Holder{Operator: "alice", Host: "host", PID: 123, Since: since},
			want:   `lock "prompt/support-agent" is held by another run (alice@host, pid 123) since 2026-11-26 14:05:01 UTC`,
		},
		{
			name:   "run id only",
			holder: Holder{RunID: "r1"},
			want:   `lock "prompt/support-agent" is held by run r1`,
		},
		{
			name:   "operator without host",
			holder: Holder{RunID: "r1", Operator: "alice"},
			want:   `lock "prompt/support-agent" is held by run r1 (alice)`,
		},
		{
			name:   "host and pid without operator",
			holder: Holder{RunID: "r1", Host: "box", PID: 7},
			want:   `lock "prompt/support-agent" is held by run r1 (host box, pid 7)`,
		},
		{
			name: "nothing known",
			want: `lock "prompt/support-agent" is held by another run (holder unknown)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := &HeldError{Name: "prompt/support-agent", Holder: tt.holder}
			if got := err.Error(); got != tt.want {
				t.Errorf("Error() =\n%s\nwant\n%s", got, tt.want)
			}
			if err.ExitCode() != 3 {
				t.Errorf("ExitCode() = %d, want 3", err.ExitCode())
			}
		})
	}
}

func TestFileStem(t *testing.T) {
	tests := []struct{ name, want string }{
		{"deploy", "deploy"},
		{"prompt/support-agent", "prompt%2Fsupport-agent"},
		{"a b", "a%20b"},
		{"..", "%2E."},
		{".hidden", "%2Ehidden"},
		{"a%2Fb", "a%252Fb"},
		{"v1.2~x", "v1.2%7Ex"},
		{"é", "%C3%A9"},
	}
	for _, tt := range tests {
		if got := fileStem(tt.name); got != tt.want {
			t.Errorf("fileStem(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestHeldErrorNamesTheHostOnce(t *testing.T) {
	err := &HeldError{Name: "x", Holder: Holder{RunID: "r1", Operator: "alice@web-1", Host: "web-1", PID: 7}}
	if msg := err.Error(); strings.Contains(msg, "web-1@web-1") || !strings.Contains(msg, "alice@web-1") {
		t.Errorf("message %q", msg)
	}
	err = &HeldError{Name: "x", Holder: Holder{Operator: "alice", Host: "web-1"}}
	if msg := err.Error(); !strings.Contains(msg, "alice@web-1") {
		t.Errorf("message %q", msg)
	}
}
