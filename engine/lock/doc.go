// Package lock owns the run lock: one run at a time per lock name (docs/execution.md,
// "Locks"). Callers see a Locker and its Leases, so a distributed lock can
// replace the embedded one without the engine noticing: FromURL returns the
// one a --lock-url names, the file lock below, an etcd mutex (NewEtcd) or a
// PostgreSQL session advisory lock (NewPostgres; docs/store.md, "Locks").
//
// The embedded lock (NewFile) is an OS file lock: flock(LOCK_EX|LOCK_NB) on
// <dir>/<escaped name>.lock. The kernel drops a flock when the last
// descriptor of its open file is closed, and it closes every descriptor of a
// process that dies, however it dies, so a killed run never leaves a lock
// behind; the descriptor is close-on-exec, so a surviving child process does
// not keep it either. Lock files are never deleted: unlinking a lock file
// while another process has it open would let two processes lock two
// different inodes under the same name.
//
// A side file, <dir>/<escaped name>.holder.json, says who holds the lock. It
// is written atomically after the flock is taken and removed, best effort, on
// Release, while the flock is still held. It is information only: a side
// file left by a killed process means nothing, because only the flock
// decides whether the lock is held.
//
// flock belongs to an open file description, so a second open of the same
// lock file in one process would conflict with the first. The process
// therefore keeps a table of the locks it holds: acquiring a lock again with
// the same non-empty RunID (a nested use inside one run) is re-entrant and
// counted, and the flock is released with the last Lease; a different RunID,
// or an empty one, gets a HeldError as it would from another process.
package lock
