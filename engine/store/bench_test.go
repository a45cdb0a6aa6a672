package store

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// reportMedian reports the median of ds in milliseconds as unit.
func reportMedian(b *testing.B, ds []time.Duration, unit string) {
	b.Helper()
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	b.ReportMetric(float64(ds[len(ds)/2])/float64(time.Millisecond), unit)
}

// BenchmarkStoreAppend is the store's cost per event on loopback: one
// Append (one INSERT, the chain checked by the store) per event, the
// median reported as ms-median/event.
func BenchmarkStoreAppend(b *testing.B) {
	s, _ := openStore(b)
	r := newRun(b, fmt.Sprintf("bench-%d", b.N))
	for i := 1; len(r.events) < b.N; i++ {
		r.step(b, i, "output of a step")
	}
	ctx := context.Background()
	ds := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if err := s.Append(ctx, r.id, r.events[i]); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(start))
	}
	b.StopTimer()
	reportMedian(b, ds, "ms-median/event")
}

// BenchmarkStoreShip is the shipper's throughput: events handed over as
// fast as a run could write them, shipped in batches.
func BenchmarkStoreShip(b *testing.B) {
	s, _ := openStore(b)
	r := newRun(b, fmt.Sprintf("ship-%d", b.N))
	for i := 1; len(r.events) < b.N; i++ {
		r.step(b, i, "output of a step")
	}
	b.ResetTimer()
	sh := s.NewShipper(r.id)
	for _, ev := range r.events[:b.N] {
		sh.Ship(ev)
	}
	if err := sh.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
}

// listRuns is how many runs BenchmarkStoreList stores.
const listRuns = 100_000

var listSeed struct {
	once   sync.Once
	store  *Store
	err    error
	seeded time.Duration
}

// seededStore is a store of listRuns runs, seeded once per process: rows
// of runs and heads made by SQL, as append_event makes them, over a year,
// 20 runbooks, 50 operators and the usual statuses.
func seededStore(b *testing.B) *Store {
	dsn := serverDSN(b)
	listSeed.once.Do(func() {
		start := time.Now()
		ctx := context.Background()
		s, err := Open(ctx, dsn, WithSchema("bench_list"))
		if err != nil {
			listSeed.err = err
			return
		}
		q := func(t string) string { return pgx.Identifier{"bench_list", t}.Sanitize() }
		for _, stmt := range []string{
			`TRUNCATE ` + q("runs") + `, ` + q("heads") + `, ` + q("events"),
			`INSERT INTO ` + q("runs") + ` (run_id, runbook, mode, operator, host, started, status, finished, exit_code)
			SELECT 'run-' || lpad(i::text, 6, '0'), 'runbook-' || (i % 20), CASE WHEN i % 3 = 0 THEN 'dry-run' ELSE 'run' END,
				'op' || (i % 50) || '@host' || (i % 50), 'host' || (i % 50),
				timestamptz '2026-01-01' + i * interval '5 minutes',
				(ARRAY['success', 'success', 'success', 'failed', 'interrupted', 'running'])[1 + i % 6],
				timestamptz '2026-01-01' + i * interval '5 minutes' + interval '90 seconds', 0
			FROM generate_series(1, ` + fmt.Sprint(listRuns) + `) i`,
			`INSERT INTO ` + q("heads") + ` (run_id, seq, hash) SELECT run_id, 40, repeat('a', 64) FROM ` + q("runs"),
			`ANALYZE ` + q("runs"),
			`ANALYZE ` + q("heads"),
		} {
			if _, err := s.pool.Exec(ctx, stmt); err != nil {
				listSeed.err = err
				return
			}
		}
		listSeed.store, listSeed.seeded = s, time.Since(start)
	})
	if listSeed.err != nil {
		b.Fatal(listSeed.err)
	}
	return listSeed.store
}

// BenchmarkStoreList is `transcript list` over 100,000 stored runs: the
// newest 50, unfiltered and with each filter, and the newest 1,000 (the
// default limit), the median reported as
// ms-median/list.
func BenchmarkStoreList(b *testing.B) {
	s := seededStore(b)
	since := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, f := range []struct {
		name string
		f    Filter
	}{
		{"newest", Filter{Limit: 50}},
		{"newest-1000", Filter{}},
		{"runbook", Filter{Runbook: "runbook-7", Limit: 50}},
		{"operator", Filter{Operator: "op7@host7", Limit: 50}},
		{"status", Filter{Status: "failed", Limit: 50}},
		{"since", Filter{Since: since, Limit: 50}},
		{"all-filters", Filter{Runbook: "runbook-7", Operator: "op7@host7", Status: "failed", Since: since, Limit: 50}},
	} {
		b.Run(f.name, func(b *testing.B) {
			ctx := context.Background()
			ds := make([]time.Duration, 0, b.N)
			for i := 0; i < b.N; i++ {
				start := time.Now()
				runs, err := s.List(ctx, f.f)
				if err != nil {
					b.Fatal(err)
				}
				ds = append(ds, time.Since(start))
				if len(runs) == 0 {
					b.Fatal("no runs listed")
				}
			}
			reportMedian(b, ds, "ms-median/list")
		})
	}
}
