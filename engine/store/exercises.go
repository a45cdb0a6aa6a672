package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/runbookdev/runbook/engine"
)

// Exercises says, for each runbook the store has runs of, when it last ran,
// was last rehearsed and last succeeded, over the runs of every machine:
// what engine.Exercises says of one state folder's, for `list` and
// `validate --max-unrehearsed`.
func (s *Store) Exercises(ctx context.Context) (map[string]*engine.Exercise, error) {
	out := map[string]*engine.Exercise{}
	get := func(runbook string) *engine.Exercise {
		e := out[runbook]
		if e == nil {
			e = &engine.Exercise{}
			out[runbook] = e
		}
		return e
	}
	fail := func(err error) (map[string]*engine.Exercise, error) {
		return nil, fmt.Errorf("transcript store %s: read the latest runs: %w", s.service, err)
	}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT DISTINCT ON (r.runbook, r.mode) `+runColumns+`
			FROM `+s.table("runs")+` r LEFT JOIN `+s.table("heads")+` h USING (run_id)
			ORDER BY r.runbook, r.mode, r.started DESC, r.run_id DESC`)
		if err != nil {
			return err
		}
		err = scanRuns(rows, func(r Run) {
			sum := r.Summary()
			e := get(r.Runbook)
			if r.Mode == engine.ModeDryRun {
				e.LastDryRun = &sum
			} else if e.LastRun == nil || r.Started.After(e.LastRun.Started) {
				// Modes other than run and dry-run count as runs, as
				// engine.Exercises counts them.
				e.LastRun = &sum
			}
		})
		if err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT runbook, max(started) FROM `+s.table("runs")+` WHERE status = $1 GROUP BY runbook`, engine.StatusSucceeded)
		if err != nil {
			return err
		}
		var runbook string
		var started time.Time
		_, err = pgx.ForEachRow(rows, []any{&runbook, &started}, func() error {
			get(runbook).LastSucceeded = started
			return nil
		})
		return err
	})
	if err != nil {
		return fail(err)
	}
	return out, nil
}
