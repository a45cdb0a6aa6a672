package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/runbookdev/runbook/engine/transcript"
)

// Kinds of ChainError.
const (
	// ChainMalformed: the line is not an event the writer writes.
	ChainMalformed = "malformed event"
	// ChainHashMismatch: the line's hash does not match its bytes.
	ChainHashMismatch = "hash mismatch"
	// ChainConflict: the store has another event with this seq: another
	// writer appended to the run, or the local transcript was changed.
	ChainConflict = "conflicting event"
	// ChainGap: the event does not follow the stored head.
	ChainGap = "seq gap"
	// ChainPrev: the event's prev is not the stored head's hash.
	ChainPrev = "prev does not match the stored head"
)

// ChainError is an event the store refused because it does not belong at
// the end of its run's stored chain (docs/store.md, "Appending"). It is
// never retried.
type ChainError struct {
	RunID string
	Seq   int64
	Kind  string
	// Hash and Prev are the refused event's; HeadSeq and HeadHash the
	// stored head's (0 and "" when the run has no event stored).
	Hash, Prev string
	HeadSeq    int64
	HeadHash   string
	// Detail is the store's message.
	Detail string
}

func (e *ChainError) Error() string {
	head := "no stored event"
	if e.HeadSeq > 0 {
		head = fmt.Sprintf("event %d, hash %s", e.HeadSeq, e.HeadHash)
	}
	switch e.Kind {
	case ChainConflict, ChainGap, ChainPrev:
		return fmt.Sprintf("transcript store refused run %s, event %d (hash %s, prev %s): %s; the stored head is %s",
			e.RunID, e.Seq, e.Hash, orNone(e.Prev), e.Kind, head)
	}
	return fmt.Sprintf("transcript store refused run %s, event %d: %s: %s", e.RunID, e.Seq, e.Kind, e.Detail)
}

func orNone(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

// chainKinds maps append_event's SQLSTATEs (migrations/001.sql) to kinds.
var chainKinds = map[string]string{
	"RB001": ChainMalformed,
	"RB002": ChainHashMismatch,
	"RB003": ChainConflict,
	"RB004": ChainGap,
	"RB005": ChainPrev,
}

// chainError turns append_event's refusal of ev into a *ChainError; any
// other error is returned as it is.
func chainError(runID string, ev transcript.Event, err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return err
	}
	kind, ok := chainKinds[pgErr.Code]
	if !ok {
		if pgErr.Code == "22P02" || pgErr.Code == "22007" || pgErr.Code == "22008" || pgErr.Code == "22003" {
			// The line is not JSON, or its seq or time is not one.
			kind = ChainMalformed
		} else {
			return err
		}
	}
	ce := &ChainError{RunID: runID, Seq: ev.Seq, Kind: kind, Hash: ev.Hash, Prev: ev.Prev, Detail: pgErr.Message}
	if seq, hash, ok := strings.Cut(pgErr.Detail, " "); ok {
		ce.HeadSeq, _ = strconv.ParseInt(seq, 10, 64)
		ce.HeadHash = hash
	}
	return ce
}

// insertSQL is the statement that appends one line; append_event fills in
// the header columns from the line itself.
func (s *Store) insertSQL() string {
	return `INSERT INTO ` + s.table("events") + ` (run_id, raw) VALUES ($1, $2)`
}

// Append stores one event of run runID, in one transaction: the store
// checks that the event chains to the run's stored head (seq one more, prev
// its hash) and that its hash matches its line, inserts it, moves the head
// and notifies followers. An event already stored (same seq, same hash) is
// a no-op, so that a retry never duplicates one. A refusal is a
// *ChainError naming the run and both hashes.
func (s *Store) Append(ctx context.Context, runID string, ev transcript.Event) error {
	if err := checkEvent(runID, ev); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, s.insertSQL(), runID, string(ev.Raw)); err != nil {
		return s.appendErr(runID, ev, err)
	}
	return nil
}

// appendBatch stores evs, all of run runID and in order, in one
// transaction: all of them or none.
func (s *Store) appendBatch(ctx context.Context, runID string, evs []transcript.Event) error {
	for _, ev := range evs {
		if err := checkEvent(runID, ev); err != nil {
			return err
		}
	}
	if len(evs) == 1 {
		return s.Append(ctx, runID, evs[0])
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, ev := range evs {
			b.Queue(s.insertSQL(), runID, string(ev.Raw))
		}
		res := tx.SendBatch(ctx, b)
		for _, ev := range evs {
			if _, err := res.Exec(); err != nil {
				res.Close()
				return s.appendErr(runID, ev, err)
			}
		}
		return res.Close()
	})
}

func (s *Store) appendErr(runID string, ev transcript.Event, err error) error {
	err = chainError(runID, ev, err)
	var ce *ChainError
	if errors.As(err, &ce) {
		return ce
	}
	return fmt.Errorf("transcript store %s: append run %s, event %d: %w", s.service, runID, ev.Seq, err)
}

// checkEvent refuses what the store cannot take before sending it.
func checkEvent(runID string, ev transcript.Event) error {
	detail := ""
	switch {
	case runID == "":
		detail = "empty run id"
	case len(ev.Raw) == 0:
		detail = "the event has no line (Raw)"
	case bytes.IndexByte(ev.Raw, 0) >= 0:
		detail = "the line holds a NUL byte"
	default:
		return nil
	}
	return &ChainError{RunID: runID, Seq: ev.Seq, Kind: ChainMalformed, Hash: ev.Hash, Prev: ev.Prev, Detail: detail}
}
