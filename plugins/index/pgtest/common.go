package pgtest

import (
	"errors"
	"os"
)

// TB is what Start needs of a test: *testing.T and *testing.B have it, and
// a testscript command can adapt its script to it.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Skip(args ...any)
	Logf(format string, args ...any)
	// Cleanup registers a function to run when the test ends.
	Cleanup(func())
}

// ErrNoServer is returned by BinDir when the machine has no PostgreSQL
// server binaries.
var ErrNoServer = errors.New("no PostgreSQL server binaries (initdb, postgres) under /usr/lib/postgresql/*/bin or on $PATH (apt-get install postgresql); .ci/run installs them")

// Required says whether a missing server fails a test rather than skipping
// it: RUNBOOK_REQUIRE_SERVICES=1, as in CI.
func Required() bool { return os.Getenv("RUNBOOK_REQUIRE_SERVICES") == "1" }
