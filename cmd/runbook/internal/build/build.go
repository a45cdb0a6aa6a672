// Package build says which build of runbook this is: its version, the
// commit it was built from and when, from what the release build sets with
// -ldflags or, failing that, from what the Go toolchain records in the
// binary (`go install …@v1.2.3` records the module version; a build in a
// git checkout records the commit and its time).
package build

import (
	"runtime/debug"
	"sync"
)

// Set by a release build (.ci/release):
//
//	-ldflags "-X github.com/runbookdev/runbook/cmd/runbook/internal/build.version=v1.2.3
//	          -X github.com/runbookdev/runbook/cmd/runbook/internal/build.commit=…
//	          -X github.com/runbookdev/runbook/cmd/runbook/internal/build.date=…"
var version, commit, date string

// Info is what is known of this build.
type Info struct {
	// Version is the module version: "v1.2.3", or "devel" for a build from
	// a checkout.
	Version string
	// Commit is the VCS revision, "" when unknown; Modified is set when
	// the checkout had uncommitted changes.
	Commit   string
	Modified bool
	// Date is when the commit was made (or the release built), RFC 3339,
	// "" when unknown.
	Date string
}

// Read returns what is known of this build.
var Read = sync.OnceValue(func() Info {
	bi, _ := debug.ReadBuildInfo()
	return fromBuildInfo(bi, version, commit, date)
})

// Version is the build's version, as Read gives it.
func Version() string { return Read().Version }

// fromBuildInfo merges what the linker set (wins when set) with the
// toolchain's record.
func fromBuildInfo(bi *debug.BuildInfo, version, commit, date string) Info {
	info := Info{Version: version, Commit: commit, Date: date}
	if bi == nil {
		if info.Version == "" {
			info.Version = "devel"
		}
		return info
	}
	if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		info.Version = bi.Main.Version
	}
	if info.Version == "" {
		info.Version = "devel"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if info.Commit == "" {
				info.Commit = s.Value
			}
		case "vcs.time":
			if info.Date == "" {
				info.Date = s.Value
			}
		case "vcs.modified":
			info.Modified = s.Value == "true"
		}
	}
	return info
}
