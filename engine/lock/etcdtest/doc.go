// Package etcdtest starts a real, private etcd server for tests: Debian's
// etcd-server binary on free loopback ports with its data in a temporary
// folder, stopped when the test ends. Without the binary a test is skipped,
// unless RUNBOOK_REQUIRE_SERVICES=1 (CI), where a missing server fails it.
package etcdtest
