package version

import (
	"runtime"
	"strings"
	"testing"

	"github.com/runbookdev/runbook/cmd/runbook/internal/build"
)

func TestLine(t *testing.T) {
	rt := runtime.Version() + ", " + runtime.GOOS + "/" + runtime.GOARCH
	tests := []struct {
		info build.Info
		want string
	}{
		{build.Info{Version: "devel"}, "runbook devel (" + rt + ")"},
		{build.Info{Version: "v1.4.0"}, "runbook v1.4.0 (" + rt + ")"},
		{build.Info{Version: "devel", Commit: "0123456789abcdef", Date: "2026-12-01T10:00:00Z", Modified: true},
			"runbook devel (commit 0123456789ab+dirty, 2026-12-01T10:00:00Z; " + rt + ")"},
	}
	for _, tt := range tests {
		if got := Line(tt.info); got != tt.want {
			t.Errorf("Line(%+v) = %q, want %q", tt.info, got, tt.want)
		}
		if !strings.HasPrefix(Line(tt.info), "runbook "+tt.info.Version+" (") {
			t.Errorf("Line(%+v) does not start with the version", tt.info)
		}
	}
}
