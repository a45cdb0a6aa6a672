// Package store keeps transcripts in PostgreSQL, for a team (docs/store.md,
// "Team mode"): every event a run writes to its local transcript is also
// appended to the store, which checks the hash chain on every append, so
// that the runs of every machine can be listed, read, verified against a
// local copy and followed live.
//
// The schema is versioned and embedded (migrations/NNN.sql) and migrated on
// first use under a transaction-level advisory lock. Events are inserted
// into the events table one line each, byte for byte; a trigger of the
// store's (append_event, running as the schema's owner) reads the line's
// header, checks its hash and that it chains to its run's head, moves the
// head, keeps the run's row and notifies followers. A role that may only
// INSERT into events and SELECT can therefore append, and cannot rewrite
// what is stored (docs/store.md, "An append-only role").
//
// The engine never waits on the store: a Shipper takes events in order
// without blocking and ships them from a goroutine, retrying while the
// store is away; Push ships a local transcript later.
package store
