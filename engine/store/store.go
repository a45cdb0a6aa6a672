package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/runbookdev/runbook/engine/exitcode"
)

// DefaultSchema is the PostgreSQL schema the store's tables live in.
const DefaultSchema = "runbook"

// ApplicationName is the store's sessions' application_name, unless the
// URL sets one.
const ApplicationName = "runbook store"

// DefaultConnectTimeout bounds Open's first connection.
const DefaultConnectTimeout = 5 * time.Second

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one embedded schema version.
type migration struct {
	version int
	sql     string
}

var migrationName = regexp.MustCompile(`^(\d{3})\.sql$`)

// migrations are the embedded schema versions, in order.
func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migration %s: want NNN.sql", e.Name())
		}
		b, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		n, _ := strconv.Atoi(m[1])
		out = append(out, migration{version: n, sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %03d.sql: versions must count 1, 2, …", m.version)
		}
	}
	return out, nil
}

// SchemaVersion is the schema version this build of runbook migrates to.
func SchemaVersion() int {
	ms, err := migrations()
	if err != nil {
		return 0
	}
	return len(ms)
}

// Option configures Open.
type Option func(*config)

type config struct {
	schema         string
	connectTimeout time.Duration
}

// WithSchema keeps the store in schema instead of DefaultSchema.
func WithSchema(schema string) Option { return func(c *config) { c.schema = schema } }

// WithConnectTimeout bounds how long Open waits for the store (default
// DefaultConnectTimeout).
func WithConnectTimeout(d time.Duration) Option { return func(c *config) { c.connectTimeout = d } }

// Store is an open transcript store. It is safe for concurrent use.
type Store struct {
	pool    *pgxpool.Pool
	schema  string
	service string // "PostgreSQL at HOST:PORT/DB", for messages
	timeout time.Duration
}

// UnreachableError is a store that could not be reached or used: the CLI
// refuses the run unless --offline (docs/store.md, "When the store is
// down").
type UnreachableError struct {
	Service string // "PostgreSQL at HOST:PORT/DB"
	Err     error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("transcript store %s cannot be reached: %v", e.Service, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// ExitCode is 3: the run is refused before it starts.
func (e *UnreachableError) ExitCode() int { return exitcode.Refused }

// URLError is a store URL that is not PostgreSQL's or does not parse; its
// message never holds the URL's password.
type URLError struct {
	Msg string
}

func (e *URLError) Error() string { return e.Msg }

// ExitCode is 2: bad input.
func (e *URLError) ExitCode() int { return exitcode.BadInput }

// Open connects to the store a postgres:// URL names, checks that it
// answers, and migrates its schema when it is older than this build's.
// An unreachable store is an *UnreachableError, a bad URL a *URLError; a
// schema newer than this build's is an error of its own.
func Open(ctx context.Context, rawURL string, opts ...Option) (*Store, error) {
	cfg := config{schema: DefaultSchema, connectTimeout: DefaultConnectTimeout}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.schema == "" {
		return nil, errors.New("transcript store: empty schema name")
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, &URLError{Msg: fmt.Sprintf("transcript store URL %s: want postgres://USER@HOST:PORT/DATABASE", redactURL(rawURL))}
	}
	pcfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		return nil, &URLError{Msg: fmt.Sprintf("transcript store URL %s: %v", redactURL(rawURL), redactErr(err, u))}
	}
	pcfg.ConnConfig.ConnectTimeout = cfg.connectTimeout
	if _, set := pcfg.ConnConfig.RuntimeParams["application_name"]; !set {
		// So that an administrator tells the store's sessions apart.
		pcfg.ConnConfig.RuntimeParams["application_name"] = ApplicationName
	}
	s := &Store{
		schema:  cfg.schema,
		service: fmt.Sprintf("PostgreSQL at %s:%d/%s", pcfg.ConnConfig.Host, pcfg.ConnConfig.Port, pcfg.ConnConfig.Database),
		timeout: cfg.connectTimeout,
	}
	s.pool, err = pgxpool.NewWithConfig(context.Background(), pcfg)
	if err != nil {
		return nil, &UnreachableError{Service: s.service, Err: err}
	}
	if err := s.Check(ctx); err != nil {
		s.pool.Close()
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		s.pool.Close()
		return nil, err
	}
	return s, nil
}

// redactURL hides the password of a URL shown in a message.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// redactErr removes u's password from err's text.
func redactErr(err error, u *url.URL) error {
	if pw, ok := u.User.Password(); ok && pw != "" && strings.Contains(err.Error(), pw) {
		return errors.New(strings.ReplaceAll(err.Error(), pw, "xxxxx"))
	}
	return err
}

// Service names the store in messages: "PostgreSQL at HOST:PORT/DB".
func (s *Store) Service() string { return s.service }

// Schema is the PostgreSQL schema of the store's tables.
func (s *Store) Schema() string { return s.schema }

// Close closes the store's connections.
func (s *Store) Close() { s.pool.Close() }

// Check reports, within the connect timeout, whether the store answers:
// nil, or an *UnreachableError.
func (s *Store) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := s.pool.Ping(ctx); err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("no answer within %s", s.timeout)
		}
		return &UnreachableError{Service: s.service, Err: err}
	}
	return nil
}

// table is the quoted name of one of the store's tables.
func (s *Store) table(name string) string { return pgx.Identifier{s.schema, name}.Sanitize() }

// channel is what append_event notifies with a run id.
func (s *Store) channel() string { return s.schema + ".events" }

// migrate brings the schema to this build's version. A store already at it
// is only read, so that a role without CREATE can use it.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return fmt.Errorf("transcript store: %w", err)
	}
	have, err := s.version(ctx, s.pool)
	if err != nil {
		return fmt.Errorf("transcript store %s: read the schema version: %w", s.service, err)
	}
	if have == len(ms) {
		return nil
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "runbook store "+s.schema); err != nil {
			return err
		}
		// Someone may have migrated while this waited for the lock.
		have, err := s.version(ctx, tx)
		if err != nil {
			return err
		}
		if have > len(ms) {
			return fmt.Errorf("schema %s is at version %d, newer than this runbook's %d: upgrade runbook", s.schema, have, len(ms))
		}
		if have == 0 {
			stmts := []string{
				`CREATE SCHEMA IF NOT EXISTS ` + pgx.Identifier{s.schema}.Sanitize(),
				`CREATE TABLE IF NOT EXISTS ` + s.table("schema_migrations") +
					` (version integer PRIMARY KEY, applied timestamptz NOT NULL DEFAULT now())`,
			}
			for _, stmt := range stmts {
				if _, err := tx.Exec(ctx, stmt); err != nil {
					return err
				}
			}
		}
		quoted := pgx.Identifier{s.schema}.Sanitize()
		for _, m := range ms[have:] {
			if _, err := tx.Exec(ctx, strings.ReplaceAll(m.sql, "@schema@", quoted)); err != nil {
				return fmt.Errorf("migration %03d.sql: %w", m.version, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO `+s.table("schema_migrations")+` (version) VALUES ($1)`, m.version); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("transcript store %s: migrate schema %s: %w", s.service, s.schema, err)
	}
	return nil
}

// querier is a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// version is the schema's version, 0 when it has none yet.
func (s *Store) version(ctx context.Context, q querier) (int, error) {
	var exists bool
	// pg_class is read with the statement's snapshot: to_regclass would
	// go by the session's catalog cache, which may not yet know of a
	// migration another session committed while this one waited.
	if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relname = 'schema_migrations')`, s.schema).Scan(&exists); err != nil {
		return 0, err
	}
	if !exists {
		return 0, nil
	}
	var v int
	err := q.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM `+s.table("schema_migrations")).Scan(&v)
	return v, err
}

// connectionError reports whether err is the store being away (the
// connection failed or broke) rather than the store refusing an event or a
// statement: the first is retried, the second is not.
func connectionError(err error) bool {
	var ce *ChainError
	var pgErr *pgconn.PgError
	switch {
	case err == nil, errors.As(err, &ce):
		return false
	case errors.As(err, &pgErr):
		// Class 08: connection exception; 57P01-57P03: the server is
		// shutting down or starting; 53300: too many connections.
		return strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "57P") || pgErr.Code == "53300"
	}
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}
