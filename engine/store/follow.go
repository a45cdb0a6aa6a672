package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/runbookdev/runbook/engine/transcript"
)

// followPoll is how long Follow waits for a notification before it reads
// anyway: notifications are not missed while the connection lives, so
// this only bounds the cost of the unforeseen.
const followPoll = 10 * time.Second

// Follow streams run runID's events after seq from to fn, in order, as
// they are stored (`runbook transcript follow`): the stored ones at once,
// then each new one when the store notifies it (LISTEN/NOTIFY). It returns
// nil once fn has had the run's final event (run_finished or
// interrupted), fn's error when fn fails, ctx's error when ctx ends first,
// and ErrNotFound for a run the store has no event of.
func (s *Store) Follow(ctx context.Context, runID string, from int64, fn func(transcript.Event) error) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("transcript store %s: follow run %s: %w", s.service, runID, err)
	}
	defer func() {
		// A connection left listening is not given back.
		c, cancel := context.WithTimeout(context.Background(), s.timeout)
		defer cancel()
		if _, err := conn.Exec(c, `UNLISTEN *`); err != nil {
			_ = conn.Conn().Close(c)
		}
		conn.Release()
	}()
	// Listen before reading, so that no event falls between the two.
	if _, err := conn.Exec(ctx, `LISTEN `+pgx.Identifier{s.channel()}.Sanitize()); err != nil {
		return fmt.Errorf("transcript store %s: follow run %s: %w", s.service, runID, err)
	}
	first := true
	for {
		rows, err := s.rows(ctx, conn, runID, from)
		if err != nil {
			return followErr(ctx, s, runID, err)
		}
		if first && len(rows) == 0 && from == 0 {
			if seq, _, err := s.head(ctx, runID); err != nil {
				return err
			} else if seq == 0 {
				return fmt.Errorf("%w %q in the transcript store", ErrNotFound, runID)
			}
		}
		first = false
		for _, r := range rows {
			ev, err := r.event()
			if err != nil {
				return fmt.Errorf("transcript store: follow run %s: %w", runID, err)
			}
			if err := fn(ev); err != nil {
				return err
			}
			from = r.seq
			if r.typ == transcript.TypeRunFinished || r.typ == transcript.TypeInterrupted {
				return nil
			}
		}
		if err := waitFor(ctx, conn.Conn(), runID); err != nil {
			return followErr(ctx, s, runID, err)
		}
	}
}

// waitFor waits for a notification of run runID, or followPoll.
func waitFor(ctx context.Context, conn *pgx.Conn, runID string) error {
	wctx, cancel := context.WithTimeout(ctx, followPoll)
	defer cancel()
	for {
		n, err := conn.WaitForNotification(wctx)
		switch {
		case err == nil && n.Payload == runID:
			return nil
		case err == nil:
			continue
		case ctx.Err() == nil && wctx.Err() != nil:
			return nil // poll
		default:
			return err
		}
	}
}

func followErr(ctx context.Context, s *Store, runID string, err error) error {
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return ctx.Err()
	}
	return fmt.Errorf("transcript store %s: follow run %s: %w", s.service, runID, err)
}
