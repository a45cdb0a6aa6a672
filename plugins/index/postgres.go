package index

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/sdk"
)

// The postgres backend's names (see the package doc).
const (
	defaultPGSchema = "public"
	pgBuildsTable   = "runbook_index_builds"
	pgHistoryTable  = "runbook_index_history"
	// pgMaxIdent is the longest PostgreSQL identifier in bytes; a longer
	// one is cut short silently, so it is refused instead.
	pgMaxIdent = 63
	// pgMaxName is the longest index name: NAME_VERSION must fit in
	// pgMaxIdent with a version such as 20261126t140512z_001.
	pgMaxName = pgMaxIdent - len("_20261126t140512z_001")
)

// Bounds of the postgres backend's own waits, within the step's context.
const (
	// pgSetupTimeout bounds connecting and preparing the metadata tables
	// before a lock is taken; the lock wait itself has only the step's.
	pgSetupTimeout = 30 * time.Second
	// pgReleaseTimeout bounds ending the lock's transaction.
	pgReleaseTimeout = 10 * time.Second
	// pgCancelGrace is how long a cancelled statement has to end after its
	// cancel request before the connection is cut.
	pgCancelGrace = 5 * time.Second
)

// postgresBackend keeps indexes in a PostgreSQL schema: a table per build,
// a view per index that names the live build's table, and two metadata
// tables (see the package doc).
type postgresBackend struct {
	schema string
	cfg    *pgxpool.Config
	// secrets are masked out of every error: the DSN and its password.
	secrets secrets
	// now is the clock versions are named after; tests set it.
	now func() time.Time
	// embeddingType, when set, stands for the vector extension's type
	// instead of detecting it; tests set it.
	embeddingType string

	mu   sync.Mutex
	pool *pgxpool.Pool
	// metaReady says the schema and metadata tables are known to exist.
	metaReady bool
	// locks are the index locks this process holds, by index name.
	locks map[string]*pgLock
	// pending are the builds made and not yet made live or discarded, by
	// table name.
	pending map[string]*Manifest
}

// pgLock is a held index lock: a transaction-level advisory lock in an open
// transaction of a connection of its own.
type pgLock struct {
	conn *pgx.Conn
	tx   pgx.Tx
	pid  uint32
}

// postgresConfig checks the postgres backend's configuration: dsn (required,
// parsed but not connected to) and schema.
func postgresConfig(config cty.Value) (*postgresBackend, error) {
	v := plugins.Attr(config, "dsn")
	if v.IsNull() || strings.TrimSpace(v.AsString()) == "" {
		return nil, sdk.ConfigError("dsn", "Missing PostgreSQL connection string",
			`The postgres backend needs dsn, a connection string such as "postgres://runbook@db.internal:5432/rag"; keep its password out of files: dsn = env("RUNBOOK_INDEX_DSN").`)
	}
	dsn := v.AsString()
	schema := defaultPGSchema
	if v := plugins.Attr(config, "schema"); !v.IsNull() {
		schema = v.AsString()
	}
	if strings.TrimSpace(schema) == "" || strings.ContainsRune(schema, 0) || len(schema) > pgMaxIdent {
		return nil, sdk.ConfigError("schema", "Invalid schema", fmt.Sprintf("%q cannot name a PostgreSQL schema: it is 1 to %d bytes, without NUL.", schema, pgMaxIdent))
	}
	s := secrets{dsn}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, sdk.ConfigError("dsn", "Invalid PostgreSQL connection string", s.mask(parseErrorText(err)))
	}
	if pw := cfg.ConnConfig.Password; pw != "" {
		s = append(s, pw)
	}
	// A cancelled step cancels its statement on the server too (a lock
	// wait, a COPY, an index build), not only the client's read.
	cfg.ConnConfig.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: pgCancelGrace}
	}
	// A statement run under the action's span is a client span under it.
	cfg.ConnConfig.Tracer = newPGTracer()
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "runbook"
	}
	return newPostgresBackend(cfg, schema, s), nil
}

func newPostgresBackend(cfg *pgxpool.Config, schema string, s secrets) *postgresBackend {
	return &postgresBackend{
		schema:  schema,
		cfg:     cfg,
		secrets: s,
		now:     time.Now,
		locks:   map[string]*pgLock{},
		pending: map[string]*Manifest{},
	}
}

// backquoted is the connection string a pgx parse error quotes.
var backquoted = regexp.MustCompile("`[^`]*`")

// parseErrorText is a DSN parse error without the DSN it quotes (pgx masks
// only the password, and only where it can tell it apart).
func parseErrorText(err error) string {
	return backquoted.ReplaceAllString(err.Error(), "the connection string")
}

// secrets are strings that never appear in an error: the DSN and its
// password.
type secrets []string

// minSecret is the shortest secret masked: masking every "a" of a message
// for a one-letter password would only garble it.
const minSecret = 3

func (s secrets) mask(text string) string {
	for _, x := range s {
		if len(x) >= minSecret {
			text = strings.ReplaceAll(text, x, "***")
		}
	}
	return text
}

// maskedError is an error whose text had a secret masked out.
type maskedError struct {
	text string
	err  error
}

func (e *maskedError) Error() string { return e.text }
func (e *maskedError) Unwrap() error { return e.err }

// maskErr masks the secrets out of *err; every method of the backend that
// can fail defers it.
func (b *postgresBackend) maskErr(err *error) {
	if *err == nil {
		return
	}
	if text := (*err).Error(); b.secrets.mask(text) != text {
		*err = &maskedError{text: b.secrets.mask(text), err: *err}
	}
}

// Close closes the connections the backend holds.
func (b *postgresBackend) Close() error {
	b.mu.Lock()
	pool, locks := b.pool, b.locks
	b.pool, b.locks = nil, map[string]*pgLock{}
	b.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), pgReleaseTimeout)
	defer cancel()
	for _, l := range locks {
		_ = l.conn.Close(ctx)
	}
	if pool != nil {
		pool.Close()
	}
	return nil
}

// db returns the connection pool, made on first use: configuring the
// plugin needs no server.
func (b *postgresBackend) db() (*pgxpool.Pool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pool == nil {
		pool, err := pgxpool.NewWithConfig(context.Background(), b.cfg.Copy())
		if err != nil {
			return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
		}
		b.pool = pool
	}
	return b.pool, nil
}

// read runs fn in a read-only transaction with one snapshot: what Status,
// Manifest and Leftovers see is consistent, and they cannot change anything.
func (b *postgresBackend) read(ctx context.Context, fn func(pgx.Tx) error) error {
	pool, err := b.db()
	if err != nil {
		return err
	}
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// change runs fn in a transaction of its own, committed when fn succeeds,
// once it has checked that this process still holds the index's lock: a
// lock whose connection ended must not let a change through.
func (b *postgresBackend) change(ctx context.Context, name string, fn func(pgx.Tx) error) error {
	b.mu.Lock()
	l := b.locks[name]
	b.mu.Unlock()
	if l == nil {
		return errors.New("a change needs the index's lock, which this process does not hold")
	}
	pool, err := b.db()
	if err != nil {
		return err
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	err = func() error {
		var held bool
		err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = $1)`, l.pid).Scan(&held)
		if err != nil {
			return fmt.Errorf("check the lock: %w", err)
		}
		if !held {
			return errors.New("the lock's connection to PostgreSQL has ended, so the lock is lost; nothing was changed")
		}
		return fn(tx)
	}()
	if err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// checkName refuses the index names PostgreSQL cannot hold.
func (b *postgresBackend) checkName(name string) error {
	if len(name) > pgMaxName {
		return sdk.ArgError("name", "Invalid index name", fmt.Sprintf("%q is too long for the postgres backend: builds are tables named NAME_VERSION and PostgreSQL names hold %d bytes, so an index name holds at most %d.", name, pgMaxIdent, pgMaxName))
	}
	if name == pgBuildsTable || name == pgHistoryTable {
		return sdk.ArgError("name", "Invalid index name", fmt.Sprintf("%q is the name of one of the postgres backend's own tables.", name))
	}
	return nil
}

// qualified is a relation of the schema, quoted for SQL.
func (b *postgresBackend) qualified(rel string) string {
	return pgx.Identifier{b.schema, rel}.Sanitize()
}

// display is a relation of the schema, for people.
func (b *postgresBackend) display(rel string) string { return b.schema + "." + rel }

// buildTable names a build's table: NAME_VERSION with the version in lower
// case and "_" for "-", so that it needs no quoting where NAME does not.
func buildTable(name, version string) string {
	return name + "_" + strings.ToLower(strings.ReplaceAll(version, "-", "_"))
}

// versionOfTable is the version of a build table of the index, if table is
// one.
func versionOfTable(name, table string) (string, bool) {
	rest, ok := strings.CutPrefix(table, name+"_")
	if !ok {
		return "", false
	}
	version := strings.Replace(strings.ToUpper(rest), "_", "-", 1)
	if _, _, ok := splitVersion(version); !ok || buildTable(name, version) != table {
		return "", false
	}
	return version, true
}

// relation looks up a relation of the schema: its oid and relkind; oid 0
// when there is none.
func (b *postgresBackend) relation(ctx context.Context, tx pgx.Tx, rel string) (oid uint32, kind string, err error) {
	err = tx.QueryRow(ctx, `SELECT c.oid, c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relname = $2`, b.schema, rel).Scan(&oid, &kind)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("look up %s: %w", b.display(rel), err)
	}
	return oid, kind, nil
}

// hasMeta says whether the metadata tables exist; nothing read-only
// creates them.
func (b *postgresBackend) hasMeta(ctx context.Context, tx pgx.Tx) (bool, error) {
	for _, t := range []string{pgBuildsTable, pgHistoryTable} {
		oid, _, err := b.relation(ctx, tx, t)
		if err != nil || oid == 0 {
			return false, err
		}
	}
	return true, nil
}

// ensureMeta creates the schema and the metadata tables if they are
// missing, under an advisory lock of the schema's so that two first runs
// do not race.
func (b *postgresBackend) ensureMeta(ctx context.Context) error {
	b.mu.Lock()
	ready := b.metaReady
	b.mu.Unlock()
	if ready {
		return nil
	}
	pool, err := b.db()
	if err != nil {
		return err
	}
	err = pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		return b.createMeta(ctx, tx)
	})
	if err != nil {
		return fmt.Errorf("prepare the metadata tables in schema %s: %w", b.schema, err)
	}
	b.mu.Lock()
	b.metaReady = true
	b.mu.Unlock()
	return nil
}

// createMeta is ensureMeta's transaction: the advisory lock, then the
// schema and the tables that are missing.
func (b *postgresBackend) createMeta(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "runbook index metadata "+b.schema); err != nil {
		return err
	}
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, b.schema).Scan(&exists); err != nil {
		return err
	}
	// Only a missing schema is created, so that a role without
	// CREATE on the database can use one made for it.
	if !exists {
		if _, err := tx.Exec(ctx, `CREATE SCHEMA `+pgx.Identifier{b.schema}.Sanitize()); err != nil {
			return err
		}
	}
	builds, history := b.qualified(pgBuildsTable), b.qualified(pgHistoryTable)
	for _, stmt := range []string{
		`CREATE TABLE IF NOT EXISTS ` + builds + ` (
			name       text        NOT NULL,
			version    text        NOT NULL,
			table_name text        NOT NULL UNIQUE,
			doc_count  bigint      NOT NULL,
			source     text        NOT NULL,
			built_at   timestamptz NOT NULL,
			sha256     text        NOT NULL,
			extra      jsonb,
			live       boolean     NOT NULL DEFAULT false,
			PRIMARY KEY (name, version))`,
		`CREATE UNIQUE INDEX IF NOT EXISTS runbook_index_builds_one_live ON ` + builds + ` (name) WHERE live`,
		`CREATE TABLE IF NOT EXISTS ` + history + ` (
			id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
			time         timestamptz NOT NULL,
			name         text        NOT NULL,
			action       text        NOT NULL,
			from_version text,
			to_version   text,
			operator     text        NOT NULL DEFAULT '',
			run_id       text        NOT NULL DEFAULT '')`,
		`CREATE INDEX IF NOT EXISTS runbook_index_history_name ON ` + history + ` (name, id)`,
	} {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return err
		}
	}
	return nil
}

// setupContext is ctx for the work before a lock wait: it keeps ctx's
// cancellation but not its deadline, which the plugin sets to notice a
// lock held by someone else, not a slow connection. pgSetupTimeout bounds it.
func setupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	setup, cancel := context.WithTimeout(context.WithoutCancel(ctx), pgSetupTimeout)
	stop := context.AfterFunc(ctx, func() {
		if errors.Is(ctx.Err(), context.Canceled) {
			cancel()
		}
	})
	return setup, func() {
		stop()
		cancel()
	}
}

func (b *postgresBackend) Lock(ctx context.Context, name string) (_ func(), err error) {
	defer b.maskErr(&err)
	if err := b.checkName(name); err != nil {
		return nil, err
	}
	setup, cancel := setupContext(ctx)
	defer cancel()
	if err := b.ensureMeta(setup); err != nil {
		return nil, fmt.Errorf("index %s: %w", name, err)
	}
	conn, err := pgx.ConnectConfig(setup, b.cfg.ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("index %s: connect to PostgreSQL: %w", name, err)
	}
	fail := func(err error) (func(), error) {
		closeCtx, cancel := context.WithTimeout(context.Background(), pgReleaseTimeout)
		defer cancel()
		_ = conn.Close(closeCtx)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("index %s: wait for the lock: %w", name, ctx.Err())
		}
		return nil, fmt.Errorf("index %s: take the lock: %w", name, err)
	}
	tx, err := conn.Begin(setup)
	if err != nil {
		return fail(err)
	}
	// The transaction stays open and idle while the change runs: the
	// server's timeouts must not end it, nor the wait for it.
	if _, err := tx.Exec(setup, `SELECT set_config('idle_in_transaction_session_timeout', '0', true),
		set_config('statement_timeout', '0', true), set_config('lock_timeout', '0', true)`); err != nil {
		return fail(err)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "runbook index "+b.schema+"."+name); err != nil {
		return fail(err)
	}
	l := &pgLock{conn: conn, tx: tx, pid: conn.PgConn().PID()}
	b.mu.Lock()
	b.locks[name] = l
	b.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			// Forgotten before it is released: the next holder, maybe
			// in this process, registers itself only once it has it.
			b.mu.Lock()
			if b.locks[name] == l {
				delete(b.locks, name)
			}
			b.mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), pgReleaseTimeout)
			defer cancel()
			_ = tx.Rollback(ctx)
			_ = conn.Close(ctx)
		})
	}, nil
}

func (b *postgresBackend) Status(ctx context.Context, name string) (st *State, err error) {
	defer b.maskErr(&err)
	if err := b.checkName(name); err != nil {
		return nil, err
	}
	err = b.read(ctx, func(tx pgx.Tx) error {
		var err error
		st, err = b.status(ctx, tx, name)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", name, err)
	}
	return st, nil
}

// status reads an index's state: its builds from the metadata, and the live
// one from the view's definition, which is what readers see. Every name is
// an index: one that was never built has no build yet, like an empty index
// folder of the file backend.
func (b *postgresBackend) status(ctx context.Context, tx pgx.Tx, name string) (*State, error) {
	st := &State{Name: name, Versions: []string{}}
	meta, err := b.hasMeta(ctx, tx)
	if err != nil {
		return nil, err
	}
	tables := map[string]string{} // build table → version
	if meta {
		rows, err := tx.Query(ctx, `SELECT version, table_name FROM `+b.qualified(pgBuildsTable)+` WHERE name = $1`, name)
		if err != nil {
			return nil, fmt.Errorf("list builds: %w", err)
		}
		var version, table string
		_, err = pgx.ForEachRow(rows, []any{&version, &table}, func() error {
			st.Versions = append(st.Versions, version)
			tables[table] = version
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("list builds: %w", err)
		}
		// Byte order, as the file backend's: the database's collation
		// may not sort "-" that way.
		sort.Strings(st.Versions)
	}
	view, kind, err := b.relation(ctx, tx, name)
	if err != nil {
		return nil, err
	}
	if view == 0 {
		return st, nil
	}
	if kind != "v" {
		return nil, fmt.Errorf("%s is not a view (relkind %q): it cannot be this index's view", b.display(name), kind)
	}
	table, err := b.viewTable(ctx, tx, name, view)
	if err != nil {
		return nil, err
	}
	live, ok := tables[table]
	if !ok {
		return nil, fmt.Errorf("the view %s reads %s, which is not one of the index's builds: the index is damaged", b.display(name), b.display(table))
	}
	m, err := b.manifest(ctx, tx, name, live)
	if err != nil {
		return nil, err
	}
	st.Live, st.LiveManifest = live, m
	return st, nil
}

// viewTable reads which table the view reads, from its definition: the
// relations its rewrite rule depends on (what pg_get_viewdef prints, without
// parsing SQL text). It must be exactly one table of the schema.
func (b *postgresBackend) viewTable(ctx context.Context, tx pgx.Tx, name string, view uint32) (string, error) {
	rows, err := tx.Query(ctx, `SELECT DISTINCT n.nspname::text, c.relname::text
		FROM pg_rewrite r
		JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
			AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> r.ev_class
		JOIN pg_class c ON c.oid = d.refobjid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE r.ev_class = $1 AND r.rulename = '_RETURN'
		ORDER BY 1, 2`, view)
	if err != nil {
		return "", fmt.Errorf("read the view's definition: %w", err)
	}
	var nsp, rel string
	var reads []string
	_, err = pgx.ForEachRow(rows, []any{&nsp, &rel}, func() error {
		reads = append(reads, nsp+"."+rel)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("read the view's definition: %w", err)
	}
	if len(reads) != 1 || nsp != b.schema {
		return "", fmt.Errorf("the view %s reads %s, not one build table of schema %s: it is not an index's view", b.display(name), orNothing(reads), b.schema)
	}
	return rel, nil
}

func orNothing(list []string) string {
	if len(list) == 0 {
		return "no table"
	}
	return strings.Join(list, ", ")
}

func (b *postgresBackend) Manifest(ctx context.Context, name, version string) (m *Manifest, err error) {
	defer b.maskErr(&err)
	err = b.read(ctx, func(tx pgx.Tx) error {
		var err error
		m, err = b.manifest(ctx, tx, name, version)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", name, err)
	}
	return m, nil
}

// manifest reads a kept build's manifest from the metadata.
func (b *postgresBackend) manifest(ctx context.Context, tx pgx.Tx, name, version string) (*Manifest, error) {
	m := &Manifest{}
	var extra []byte
	err := tx.QueryRow(ctx, `SELECT version, doc_count, source, built_at, sha256, extra FROM `+b.qualified(pgBuildsTable)+`
		WHERE name = $1 AND version = $2`, name, version).Scan(&m.Version, &m.DocCount, &m.Source, &m.BuiltAt, &m.SHA256, &extra)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("no build %s", version)
	}
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", version, err)
	}
	m.BuiltAt = m.BuiltAt.UTC()
	if len(extra) > 0 {
		if err := json.Unmarshal(extra, &m.Extra); err != nil {
			return nil, fmt.Errorf("build %s: extra: %w", version, err)
		}
	}
	return m, nil
}

// strayBuild is a build table no build of the metadata names: a build that
// was made and never made live (the change was interrupted between them).
type strayBuild struct{ table, version string }

// buildTables lists the schema's tables that are named like builds of the
// index, and the metadata's builds.
func (b *postgresBackend) buildTables(ctx context.Context, tx pgx.Tx, name string) (stray []strayBuild, versions []string, err error) {
	meta, err := b.hasMeta(ctx, tx)
	if err != nil {
		return nil, nil, err
	}
	kept := map[string]bool{}
	if meta {
		rows, err := tx.Query(ctx, `SELECT version, table_name FROM `+b.qualified(pgBuildsTable)+` WHERE name = $1`, name)
		if err != nil {
			return nil, nil, fmt.Errorf("list builds: %w", err)
		}
		var version, table string
		_, err = pgx.ForEachRow(rows, []any{&version, &table}, func() error {
			kept[table] = true
			versions = append(versions, version)
			return nil
		})
		if err != nil {
			return nil, nil, fmt.Errorf("list builds: %w", err)
		}
	}
	rows, err := tx.Query(ctx, `SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND starts_with(c.relname::text, $2)`, b.schema, name+"_")
	if err != nil {
		return nil, nil, fmt.Errorf("list tables: %w", err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, nil, fmt.Errorf("list tables: %w", err)
	}
	sort.Strings(tables)
	for _, t := range tables {
		if v, ok := versionOfTable(name, t); ok {
			versions = append(versions, v)
			if !kept[t] {
				stray = append(stray, strayBuild{table: t, version: v})
			}
		}
	}
	return stray, versions, nil
}

func (b *postgresBackend) Leftovers(ctx context.Context, name string) (out []Leftover, err error) {
	defer b.maskErr(&err)
	if err := b.checkName(name); err != nil {
		return nil, err
	}
	err = b.read(ctx, func(tx pgx.Tx) error {
		stray, _, err := b.buildTables(ctx, tx, name)
		for _, s := range stray {
			out = append(out, Leftover{Path: b.display(s.table), Why: "a build that was never made live"})
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", name, err)
	}
	return out, nil
}

func (b *postgresBackend) Recover(ctx context.Context, name string, ch Change, progress func(string)) (err error) {
	defer b.maskErr(&err)
	var removed []strayBuild
	err = b.change(ctx, name, func(tx pgx.Tx) error {
		stray, _, err := b.buildTables(ctx, tx, name)
		if err != nil {
			return err
		}
		for _, s := range stray {
			if _, err := tx.Exec(ctx, `DROP TABLE IF EXISTS `+b.qualified(s.table)); err != nil {
				return fmt.Errorf("remove %s: %w", b.display(s.table), err)
			}
			ch := ch
			ch.Action, ch.From, ch.To = "discard", s.version, ""
			if err := b.record(ctx, tx, name, ch); err != nil {
				return err
			}
		}
		removed = stray
		return nil
	})
	if err != nil {
		return fmt.Errorf("index %s: %w", name, err)
	}
	for _, s := range removed {
		say(progress, "removed %s (a build that was never made live, left by an interrupted change)", b.display(s.table))
	}
	return nil
}

func (b *postgresBackend) Build(ctx context.Context, name string, req BuildRequest) (m *Manifest, err error) {
	defer b.maskErr(&err)
	if err := b.checkName(name); err != nil {
		return nil, err
	}
	var existing []string
	err = b.read(ctx, func(tx pgx.Tx) error {
		var err error
		_, existing, err = b.buildTables(ctx, tx, name)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", name, err)
	}
	version := nextVersion(b.now(), existing)
	table := buildTable(name, version)
	out, err := os.MkdirTemp("", "runbook-index-build-")
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", name, err)
	}
	defer os.RemoveAll(out)
	say(req.Progress, "building %s %s from %s into %s", name, version, req.Source, b.display(table))
	m, err = runBuilder(ctx, name, version, out, req, b.now)
	if err != nil {
		return nil, err
	}
	count, err := b.load(ctx, name, table, out, m, req.Progress)
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", version, err)
	}
	m.DocCount = count
	b.mu.Lock()
	b.pending[table] = m
	b.mu.Unlock()
	return m, nil
}

func (b *postgresBackend) Discard(ctx context.Context, name, version string) (err error) {
	defer b.maskErr(&err)
	table := buildTable(name, version)
	err = b.change(ctx, name, func(tx pgx.Tx) error {
		var kept bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+b.qualified(pgBuildsTable)+` WHERE table_name = $1)`, table).Scan(&kept); err != nil {
			return err
		}
		if kept {
			return fmt.Errorf("build %s is kept, not pending: discard removes only a new build", version)
		}
		_, err := tx.Exec(ctx, `DROP TABLE IF EXISTS `+b.qualified(table))
		return err
	})
	if err != nil {
		return fmt.Errorf("index %s: discard build %s: %w", name, version, err)
	}
	b.mu.Lock()
	delete(b.pending, table)
	b.mu.Unlock()
	return nil
}

func (b *postgresBackend) Activate(ctx context.Context, name string, ch Change) (err error) {
	defer b.maskErr(&err)
	if _, _, ok := splitVersion(ch.To); !ok {
		return fmt.Errorf("index %s: %q is not a build name", name, ch.To)
	}
	b.mu.Lock()
	pending := b.pending[buildTable(name, ch.To)]
	b.mu.Unlock()
	err = b.change(ctx, name, func(tx pgx.Tx) error {
		if ch.CheckFrom {
			var live string
			err := tx.QueryRow(ctx, `SELECT coalesce(max(version), '') FROM `+b.qualified(pgBuildsTable)+` WHERE name = $1 AND live`, name).Scan(&live)
			if err != nil {
				return err
			}
			if live != ch.From {
				return &movedError{name: name, from: ch.From, to: live}
			}
		}
		if pending != nil {
			if err := b.insertBuild(ctx, tx, name, pending); err != nil {
				return err
			}
		}
		var table string
		err := tx.QueryRow(ctx, `SELECT table_name FROM `+b.qualified(pgBuildsTable)+` WHERE name = $1 AND version = $2`, name, ch.To).Scan(&table)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("no build %s to make live", ch.To)
		}
		if err != nil {
			return err
		}
		return b.swap(ctx, tx, name, ch.To, table, ch)
	})
	if err != nil {
		return fmt.Errorf("index %s: make %s live: %w", name, ch.To, err)
	}
	if pending != nil {
		b.mu.Lock()
		delete(b.pending, buildTable(name, pending.Version))
		b.mu.Unlock()
	}
	return nil
}

// insertBuild records a new build in the metadata.
func (b *postgresBackend) insertBuild(ctx context.Context, tx pgx.Tx, name string, m *Manifest) error {
	var extra []byte
	if len(m.Extra) > 0 {
		var err error
		if extra, err = json.Marshal(m.Extra); err != nil {
			return fmt.Errorf("record build %s: %w", m.Version, err)
		}
	}
	_, err := tx.Exec(ctx, `INSERT INTO `+b.qualified(pgBuildsTable)+` (name, version, table_name, doc_count, source, built_at, sha256, extra)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		name, m.Version, buildTable(name, m.Version), m.DocCount, noNUL(m.Source), m.BuiltAt, m.SHA256, extra)
	if err != nil {
		return fmt.Errorf("record build %s: %w", m.Version, err)
	}
	return nil
}

// swap points the index's view at a build's table, within tx: the live
// flags, the view and the history change in one commit, so a reader sees
// the old build or the new one, never neither.
func (b *postgresBackend) swap(ctx context.Context, tx pgx.Tx, name, version, table string, ch Change) error {
	oid, kind, err := b.relation(ctx, tx, table)
	if err != nil {
		return err
	}
	if oid == 0 || kind != "r" {
		return fmt.Errorf("the table of build %s, %s, is missing: the index is damaged", version, b.display(table))
	}
	if view, kind, err := b.relation(ctx, tx, name); err != nil {
		return err
	} else if view != 0 && kind != "v" {
		return fmt.Errorf("%s exists and is not a view (relkind %q): it cannot be this index's view", b.display(name), kind)
	}
	columns := "id, path, content, line, meta"
	vector, err := b.vectorType(ctx, tx)
	if err != nil {
		return err
	}
	if vector != "" {
		var has bool
		err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = $1 AND attname = 'embedding' AND attnum > 0 AND NOT attisdropped)`, oid).Scan(&has)
		if err != nil {
			return err
		}
		// Every build shows the column once the extension exists, so
		// that the view keeps its columns across a rollback.
		if has {
			columns += ", embedding"
		} else {
			columns += ", NULL::" + vector + " AS embedding"
		}
	}
	for _, stmt := range []string{
		`UPDATE ` + b.qualified(pgBuildsTable) + ` SET live = false WHERE name = $1 AND live AND version <> $2`,
		`UPDATE ` + b.qualified(pgBuildsTable) + ` SET live = true WHERE name = $1 AND version = $2 AND NOT live`,
	} {
		if _, err := tx.Exec(ctx, stmt, name, version); err != nil {
			return fmt.Errorf("mark the live build: %w", err)
		}
	}
	if _, err := tx.Exec(ctx, `CREATE OR REPLACE VIEW `+b.qualified(name)+` AS SELECT `+columns+` FROM `+b.qualified(table)); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42P16" {
			return fmt.Errorf("the view %s has other columns than build %s gives (%s): was it changed by hand? %w", b.display(name), version, columns, err)
		}
		return fmt.Errorf("switch the view %s: %w", b.display(name), err)
	}
	comment := fmt.Sprintf("runbook index %s: live build %s (table %s)", name, version, b.display(table))
	if err := b.comment(ctx, tx, "VIEW", name, comment); err != nil {
		return err
	}
	return b.record(ctx, tx, name, ch)
}

// comment sets the comment of a relation of the schema, quoted by the server.
func (b *postgresBackend) comment(ctx context.Context, tx pgx.Tx, kind, rel, text string) error {
	var stmt string
	err := tx.QueryRow(ctx, `SELECT format('COMMENT ON `+kind+` %I.%I IS %L', $1::text, $2::text, $3::text)`, b.schema, rel, noNUL(text)).Scan(&stmt)
	if err == nil {
		_, err = tx.Exec(ctx, stmt)
	}
	if err != nil {
		return fmt.Errorf("comment on %s: %w", b.display(rel), err)
	}
	return nil
}

// vectorType is the type of the embedding column, quoted for SQL: the
// vector extension's type, or "" when the extension is not installed.
func (b *postgresBackend) vectorType(ctx context.Context, tx pgx.Tx) (string, error) {
	if b.embeddingType != "" {
		return b.embeddingType, nil
	}
	var t string
	err := tx.QueryRow(ctx, `SELECT format('%I.%I', n.nspname, 'vector') FROM pg_extension e
		JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'vector'`).Scan(&t)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("look for the vector extension: %w", err)
	}
	return t, nil
}

func (b *postgresBackend) Remove(ctx context.Context, name, version string, ch Change) (err error) {
	defer b.maskErr(&err)
	err = b.change(ctx, name, func(tx pgx.Tx) error {
		var table string
		err := tx.QueryRow(ctx, `SELECT table_name FROM `+b.qualified(pgBuildsTable)+` WHERE name = $1 AND version = $2`, name, version).Scan(&table)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("no build %s", version)
		}
		if err != nil {
			return err
		}
		if view, kind, err := b.relation(ctx, tx, name); err != nil {
			return err
		} else if view != 0 && kind == "v" {
			live, err := b.viewTable(ctx, tx, name, view)
			if err != nil {
				return err
			}
			if live == table {
				return fmt.Errorf("build %s is live; it cannot be removed", version)
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM `+b.qualified(pgBuildsTable)+` WHERE name = $1 AND version = $2`, name, version); err != nil {
			return err
		}
		// The view's dependency on its table makes PostgreSQL refuse to
		// drop the live build's, whatever happened above.
		if _, err := tx.Exec(ctx, `DROP TABLE IF EXISTS `+b.qualified(table)); err != nil {
			return err
		}
		ch.From, ch.To = version, ""
		return b.record(ctx, tx, name, ch)
	})
	if err != nil {
		return fmt.Errorf("index %s: remove build %s: %w", name, version, err)
	}
	return nil
}

// record appends a change to the history, within the change's transaction.
func (b *postgresBackend) record(ctx context.Context, tx pgx.Tx, name string, ch Change) error {
	_, err := tx.Exec(ctx, `INSERT INTO `+b.qualified(pgHistoryTable)+` (time, name, action, from_version, to_version, operator, run_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		b.now().UTC(), name, ch.Action, nullString(ch.From), nullString(ch.To), noNUL(ch.Operator), noNUL(ch.RunID))
	if err != nil {
		return fmt.Errorf("record the change in %s: %w", b.display(pgHistoryTable), err)
	}
	return nil
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// noNUL replaces NUL characters, which PostgreSQL text cannot hold.
func noNUL(s string) string {
	if !strings.ContainsRune(s, 0) {
		return s
	}
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}
