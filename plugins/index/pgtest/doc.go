// Package pgtest starts a real, private PostgreSQL server for tests: the
// machine's server binaries (Debian's postgresql package, which .ci/run
// installs when they are missing), a cluster made by initdb in a temporary
// folder, and the postmaster started as the test's child on a free loopback
// port, with its socket in that folder. The child is killed with the test
// process (Pdeathsig), so a killed test leaves no server behind; that is why
// the postmaster is started directly rather than daemonized by pg_ctl.
//
// initdb and postgres refuse to run as root. As root (CI runs as root in a
// fresh Debian container), both run as the "postgres" user, which Debian's
// package creates, or as "nobody" where that user is missing, through the
// child's credentials (syscall.Credential: no su, runuser or sudo needed);
// the cluster's folder is made theirs. The server trusts local connections
// (initdb --auth=trust) for its superuser "runbook".
//
// Without server binaries a test is skipped, unless
// RUNBOOK_REQUIRE_SERVICES=1 (CI), where it fails.
package pgtest
