package lock

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Defaults of a PostgreSQL lock URL.
const (
	DefaultPostgresTable          = "runbook_lock_holders"
	DefaultPostgresConnectTimeout = 5 * time.Second
	// DefaultPostgresCheck is how often a held lock's connection is
	// checked when nothing arrives on it: a server that is killed or
	// terminates the session is noticed at once, a network that silently
	// drops the connection within this and the ping's timeout.
	DefaultPostgresCheck = 5 * time.Second
)

// pgCallTimeout bounds each call but the wait for a held lock.
const pgCallTimeout = 10 * time.Second

// PostgresConfig says where a PostgreSQL lock lives.
type PostgresConfig struct {
	// URL is a postgres:// connection URL (any libpq keyword the pgx
	// driver knows may be in its query).
	URL string
	// Table holds the holder records, created when missing (default
	// DefaultPostgresTable, in the connection's search path).
	Table string
	// ConnectTimeout bounds connecting (default 5s).
	ConnectTimeout time.Duration
	// Check is how often a held lock's connection is pinged when idle
	// (default 5s).
	Check time.Duration
}

// NewPostgres returns a Locker on PostgreSQL session advisory locks
// (docs/store.md, "Locks"), so that a team with a transcript store needs no
// other service:
//
//   - each Acquire opens a connection of its own, which the lease keeps:
//     the lock is pg_try_advisory_lock (pg_advisory_lock under lock_timeout
//     when it waits) on hashtextextended('runbook lock ' || name, 0), held
//     by the session, so the server frees it when the connection ends,
//     however the holder died;
//   - the holder record ({run_id, operator, host, pid, since} and the
//     session's backend pid) is written to Table under the lock name once
//     the lock is taken, and deleted on Release; whoever finds the lock
//     held reads the record whose backend pid holds the advisory lock, so a
//     record left by a holder that died names nobody;
//   - the lease implements Losable: its channel closes when the connection
//     is lost (the server ended the session, went away, or stopped
//     answering pings), since from then on another run may take the lock.
//
// Like the etcd lock it is not re-entrant. An Acquire that cannot reach the
// server, or create the table, returns an *UnavailableError.
func NewPostgres(cfg PostgresConfig) Locker {
	if cfg.Table == "" {
		cfg.Table = DefaultPostgresTable
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultPostgresConnectTimeout
	}
	if cfg.Check <= 0 {
		cfg.Check = DefaultPostgresCheck
	}
	return &pgLocker{cfg: cfg}
}

type pgLocker struct {
	cfg PostgresConfig
}

// service names the server in messages, without its password.
func (l *pgLocker) service(cc *pgx.ConnConfig) string {
	if cc == nil {
		return "PostgreSQL"
	}
	return fmt.Sprintf("PostgreSQL at %s:%d/%s", cc.Host, cc.Port, cc.Database)
}

// pgLockKey is the advisory lock key of a lock name.
const pgLockKey = `hashtextextended('runbook lock ' || $1, 0)`

// Acquire implements Locker. Zero PID, Host and Since in h are filled in
// with this process's pid, hostname and the current time.
func (l *pgLocker) Acquire(ctx context.Context, name string, h Holder, wait time.Duration) (_ Lease, err error) {
	if name == "" {
		return nil, errors.New("acquire lock: empty lock name")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("acquire lock %q: %w", name, err)
	}
	h = withDefaults(h)
	cc, err := pgx.ParseConfig(l.cfg.URL)
	if err != nil {
		return nil, &UnavailableError{Name: name, Service: "PostgreSQL", Err: errors.New("the lock URL does not parse")}
	}
	cc.ConnectTimeout = l.cfg.ConnectTimeout
	service := l.service(cc)
	unavailable := func(err error) error {
		if ctx.Err() != nil {
			return fmt.Errorf("acquire lock %q: %w", name, ctx.Err())
		}
		return &UnavailableError{Name: name, Service: service, Err: err}
	}
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return nil, unavailable(err)
	}
	defer func() {
		if err != nil {
			closeCtx, cancel := context.WithTimeout(context.Background(), pgCallTimeout)
			_ = conn.Close(closeCtx)
			cancel()
		}
	}()
	// The server must not end the idle session that holds the lock
	// (idle_session_timeout, PostgreSQL 14 and later: an older server has
	// no such timeout, and refuses the name).
	var pgErr *pgconn.PgError
	if _, err := conn.Exec(ctx, `SET idle_session_timeout = 0`); err != nil && !(errors.As(err, &pgErr) && pgErr.Code == "42704") {
		return nil, unavailable(err)
	}
	table := pgx.Identifier{l.cfg.Table}.Sanitize()
	if err := l.ensureTable(ctx, conn); err != nil {
		return nil, unavailable(fmt.Errorf("prepare table %s: %w", l.cfg.Table, err))
	}

	locked, err := takeLock(ctx, conn, name, wait)
	if err != nil {
		return nil, unavailable(err)
	}
	if !locked {
		return nil, &HeldError{Name: name, Holder: l.holder(ctx, conn, name)}
	}
	err = recordHolder(ctx, conn, table, name, h)
	if err != nil {
		return nil, unavailable(fmt.Errorf("record the holder: %w", err))
	}
	watchCtx, stop := context.WithCancel(context.Background())
	lease := &pgLease{name: name, table: table, conn: conn, lost: make(chan struct{}), stop: stop, stopped: make(chan struct{})}
	go lease.watch(watchCtx, l.cfg.Check)
	return lease, nil
}

// ensureTable creates the holder table when it is missing, under a
// transaction-level advisory lock so that two first uses do not race. A
// table that exists is only read, so that a role without CREATE can use
// one made for it.
func (l *pgLocker) ensureTable(ctx context.Context, conn *pgx.Conn) error {
	ctx, cancel := context.WithTimeout(ctx, pgCallTimeout)
	defer cancel()
	exists := func(q interface {
		QueryRow(context.Context, string, ...any) pgx.Row
	}) (bool, error) {
		var ok bool
		// pg_class with the statement's snapshot, not the catalog cache
		// (to_regclass), which may not know of a table created a moment ago.
		err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_class WHERE relname = $1
			AND relnamespace IN (SELECT oid FROM pg_namespace WHERE nspname = ANY (current_schemas(false))) AND relkind = 'r')`, l.cfg.Table).Scan(&ok)
		return ok, err
	}
	if ok, err := exists(conn); err != nil || ok {
		return err
	}
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('runbook lock holders', 0))`); err != nil {
			return err
		}
		if ok, err := exists(tx); err != nil || ok {
			return err
		}
		_, err := tx.Exec(ctx, `CREATE TABLE `+pgx.Identifier{l.cfg.Table}.Sanitize()+` (
			name        text PRIMARY KEY,
			run_id      text NOT NULL DEFAULT '',
			operator    text NOT NULL DEFAULT '',
			host        text NOT NULL DEFAULT '',
			pid         integer NOT NULL DEFAULT 0,
			since       timestamptz,
			backend_pid integer NOT NULL)`)
		return err
	})
}

// holder reads the record of whoever holds lock name: the one whose
// session holds its advisory lock. What cannot be read is left zero.
func (l *pgLocker) holder(ctx context.Context, conn *pgx.Conn, name string) Holder {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pgCallTimeout)
	defer cancel()
	var h Holder
	var since *time.Time
	// A bigint advisory key shows in pg_locks as classid (its high 32
	// bits) and objid (its low 32 bits), with objsubid 1.
	err := conn.QueryRow(ctx, `SELECT run_id, operator, host, pid, since FROM `+pgx.Identifier{l.cfg.Table}.Sanitize()+`
		WHERE name = $1 AND backend_pid IN (
			SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1
			AND classid::bigint = ((`+pgLockKey+` >> 32) & 4294967295)
			AND objid::bigint = (`+pgLockKey+` & 4294967295))`, name).Scan(&h.RunID, &h.Operator, &h.Host, &h.PID, &since)
	if err != nil {
		return Holder{}
	}
	if since != nil {
		h.Since = *since
	}
	return h
}

type pgLease struct {
	name    string
	table   string
	conn    *pgx.Conn
	lost    chan struct{}
	stop    context.CancelFunc
	stopped chan struct{}

	mu       sync.Mutex
	released bool
	lostOnce sync.Once
}

func (l *pgLease) Name() string { return l.name }

// Lost implements Losable: closed once the lock's connection is lost, and
// once the lease is released.
func (l *pgLease) Lost() <-chan struct{} { return l.lost }

func (l *pgLease) markLost() { l.lostOnce.Do(func() { close(l.lost) }) }

// watch reads the connection while the lock is held, so that the server
// ending the session (pg_terminate_backend, a restart) is seen as soon as it
// happens, and pings it every check when nothing comes. It returns when the
// connection is lost or the lease released.
func (l *pgLease) watch(ctx context.Context, check time.Duration) {
	defer close(l.stopped)
	for {
		wctx, cancel := context.WithTimeout(ctx, check)
		_, err := l.conn.WaitForNotification(wctx)
		idle := wctx.Err() != nil
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && !idle:
			l.markLost()
			return
		case idle:
			pctx, cancel := context.WithTimeout(ctx, pgCallTimeout)
			err := l.conn.Ping(pctx)
			cancel()
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				l.markLost()
				return
			}
		}
	}
}

// Release deletes the holder record and unlocks, then closes the
// connection. A lease whose connection is lost has nothing to free: the
// server freed the lock when the session ended.
func (l *pgLease) Release() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released {
		return nil
	}
	l.released = true
	l.stop()
	<-l.stopped
	defer l.markLost()
	ctx, cancel := context.WithTimeout(context.Background(), pgCallTimeout)
	defer cancel()
	select {
	case <-l.lost:
		_ = l.conn.Close(ctx)
		return nil
	default:
	}
	var errs []error
	if _, err := l.conn.Exec(ctx, `DELETE FROM `+l.table+` WHERE name = $1 AND backend_pid = pg_backend_pid()`, l.name); err != nil {
		errs = append(errs, fmt.Errorf("release lock %q: delete the holder record: %w", l.name, err))
	}
	if _, err := l.conn.Exec(ctx, `SELECT pg_advisory_unlock(`+pgLockKey+`)`, l.name); err != nil {
		errs = append(errs, fmt.Errorf("release lock %q: %w (closing the connection frees it)", l.name, err))
	}
	if err := l.conn.Close(ctx); err != nil {
		errs = append(errs, fmt.Errorf("release lock %q: close the connection: %w", l.name, err))
	}
	return errors.Join(errs...)
}

// takeLock takes the advisory lock of name on conn: at once (wait <= 0) or
// waiting up to wait. It reports false when another session holds it.
func takeLock(ctx context.Context, conn *pgx.Conn, name string, wait time.Duration) (locked bool, err error) {
	if wait <= 0 {
		callCtx, cancel := context.WithTimeout(ctx, pgCallTimeout)
		err = conn.QueryRow(callCtx, `SELECT pg_try_advisory_lock(`+pgLockKey+`)`, name).Scan(&locked)
		cancel()
	} else {
		// lock_timeout bounds the wait on the server; ctx, on the client.
		_, err = conn.Exec(ctx, `SELECT set_config('lock_timeout', $1, false)`, fmt.Sprintf("%dms", max(1, wait.Milliseconds())))
		if err == nil {
			_, err = conn.Exec(ctx, `SELECT pg_advisory_lock(`+pgLockKey+`)`, name)
			locked = err == nil
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == "55P03" { // lock_not_available
				err = nil
			}
		}
		if err == nil {
			_, err = conn.Exec(ctx, `SELECT set_config('lock_timeout', '0', false)`)
		}
	}
	return locked, err
}

// recordHolder records who holds the lock of name, and the session that
// holds it, in table.
func recordHolder(ctx context.Context, conn *pgx.Conn, table, name string, h Holder) error {
	callCtx, cancel := context.WithTimeout(ctx, pgCallTimeout)
	_, err := conn.Exec(callCtx, `INSERT INTO `+table+` (name, run_id, operator, host, pid, since, backend_pid)
		VALUES ($1, $2, $3, $4, $5, $6, pg_backend_pid())
		ON CONFLICT (name) DO UPDATE SET run_id = EXCLUDED.run_id, operator = EXCLUDED.operator, host = EXCLUDED.host,
			pid = EXCLUDED.pid, since = EXCLUDED.since, backend_pid = EXCLUDED.backend_pid`,
		name, h.RunID, h.Operator, h.Host, h.PID, h.Since)
	cancel()
	return err
}
