package build

import (
	"runtime/debug"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	vcs := []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}
	tests := []struct {
		name                  string
		bi                    *debug.BuildInfo
		version, commit, date string
		want                  Info
	}{
		{"no build info", nil, "", "", "", Info{Version: "devel"}},
		{"go install @version", &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}}, "", "", "", Info{Version: "v1.4.0"}},
		{"checkout", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs}, "", "", "", Info{Version: "devel", Commit: "abc123", Date: "2026-12-01T10:00:00Z", Modified: true}},
		{"release build wins", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs}, "v2.0.0", "def456", "2026-12-02T00:00:00Z", Info{Version: "v2.0.0", Commit: "def456", Date: "2026-12-02T00:00:00Z", Modified: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fromBuildInfo(tt.bi, tt.version, tt.commit, tt.date); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
