package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/runbookdev/runbook/engine/transcript"
)

// ErrNotFound is returned for a run the store has no event of: the
// transcript package's, so that a caller tells one case for both.
var ErrNotFound = transcript.ErrNotFound

// ErrAmbiguous is returned by Find for a prefix of several run ids.
var ErrAmbiguous = transcript.ErrAmbiguous

// Find returns the id of the run idOrPrefix names in the store: the run id
// itself, or a prefix of exactly one run id (as transcript.Find finds a
// local one).
func (s *Store) Find(ctx context.Context, idOrPrefix string) (string, error) {
	if idOrPrefix == "" {
		return "", fmt.Errorf("%w %q", ErrNotFound, idOrPrefix)
	}
	rows, err := s.pool.Query(ctx, `SELECT run_id FROM `+s.table("runs")+` WHERE run_id = $1
		UNION ALL (SELECT run_id FROM `+s.table("runs")+` WHERE left(run_id, length($1)) = $1 AND run_id <> $1 ORDER BY run_id LIMIT 11)`, idOrPrefix)
	if err != nil {
		return "", fmt.Errorf("transcript store %s: find run %q: %w", s.service, idOrPrefix, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", fmt.Errorf("transcript store %s: find run %q: %w", s.service, idOrPrefix, err)
	}
	switch {
	case len(ids) == 0:
		return "", fmt.Errorf("%w %q in the transcript store", ErrNotFound, idOrPrefix)
	case len(ids) == 1 || ids[0] == idOrPrefix:
		return ids[0], nil
	}
	shown := ids
	if len(ids) > 10 {
		shown = append(ids[:10:10], "…")
	}
	return "", fmt.Errorf("%w %q: it starts runs %s", ErrAmbiguous, idOrPrefix, strings.Join(shown, ", "))
}

// head is run runID's stored head: 0 and "" when the store has no event
// of it.
func (s *Store) head(ctx context.Context, runID string) (int64, string, error) {
	var seq int64
	var hash string
	err := s.pool.QueryRow(ctx, `SELECT seq, hash FROM `+s.table("heads")+` WHERE run_id = $1`, runID).Scan(&seq, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("transcript store %s: read the head of run %s: %w", s.service, runID, err)
	}
	return seq, hash, nil
}

// hashAt is the hash column of event seq of run runID.
func (s *Store) hashAt(ctx context.Context, runID string, seq int64) (string, error) {
	var hash string
	err := s.pool.QueryRow(ctx, `SELECT hash FROM `+s.table("events")+` WHERE run_id = $1 AND seq = $2`, runID, seq).Scan(&hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("transcript store %s: run %s has no event %d, though its head is past it", s.service, runID, seq)
	}
	if err != nil {
		return "", fmt.Errorf("transcript store %s: read run %s, event %d: %w", s.service, runID, seq, err)
	}
	return hash, nil
}

// Filter selects runs for List; zero fields select everything.
type Filter struct {
	Runbook  string
	Operator string
	// Status is a final status, "interrupted", or "running" (no final
	// event stored yet).
	Status string
	// Since keeps runs started at or after it.
	Since time.Time
	// Limit caps how many runs List returns (0: DefaultLimit).
	Limit int
}

// DefaultLimit is List's limit when the filter sets none.
const DefaultLimit = 1000

// StatusRunning is the status of a run whose final event is not stored:
// it is running, or it ended without the store hearing of it (its machine
// crashed, or its last events are not shipped yet).
const StatusRunning = transcript.StatusRunning

// Run is one run as List shows it.
type Run struct {
	RunID    string
	Runbook  string
	Mode     string
	Operator string
	// Host is the part of Operator after its "@".
	Host    string
	Started time.Time
	// Status is run_finished's status, "interrupted", or StatusRunning.
	Status string
	// Finished is the time of the final event, zero without one.
	Finished time.Time
	// ExitCode is run_finished's exit code, -1 without one.
	ExitCode int
	// Events is how many events the store has.
	Events int64
}

// Summary is the run as `transcript list` shows a local one.
func (r Run) Summary() transcript.Summary {
	s := transcript.Summary{RunID: r.RunID, Runbook: r.Runbook, Mode: r.Mode, Operator: r.Operator, Started: r.Started, Status: r.Status}
	if !r.Finished.IsZero() {
		s.Duration = max(0, r.Finished.Sub(r.Started))
	}
	return s
}

// List returns the runs f selects, newest first (ties by run id,
// descending, as transcript.List orders them). Each filter is served by an
// index (migrations/001.sql), so the newest runs come at once however many
// are stored.
func (s *Store) List(ctx context.Context, f Filter) ([]Run, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if f.Runbook != "" {
		add("r.runbook = ?", f.Runbook)
	}
	if f.Operator != "" {
		add("r.operator = ?", f.Operator)
	}
	if f.Status != "" {
		add("r.status = ?", f.Status)
	}
	if !f.Since.IsZero() {
		add("r.started >= ?", f.Since)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	q := `SELECT ` + runColumns + ` FROM ` + s.table("runs") + ` r LEFT JOIN ` + s.table("heads") + ` h USING (run_id)`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, limit)
	q += ` ORDER BY r.started DESC, r.run_id DESC LIMIT $` + strconv.Itoa(len(args))
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("transcript store %s: list runs: %w", s.service, err)
	}
	var out []Run
	err = scanRuns(rows, func(r Run) { out = append(out, r) })
	if err != nil {
		return nil, fmt.Errorf("transcript store %s: list runs: %w", s.service, err)
	}
	return out, nil
}

// Run returns run runID as List shows it; a run the store has no event of
// is ErrNotFound.
func (s *Store) Run(ctx context.Context, runID string) (Run, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+runColumns+` FROM `+s.table("runs")+` r LEFT JOIN `+s.table("heads")+
		` h USING (run_id) WHERE r.run_id = $1`, runID)
	if err != nil {
		return Run{}, fmt.Errorf("transcript store %s: read run %s: %w", s.service, runID, err)
	}
	var out []Run
	if err := scanRuns(rows, func(r Run) { out = append(out, r) }); err != nil {
		return Run{}, fmt.Errorf("transcript store %s: read run %s: %w", s.service, runID, err)
	}
	if len(out) == 0 {
		return Run{}, fmt.Errorf("%w %q in the transcript store", ErrNotFound, runID)
	}
	return out[0], nil
}

// runColumns are the columns scanRuns reads, of runs r and heads h.
const runColumns = `r.run_id, r.runbook, r.mode, r.operator, r.host, r.started, r.status, r.finished,
	coalesce(r.exit_code, -1), coalesce(h.seq, 0)`

// scanRuns hands each row of rows (runColumns) to fn.
func scanRuns(rows pgx.Rows, fn func(Run)) error {
	var r Run
	var finished *time.Time
	_, err := pgx.ForEachRow(rows, []any{&r.RunID, &r.Runbook, &r.Mode, &r.Operator, &r.Host, &r.Started, &r.Status, &finished, &r.ExitCode, &r.Events}, func() error {
		r.Finished = time.Time{}
		if finished != nil {
			r.Finished = *finished
		}
		fn(r)
		return nil
	})
	return err
}

// storedRow is one row of the events table.
type storedRow struct {
	seq             int64
	prev, hash, typ string
	time            time.Time
	raw             string
}

// rows reads run runID's events after seq from, in seq order.
func (s *Store) rows(ctx context.Context, q querier, runID string, from int64) ([]storedRow, error) {
	rows, err := q.Query(ctx, `SELECT seq, prev, hash, type, time, raw FROM `+s.table("events")+
		` WHERE run_id = $1 AND seq > $2 ORDER BY seq`, runID, from)
	if err != nil {
		return nil, err
	}
	var out []storedRow
	var r storedRow
	_, err = pgx.ForEachRow(rows, []any{&r.seq, &r.prev, &r.hash, &r.typ, &r.time, &r.raw}, func() error {
		out = append(out, r)
		return nil
	})
	return out, err
}

// Read returns run runID's stored events as a transcript file holds them:
// each line byte for byte, each ending in a newline, in seq order, so
// that transcript's reader and verifier can check them. A run the store
// has no event of is ErrNotFound.
func (s *Store) Read(ctx context.Context, runID string) ([]byte, error) {
	rows, err := s.rows(ctx, s.pool, runID, 0)
	if err != nil {
		return nil, fmt.Errorf("transcript store %s: read run %s: %w", s.service, runID, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%w %q in the transcript store", ErrNotFound, runID)
	}
	return joinLines(rows), nil
}

func joinLines(rows []storedRow) []byte {
	var b bytes.Buffer
	for _, r := range rows {
		b.WriteString(r.raw)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// Comparison is what Verify found.
type Comparison struct {
	RunID string
	// Stored counts the events the store has, Local those of the local
	// copy (0 without one).
	Stored int64
	Local  int
	// Head is the stored head's hash.
	Head string
	// Problem is the first stored row that does not verify: its line
	// does not hash to its hash, its columns disagree with its line, it
	// does not chain to the row before, or the head does not name the last
	// row. Line is the row's position in seq order. Nil when the stored
	// chain holds.
	Problem *transcript.Problem
	// Differences are where the stored chain and the local one differ,
	// nil when they are equal (or without a local copy).
	Differences []Difference
}

// Kinds of Difference.
const (
	// DiffChanged: both have the event, with other bytes.
	DiffChanged = "differs"
	// DiffLocalOnly: the local copy has events the store lacks (not
	// shipped yet: `runbook transcript push` ships them).
	DiffLocalOnly = "only in the local transcript"
	// DiffStoredOnly: the store has events the local copy lacks.
	DiffStoredOnly = "only in the store"
)

// Difference is a seq range where the stored and the local chains differ.
type Difference struct {
	Kind        string
	First, Last int64
	// StoredHash and LocalHash are both hashes at First (DiffChanged).
	StoredHash, LocalHash string
}

func (d Difference) String() string {
	which := fmt.Sprintf("events %d to %d", d.First, d.Last)
	if d.First == d.Last {
		which = fmt.Sprintf("event %d", d.First)
	}
	if d.Kind == DiffChanged {
		return fmt.Sprintf("%s %s: stored hash %s, local hash %s", which, d.Kind, d.StoredHash, d.LocalHash)
	}
	return which + " " + d.Kind
}

// Intact reports whether the stored chain verifies and equals the local
// one.
func (c *Comparison) Intact() bool { return c.Problem == nil && len(c.Differences) == 0 }

// Verify checks run runID's stored chain, with the transcript verifier,
// row by row, and against local, the run's local transcript, when it is
// not nil (docs/store.md, "Verifying"). A stored row someone UPDATEd no
// longer verifies: its line no longer hashes to its hash, or the next row
// no longer chains to it, or it differs from the local copy. A run the
// store has no event of is ErrNotFound.
func (s *Store) Verify(ctx context.Context, runID string, local *transcript.Transcript) (*Comparison, error) {
	var rows []storedRow
	var headSeq int64
	var headHash string
	// One snapshot for the rows and the head, so that a run being written
	// is seen at one moment.
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		if rows, err = s.rows(ctx, tx, runID, 0); err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `SELECT seq, hash FROM `+s.table("heads")+` WHERE run_id = $1`, runID).Scan(&headSeq, &headHash)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("transcript store %s: verify run %s: %w", s.service, runID, err)
	}
	if len(rows) == 0 && headSeq == 0 {
		return nil, fmt.Errorf("%w %q in the transcript store", ErrNotFound, runID)
	}
	c := &Comparison{RunID: runID, Stored: int64(len(rows)), Head: headHash}
	if c.Problem, err = verifyRows(rows, headSeq, headHash); err != nil {
		return nil, fmt.Errorf("transcript store: verify run %s: %w", runID, err)
	}
	if local != nil {
		c.Local = len(local.Events)
		c.Differences = compare(rows, local.Events)
	}
	return c, nil
}

// verifyRows checks stored rows with the transcript verifier (through a
// temporary file: it reads files), then each row's columns against its
// line, then the head against the last row.
func verifyRows(rows []storedRow, headSeq int64, headHash string) (*transcript.Problem, error) {
	f, err := os.CreateTemp("", "runbook-store-*.jsonl")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	_, err = f.Write(joinLines(rows))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	rep, err := transcript.Verify(f.Name())
	if err != nil {
		return nil, err
	}
	if rep.Problem != nil {
		return rep.Problem, nil
	}
	if rep.Torn != nil {
		// A stored line is never torn: one that is not JSON was changed.
		return &transcript.Problem{Line: rep.Torn.Line, Kind: transcript.ProblemNotJSON, Detail: "the stored line was changed"}, nil
	}
	t, err := transcript.Read(f.Name())
	if err != nil {
		return nil, err
	}
	for i, r := range rows {
		ev := t.Events[i]
		if r.seq != ev.Seq || r.prev != ev.Prev || r.hash != ev.Hash || r.typ != ev.Type || !r.time.Equal(ev.Time) {
			return &transcript.Problem{Line: i + 1, Seq: r.seq, Kind: transcript.ProblemMalformed,
				Detail: "the row's columns do not match its line: the row was changed after it was stored"}, nil
		}
	}
	last, lastHash := int64(0), ""
	if n := len(rows); n > 0 {
		last, lastHash = rows[n-1].seq, rows[n-1].hash
	}
	if headSeq != last || headHash != lastHash {
		return &transcript.Problem{Line: len(rows), Seq: last, Kind: ProblemHead,
			Detail: fmt.Sprintf("the head is event %d, hash %s, but the last stored row is event %d, hash %s: rows were removed or the head changed",
				headSeq, orNone(headHash), last, orNone(lastHash))}, nil
	}
	return nil, nil
}

// ProblemHead is the Problem kind of a head that does not name the last
// stored row.
const ProblemHead = "head does not match"

// compare lists where the stored rows and the local events differ.
func compare(rows []storedRow, local []transcript.Event) []Difference {
	var out []Difference
	n := min(len(rows), len(local))
	for i := 0; i < n; i++ {
		if rows[i].raw != string(local[i].Raw) {
			// Everything after a changed event differs too, through
			// prev: the first is what matters.
			out = append(out, Difference{Kind: DiffChanged, First: int64(i + 1), Last: int64(i + 1), StoredHash: rows[i].hash, LocalHash: local[i].Hash})
			return out
		}
	}
	switch {
	case len(local) > n:
		out = append(out, Difference{Kind: DiffLocalOnly, First: int64(n + 1), Last: int64(len(local))})
	case len(rows) > n:
		out = append(out, Difference{Kind: DiffStoredOnly, First: int64(n + 1), Last: int64(len(rows))})
	}
	return out
}

// event makes a transcript event of a stored row: its header from the
// row's columns (append_event read them from the line), its fields from
// the line.
func (r storedRow) event() (transcript.Event, error) {
	ev := transcript.Event{Seq: r.seq, Time: r.time.UTC(), Type: r.typ, Prev: r.prev, Hash: r.hash, Line: int(r.seq), Raw: []byte(r.raw)}
	if err := json.Unmarshal(ev.Raw, &ev.Fields); err != nil {
		return ev, fmt.Errorf("event %d: %w", r.seq, err)
	}
	for _, k := range []string{"seq", "time", "type", "prev", "hash"} {
		delete(ev.Fields, k)
	}
	return ev, nil
}
