// Package host runs plugins. An external plugin is a process: host launches
// it from a verified private copy of its binary, confines it (no stdin,
// only the declared environment, its own process group, killed with the
// host), supervises it (a call whose context ends stops the plugin's work
// or kills it; a crash is reported with the tail of the plugin's stderr;
// the next call starts it again) and ends it without leaving orphans. Pool
// starts the external plugins of a run together and closes them together.
// A built-in plugin, compiled into runbook, runs in this process
// (InProcess, inproc.go) under the same guarantees where a process is not
// needed for them.
//
// Transport security: AutoMTLS is off. The host talks to a plugin over a
// Unix socket that go-plugin creates in a 0700 folder made for that
// process, so only the host's own user can connect to it, and that user can
// already read the plugin's memory (ptrace), read its environment and
// replace the binary; there is no network listener for anyone else to
// reach. go-plugin's AutoMTLS (a one-time certificate each way) would
// authenticate the two ends against other local users, whom the folder's
// permissions already keep out, and costs two P-521 key generations per
// launch: BenchmarkLaunch on the 2-core CI machine, medians of 5, gives 39
// ms for a launch and handshake without it and 62 ms with it (58 and 84 ms
// for an external plugin, copy and hash included); a call costs the same
// (0.23 ms) either way. The setting stays available as Launcher.AutoMTLS,
// should plugins ever be reached over TCP (Windows).
package host
