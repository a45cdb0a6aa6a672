package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestOpenUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	_, err = Open(context.Background(), "postgres://runbook:s3cret@"+addr+"/db?sslmode=disable", WithConnectTimeout(5*time.Second))
	var ue *UnreachableError
	if !errors.As(err, &ue) {
		t.Fatalf("open: %v, want an *UnreachableError", err)
	}
	if !strings.Contains(err.Error(), "PostgreSQL at 127.0.0.1:") || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("%q: want the server named, without its password", err)
	}
	if ue.ExitCode() != 3 {
		t.Errorf("exit code %d", ue.ExitCode())
	}
}

func TestOpenBadURL(t *testing.T) {
	for _, u := range []string{"mysql://x/y", "postgres://u:pw@host:notaport/db", "::"} {
		_, err := Open(context.Background(), u)
		var ue *UnreachableError
		if err == nil || errors.As(err, &ue) || strings.Contains(err.Error(), ":pw@") {
			t.Errorf("open %q: %v, want a URL error without the password", u, err)
		}
	}
}

// First uses racing migrate once; a later Open only reads the version.
func TestMigrateOnce(t *testing.T) {
	dsn := serverDSN(t)
	schema := newSchema(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(context.Background(), dsn, WithSchema(schema))
			if err == nil {
				s.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var versions []int
	rows, err := superConn(t).Query(context.Background(), `SELECT version FROM `+pgx.Identifier{schema, "schema_migrations"}.Sanitize()+` ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	if versions, err = pgx.CollectRows(rows, pgx.RowTo[int]); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(versions) != "[1 2]" || SchemaVersion() != 2 {
		t.Fatalf("versions %v, SchemaVersion %d", versions, SchemaVersion())
	}

	// A schema newer than this build's is refused.
	if _, err := superConn(t).Exec(context.Background(), `INSERT INTO `+pgx.Identifier{schema, "schema_migrations"}.Sanitize()+` (version) VALUES (99)`); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), dsn, WithSchema(schema)); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("open of a newer schema: %v", err)
	}
}

// The GRANTs docs/store.md gives an append-only role let it append and
// read, and nothing else.
func TestAppendOnlyRole(t *testing.T) {
	_, schema := openStore(t)
	ctx := context.Background()
	su := superConn(t)
	role := "appender_" + schema
	q := pgx.Identifier{schema}.Sanitize()
	for _, stmt := range []string{
		`CREATE ROLE ` + role + ` LOGIN`,
		// As in docs/store.md, "An append-only role".
		`GRANT USAGE ON SCHEMA ` + q + ` TO ` + role,
		`GRANT SELECT ON ALL TABLES IN SCHEMA ` + q + ` TO ` + role,
		`GRANT INSERT ON ` + q + `.events TO ` + role,
	} {
		if _, err := su.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	dsn := strings.Replace(serverDSN(t), "//runbook@", "//"+role+"@", 1)
	as, err := Open(ctx, dsn, WithSchema(schema))
	if err != nil {
		t.Fatalf("open as %s: %v", role, err)
	}
	defer as.Close()
	r := newRun(t, "appended")
	r.step(t, 1, "x")
	r.finish(t, "success")
	appendAll(t, as, r.id, r.events)
	checkStored(t, as, r)
	if runs, err := as.List(ctx, Filter{}); err != nil || len(runs) != 1 || runs[0].Status != "success" {
		t.Fatalf("list as %s: %v, %v", role, runs, err)
	}

	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, stmt := range []string{
		`UPDATE ` + q + `.events SET raw = raw`,
		`DELETE FROM ` + q + `.events`,
		`UPDATE ` + q + `.heads SET seq = 1`,
		`UPDATE ` + q + `.runs SET status = 'success'`,
		`INSERT INTO ` + q + `.runs (run_id, started) VALUES ('forged', now())`,
		`DROP TABLE ` + q + `.events`,
	} {
		if _, err := conn.Exec(ctx, stmt); err == nil || !strings.Contains(err.Error(), "42501") && !strings.Contains(err.Error(), "must be owner") {
			t.Errorf("%s as the append-only role: %v, want permission denied", stmt, err)
		}
	}
}
