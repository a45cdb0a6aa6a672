package index

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/index/pgtest"
)

// pgConfig is a plugin block for the postgres backend.
type pgConfig struct {
	dsn, schema, buildCommand string
	keep                      int
}

func (c pgConfig) val() cty.Value {
	v := config{backend: "postgres", buildCommand: c.buildCommand, keep: c.keep}.val().AsValueMap()
	v["dsn"] = cty.StringVal(c.dsn)
	v["schema"] = cty.NullVal(cty.String)
	if c.schema != "" {
		v["schema"] = cty.StringVal(c.schema)
	}
	return cty.ObjectVal(v)
}

// newPGPlugin returns a plugin configured for the postgres backend, on the
// given clock (a new one when nil), closed when the test ends.
func newPGPlugin(t *testing.T, c pgConfig, clock *fakeClock) (*testPlugin, *postgresBackend) {
	t.Helper()
	p := newTestPlugin()
	if err := p.Configure(context.Background(), c.val()); err != nil {
		t.Fatalf("configure: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	if clock == nil {
		clock = newClock()
	}
	b := p.backend.(*postgresBackend)
	b.now = clock.now
	return p, b
}

// pgConn is a plain connection for the test's own queries.
func pgConn(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func queryInt(t *testing.T, conn *pgx.Conn, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := conn.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func queryStrings(t *testing.T, conn *pgx.Conn, sql string, args ...any) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}

// pgTables lists the tables of a schema.
func pgTables(t *testing.T, conn *pgx.Conn, schema string) []string {
	t.Helper()
	return queryStrings(t, conn, `SELECT tablename::text FROM pg_tables WHERE schemaname = $1 ORDER BY 1`, schema)
}

// pgSnapshot digests everything the backend keeps in a schema: its tables,
// views and their definitions, comments, the metadata and the history.
func pgSnapshot(t *testing.T, conn *pgx.Conn, schema string) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{
		`SELECT c.relname || ' ' || c.relkind::text || ' ' || coalesce(obj_description(c.oid, 'pg_class'), '') || ' ' ||
			CASE WHEN c.relkind = 'v' THEN pg_get_viewdef(c.oid) ELSE '' END
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 ORDER BY 1`,
	} {
		fmt.Fprintln(&b, queryStrings(t, conn, q, schema))
	}
	if queryInt(t, conn, `SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename = $2`, schema, pgBuildsTable) == 1 {
		fmt.Fprintln(&b, queryStrings(t, conn, fmt.Sprintf(`SELECT b::text FROM %s b ORDER BY name, version`, pgx.Identifier{schema, pgBuildsTable}.Sanitize())))
		fmt.Fprintln(&b, queryStrings(t, conn, fmt.Sprintf(`SELECT h::text FROM %s h ORDER BY id`, pgx.Identifier{schema, pgHistoryTable}.Sanitize())))
	}
	return b.String()
}

type historyRow struct {
	Action, From, To, Operator, RunID string
}

func pgHistory(t *testing.T, conn *pgx.Conn, schema, name string) []historyRow {
	t.Helper()
	rows, err := conn.Query(context.Background(), fmt.Sprintf(`SELECT action, coalesce(from_version, ''), coalesce(to_version, ''), operator, run_id
		FROM %s WHERE name = $1 ORDER BY id`, pgx.Identifier{schema, pgHistoryTable}.Sanitize()), name)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (historyRow, error) {
		var h historyRow
		err := r.Scan(&h.Action, &h.From, &h.To, &h.Operator, &h.RunID)
		return h, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestVersionOfTable(t *testing.T) {
	for _, v := range []string{"20261126T140512Z", "20261126T140512Z-001", "20261126T140512Z-1234"} {
		table := buildTable("kb", v)
		if strings.ToLower(table) != table {
			t.Errorf("%s: table %s is not lower case", v, table)
		}
		if got, ok := versionOfTable("kb", table); !ok || got != v {
			t.Errorf("versionOfTable(%s) = %q, %v; want %q", table, got, ok, v)
		}
	}
	for _, table := range []string{"kb", "kb_", "kb_notaversion", "kb_20261126T140512Z", "kb2_20261126t140512z", "kb_20261126t140512z_x", "kb_20261126t140512z_000"} {
		if v, ok := versionOfTable("kb", table); ok {
			t.Errorf("versionOfTable(%s) = %q, want none", table, v)
		}
	}
	if got := buildTable("Support KB", "20261126T140512Z-002"); got != "Support KB_20261126t140512z_002" {
		t.Errorf("buildTable = %q", got)
	}
	if long := strings.Repeat("x", pgMaxName) + "_20261126t140512z_999"; len(long) != pgMaxIdent {
		t.Errorf("pgMaxName %d gives %d-byte tables", pgMaxName, len(long))
	}
}

// Configuring needs no server; errors never show the DSN or its password.
func TestPostgresConfigure(t *testing.T) {
	const password = "s3cret-Pa55"
	tests := []struct {
		name    string
		cfg     pgConfig
		errPath string
		errText string
	}{
		{name: "ok", cfg: pgConfig{dsn: "postgres://runbook:" + password + "@127.0.0.1:1/rag", schema: "rag"}},
		{name: "key=value", cfg: pgConfig{dsn: "host=127.0.0.1 port=1 user=runbook password=" + password}},
		{name: "no dsn", cfg: pgConfig{}, errPath: "dsn", errText: `env("RUNBOOK_INDEX_DSN")`},
		{name: "blank dsn", cfg: pgConfig{dsn: "  "}, errPath: "dsn", errText: "Missing PostgreSQL connection string"},
		{name: "bad url", cfg: pgConfig{dsn: "postgres://runbook:" + password + "@127.0.0.1:notaport/rag"}, errPath: "dsn", errText: "Invalid PostgreSQL connection string"},
		{name: "bad key=value", cfg: pgConfig{dsn: "host=127.0.0.1 password=" + password + " sslmode=sometimes"}, errPath: "dsn", errText: "Invalid PostgreSQL connection string"},
		{name: "blank schema", cfg: pgConfig{dsn: "postgres://127.0.0.1:1/rag", schema: " "}, errPath: "schema", errText: "cannot name a PostgreSQL schema"},
		{name: "long schema", cfg: pgConfig{dsn: "postgres://127.0.0.1:1/rag", schema: strings.Repeat("s", 64)}, errPath: "schema", errText: "1 to 63 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newTestPlugin()
			err := p.Configure(context.Background(), tt.cfg.val())
			if tt.errText == "" {
				if err != nil {
					t.Fatal(err)
				}
				if _, ok := p.backend.(*postgresBackend); !ok {
					t.Fatalf("backend %T", p.backend)
				}
				return
			}
			wantPluginError(t, err, tt.errPath, tt.errText)
			if strings.Contains(err.Error(), password) || (tt.cfg.dsn != "" && strings.Contains(err.Error(), tt.cfg.dsn)) {
				t.Errorf("error %q shows the DSN or its password", err)
			}
		})
	}
	t.Run("dsn is sensitive", func(t *testing.T) {
		for _, a := range Schema.Config {
			if a.Name == "dsn" && !a.Sensitive {
				t.Error("dsn is not marked sensitive")
			}
		}
	})
	// A server that cannot be reached: the error says so without the DSN.
	t.Run("unreachable server", func(t *testing.T) {
		dsn := "postgres://runbook:" + password + "@127.0.0.1:1/rag?connect_timeout=5"
		p, _ := newPGPlugin(t, pgConfig{dsn: dsn}, nil)
		for _, action := range []string{"status", "rollback"} {
			_, _, err := run(t, p, action, nameArgs("kb"))
			if err == nil {
				t.Fatalf("%s on no server succeeded", action)
			}
			if strings.Contains(err.Error(), password) || strings.Contains(err.Error(), dsn) {
				t.Errorf("%s: error %q shows the DSN or its password", action, err)
			}
		}
		_, lines, err := run(t, p, "rebuild", rebuildArgsVal("kb", corpus(t, 2)))
		if err == nil || strings.Contains(err.Error(), password) || strings.Contains(strings.Join(lines, "\n"), password) {
			t.Errorf("rebuild on no server: %v (progress %q)", err, lines)
		}
	})
}

// TestPostgres runs the postgres backend against a real server, one schema
// per scenario.
func TestPostgres(t *testing.T) {
	dsn := pgtest.Start(t)
	for _, tt := range []struct {
		name string
		test func(t *testing.T, dsn, schema string)
	}{
		{"RebuildAndRollback", testPGRebuildAndRollback},
		{"PlanChangesNothing", testPGPlanChangesNothing},
		{"ReaderNeverSeesAHalfIndex", testPGReaderNeverSeesAHalfIndex},
		{"RefusedBuildLeavesNoTrace", testPGRefusedBuildLeavesNoTrace},
		{"KeepPrunes", testPGKeepPrunes},
		{"ConcurrentRebuilds", testPGConcurrentRebuilds},
		{"StatusReadsTheView", testPGStatusReadsTheView},
		{"RecoversStrayBuild", testPGRecoversStrayBuild},
		{"BuildCommand", testPGBuildCommand},
		{"Embedding", testPGEmbedding},
		{"Cancelled", testPGCancelled},
		{"DSNNeverShown", testPGDSNNeverShown},
		{"SavedPlan", testPGSavedPlan},
		{"Traced", testPGTraced},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.test(t, dsn, strings.ToLower(tt.name))
		})
	}
}

func testPGRebuildAndRollback(t *testing.T, dsn, schema string) {
	p, _ := newPGPlugin(t, pgConfig{dsn: dsn, schema: schema}, nil)
	conn := pgConn(t, dsn)
	// Every name is an index; one never built has no live build yet.
	empty := mustRun(t, p, "status", nameArgs("kb"))
	if str(empty, "active_version") != "" || num(empty, "doc_count") != 0 || len(empty.GetAttr("versions").AsValueSlice()) != 0 {
		t.Errorf("status before the first build %#v", empty)
	}
	_, _, err := run(t, p, "rollback", nameArgs("kb"))
	wantPluginError(t, err, "name", "no live build yet")
	if n := queryInt(t, conn, `SELECT count(*) FROM pg_namespace WHERE nspname = $1`, schema); n != 0 {
		t.Error("status or rollback created the schema")
	}

	src3 := corpus(t, 3)
	first, lines, err := run(t, p, "rebuild", rebuildArgsVal("kb", src3))
	if err != nil {
		t.Fatalf("rebuild: %v (%q)", err, lines)
	}
	v1 := str(first, "version")
	if num(first, "doc_count") != 3 || str(first, "previous_version") != "" || !strings.HasPrefix(v1, "2026112") {
		t.Fatalf("first build %#v", first)
	}
	view := pgx.Identifier{schema, "kb"}.Sanitize()
	if n := queryInt(t, conn, `SELECT count(*) FROM `+view); n != 3 {
		t.Errorf("the view holds %d rows, want 3", n)
	}
	wantTables := []string{"kb_" + strings.ToLower(v1), pgBuildsTable, pgHistoryTable}
	if diff := cmp.Diff(wantTables, pgTables(t, conn, schema)); diff != "" {
		t.Errorf("tables (-want +got):\n%s", diff)
	}
	for _, want := range []string{"building kb " + v1 + " from " + src3, "loaded 3 documents into " + schema + ".kb_", "GIN full text"} {
		if !contains(lines, want) {
			t.Errorf("progress %q lacks %q", lines, want)
		}
	}
	// Indexed, and searchable through the view.
	if n := queryInt(t, conn, `SELECT count(*) FROM pg_indexes WHERE schemaname = $1 AND tablename = $2`, schema, "kb_"+strings.ToLower(v1)); n != 3 {
		t.Errorf("%d indexes on the build table, want 3 (primary key, path, full text)", n)
	}
	if n := queryInt(t, conn, `SELECT count(*) FROM `+view+` WHERE to_tsvector('english', content) @@ to_tsquery('english', 'documents')`); n != 3 {
		t.Errorf("full-text search finds %d documents, want 3", n)
	}
	var id, path, content string
	if err := conn.QueryRow(context.Background(), `SELECT id, path, content FROM `+view+` ORDER BY id LIMIT 1`).Scan(&id, &path, &content); err != nil {
		t.Fatal(err)
	}
	if id != "doc-000.txt" || path != "doc-000.txt" || content != "document 0\n" {
		t.Errorf("first row %q %q %q", id, path, content)
	}

	// The same corpus gives the file backend's sha256.
	fileDir := newIndex(t, "kb")
	fp, _ := newPlugin(t, config{path: fileDir})
	fv := str(mustRun(t, fp, "rebuild", rebuildArgsVal("kb", src3)), "version")
	fm, err := readManifest(filepath.Join(fileDir, "kb", buildsDir, fv))
	if err != nil {
		t.Fatal(err)
	}
	pm, err := p.backend.Manifest(context.Background(), "kb", v1)
	if err != nil {
		t.Fatal(err)
	}
	if pm.SHA256 != fm.SHA256 || pm.DocCount != 3 || pm.Source != src3 || pm.BuiltAt.IsZero() || pm.Version != v1 {
		t.Errorf("manifest %+v; the file backend's sha256 is %s", pm, fm.SHA256)
	}

	second := mustRun(t, p, "rebuild", rebuildArgsVal("kb", corpus(t, 4)))
	v2 := str(second, "version")
	if v2 <= v1 || str(second, "previous_version") != v1 || num(second, "doc_count") != 4 {
		t.Fatalf("second build %#v", second)
	}
	if n := queryInt(t, conn, `SELECT count(*) FROM `+view); n != 4 {
		t.Errorf("the view holds %d rows, want 4", n)
	}
	st := mustRun(t, p, "status", nameArgs("kb"))
	if str(st, "active_version") != v2 || num(st, "doc_count") != 4 {
		t.Errorf("status %#v", st)
	}
	if diff := cmp.Diff([]cty.Value{cty.StringVal(v1), cty.StringVal(v2)}, st.GetAttr("versions").AsValueSlice(), cmp.Comparer(func(a, b cty.Value) bool { return a.RawEquals(b) })); diff != "" {
		t.Errorf("versions (-want +got):\n%s", diff)
	}

	back, lines, err := run(t, p, "rollback", nameArgs("kb"))
	if err != nil {
		t.Fatal(err)
	}
	if str(back, "version") != v1 || str(back, "previous_version") != v2 || num(back, "doc_count") != 3 {
		t.Errorf("rollback %#v", back)
	}
	if !contains(lines, "swapped current → "+v1+" (was "+v2+")") {
		t.Errorf("progress %q", lines)
	}
	if n := queryInt(t, conn, `SELECT count(*) FROM `+view); n != 3 {
		t.Errorf("after the rollback the view holds %d rows, want 3", n)
	}
	if live := queryStrings(t, conn, fmt.Sprintf(`SELECT version FROM %s WHERE name = 'kb' AND live`, pgx.Identifier{schema, pgBuildsTable}.Sanitize())); !slices.Equal(live, []string{v1}) {
		t.Errorf("live builds in the metadata: %v, want %s", live, v1)
	}
	if st := mustRun(t, p, "status", nameArgs("kb")); str(st, "active_version") != v1 || num(st, "doc_count") != 3 {
		t.Errorf("status after rollback %#v", st)
	}
	_, _, err = run(t, p, "rollback", nameArgs("kb"))
	wantPluginError(t, err, "name", "No earlier build")

	want := []historyRow{
		{"rebuild", "", v1, "alice@host", "run-1"},
		{"rebuild", v1, v2, "alice@host", "run-1"},
		{"rollback", v2, v1, "alice@host", "run-1"},
	}
	if diff := cmp.Diff(want, pgHistory(t, conn, schema, "kb")); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	comment := queryStrings(t, conn, `SELECT obj_description($1::regclass, 'pg_class')`, view)
	if len(comment) != 1 || !strings.Contains(comment[0], "live build "+v1) {
		t.Errorf("view comment %q", comment)
	}
	_, _, err = run(t, p, "status", nameArgs(strings.Repeat("k", pgMaxName+1)))
	wantPluginError(t, err, "name", "too long")
	_, _, err = run(t, p, "status", nameArgs(pgBuildsTable))
	wantPluginError(t, err, "name", "own tables")
}

func testPGPlanChangesNothing(t *testing.T, dsn, schema string) {
	p, _ := newPGPlugin(t, pgConfig{dsn: dsn, schema: schema, keep: 2}, nil)
	conn := pgConn(t, dsn)
	src := corpus(t, 7)
	// Before anything exists, not even the schema.
	res, err := p.Plan(context.Background(), &plugins.ActionRequest{Action: "rebuild", Args: rebuildArgsVal("kb", src)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"kb: (no live build) → new build from " + src + " (7 docs)"}, res.Changes); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	if n := queryInt(t, conn, `SELECT count(*) FROM pg_namespace WHERE nspname = $1`, schema); n != 0 {
		t.Fatal("planning created the schema")
	}

	v1 := str(mustRun(t, p, "rebuild", rebuildArgsVal("kb", corpus(t, 5))), "version")
	v2 := str(mustRun(t, p, "rebuild", rebuildArgsVal("kb", corpus(t, 6))), "version")
	// A build a crash left between its load and its swap.
	stray := "kb_20261126t150000z"
	if _, err := conn.Exec(context.Background(), `CREATE TABLE `+pgx.Identifier{schema, stray}.Sanitize()+` (id text)`); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		action  string
		args    cty.Value
		changes []string
		output  cty.Value
		errPath string
		errText string
	}{
		{name: "rebuild", action: "rebuild", args: rebuildArgsVal("kb", src),
			changes: []string{
				"kb: remove " + schema + "." + stray + " (a build that was never made live, left by an interrupted change)",
				"kb: build " + v2 + " (6 docs) → new build from " + src + " (7 docs)",
				"kb: prune build " + v1 + " (keep = 2)",
			},
			output: cty.ObjectVal(map[string]cty.Value{
				"name": cty.StringVal("kb"), "version": cty.UnknownVal(cty.String),
				"doc_count": cty.NumberIntVal(7), "previous_version": cty.StringVal(v2),
			})},
		{name: "first rebuild of another index", action: "rebuild", args: rebuildArgsVal("fresh", src),
			changes: []string{"fresh: (no live build) → new build from " + src + " (7 docs)"},
			output: cty.ObjectVal(map[string]cty.Value{
				"name": cty.StringVal("fresh"), "version": cty.UnknownVal(cty.String),
				"doc_count": cty.NumberIntVal(7), "previous_version": cty.StringVal(""),
			})},
		{name: "rollback", action: "rollback", args: nameArgs("kb"),
			changes: []string{"kb: build " + v2 + " → build " + v1},
			output: cty.ObjectVal(map[string]cty.Value{
				"name": cty.StringVal("kb"), "version": cty.StringVal(v1),
				"doc_count": cty.NumberIntVal(5), "previous_version": cty.StringVal(v2),
			})},
		{name: "shrink refused", action: "rebuild", args: rebuildArgsVal("kb", corpus(t, 2)), errPath: "max_shrink", errText: "Build refused"},
		{name: "min_docs refused", action: "rebuild", args: rebuildArgsVal("kb", src, "min_docs", 8), errPath: "min_docs", errText: "fewer than min_docs = 8"},
		{name: "rollback of an index never built", action: "rollback", args: nameArgs("nope"), errPath: "name", errText: "nope has no live build yet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := pgSnapshot(t, conn, schema)
			res, err := p.Plan(context.Background(), &plugins.ActionRequest{Action: tt.action, Args: tt.args, RunID: "dry", Operator: "bob@host"})
			if after := pgSnapshot(t, conn, schema); after != before {
				t.Fatalf("Plan changed the schema:\n%s\n%s", before, after)
			}
			if tt.errText != "" {
				wantPluginError(t, err, tt.errPath, tt.errText)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.changes, res.Changes); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
			if !res.Output.RawEquals(tt.output) {
				t.Errorf("output %#v, want %#v", res.Output, tt.output)
			}
		})
	}
	// What the plan predicted is what the rebuild does.
	out, lines, err := run(t, p, "rebuild", rebuildArgsVal("kb", src))
	if err != nil {
		t.Fatal(err)
	}
	v3 := str(out, "version")
	if num(out, "doc_count") != 7 || str(out, "previous_version") != v2 {
		t.Errorf("output %#v", out)
	}
	for _, want := range []string{"removed " + schema + "." + stray, "pruned build " + v1 + " (keep = 2)"} {
		if !contains(lines, want) {
			t.Errorf("progress %q lacks %q", lines, want)
		}
	}
	wantTables := []string{"kb_" + strings.ToLower(v2), "kb_" + strings.ToLower(v3), pgBuildsTable, pgHistoryTable}
	if diff := cmp.Diff(wantTables, pgTables(t, conn, schema)); diff != "" {
		t.Errorf("tables (-want +got):\n%s", diff)
	}
}

// A reader querying the view throughout rebuilds, rollbacks and prunes
// always sees one whole build: never an error, an empty index, nor a count
// that no build has.
func testPGReaderNeverSeesAHalfIndex(t *testing.T, dsn, schema string) {
	p, _ := newPGPlugin(t, pgConfig{dsn: dsn, schema: schema, keep: 3}, nil)
	const base, rounds = 40, 8
	counts := map[int64]bool{}
	sources := make([]string, rounds)
	for i := range rounds {
		counts[int64(base+i)] = true
		sources[i] = corpus(t, base+i)
	}
	mustRun(t, p, "rebuild", rebuildArgsVal("kb", sources[0]))

	view := pgx.Identifier{schema, "kb"}.Sanitize()
	stop := make(chan struct{})
	var reads atomic.Int64
	var readers sync.WaitGroup
	for range 2 {
		conn := pgConn(t, dsn)
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				var n int64
				if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM `+view).Scan(&n); err != nil {
					t.Errorf("reader: %v", err)
					return
				}
				if !counts[n] {
					t.Errorf("reader saw %d documents, which no build holds", n)
					return
				}
				reads.Add(1)
			}
		})
	}
	for i := 1; i < rounds; i++ {
		mustRun(t, p, "rebuild", rebuildArgsVal("kb", sources[i]))
		if i%3 == 0 {
			mustRun(t, p, "rollback", nameArgs("kb"))
		}
	}
	close(stop)
	readers.Wait()
	if reads.Load() < rounds {
		t.Errorf("only %d reads during %d rebuilds", reads.Load(), rounds)
	}
	t.Logf("%d reads, none saw a half-built index", reads.Load())
}

func testPGRefusedBuildLeavesNoTrace(t *testing.T, dsn, schema string) {
	p, _ := newPGPlugin(t, pgConfig{dsn: dsn, schema: schema}, nil)
	conn := pgConn(t, dsn)
	live := str(mustRun(t, p, "rebuild", rebuildArgsVal("kb", corpus(t, 10))), "version")
	for _, tt := range []struct {
		name    string
		args    cty.Value
		errPath string
		errText string
	}{
		{"max_shrink", rebuildArgsVal("kb", corpus(t, 4)), "max_shrink", "60% fewer than the live build " + live},
		{"min_docs", rebuildArgsVal("kb", corpus(t, 12), "min_docs", 20), "min_docs", "fewer than min_docs = 20"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := pgSnapshot(t, conn, schema)
			_, lines, err := run(t, p, "rebuild", tt.args)
			wantPluginError(t, err, tt.errPath, tt.errText)
			if !contains(lines, "removed the new build") {
				t.Errorf("progress %q", lines)
			}
			if after := pgSnapshot(t, conn, schema); after != before {
				t.Errorf("a refused build changed the schema:\n%s\n%s", before, after)
			}
			if n := queryInt(t, conn, `SELECT count(*) FROM `+pgx.Identifier{schema, "kb"}.Sanitize()); n != 10 {
				t.Errorf("the view holds %d rows, want 10", n)
			}
		})
	}
}

func testPGKeepPrunes(t *testing.T, dsn, schema string) {
	p, _ := newPGPlugin(t, pgConfig{dsn: dsn, schema: schema, keep: 2}, nil)
	conn := pgConn(t, dsn)
	var versions []string
	for i := range 4 {
		versions = append(versions, str(mustRun(t, p, "rebuild", rebuildArgsVal("kb", corpus(t, 3+i))), "version"))
	}
	tablesOf := func(vs ...string) []string {
		var out []string
		for _, v := range vs {
			out = append(out, "kb_"+strings.ToLower(v))
		}
		return append(out, pgBuildsTable, pgHistoryTable)
	}
	if diff := cmp.Diff(tablesOf(versions[2:]...), pgTables(t, conn, schema)); diff != "" {
		t.Errorf("tables (-want +got):\n%s", diff)
	}
	// After a rollback, the build that was live before the next rebuild is
	// kept too, beyond keep.
	mustRun(t, p, "rollback", nameArgs("kb"))
	v5 := str(mustRun(t, p, "rebuild", rebuildArgsVal("kb", corpus(t, 8))), "version")
	if diff := cmp.Diff(tablesOf(versions[2], versions[3], v5), pgTables(t, conn, schema)); diff != "" {
		t.Errorf("tables (-want +got):\n%s", diff)
	}
	st := mustRun(t, p, "status", nameArgs("kb"))
	if n := len(st.GetAttr("versions").AsValueSlice()); n != 3 {
		t.Errorf("%d builds kept, want 3", n)
	}
	var pruned []string
	for _, h := range pgHistory(t, conn, schema, "kb") {
		if h.Action == "prune" {
			pruned = append(pruned, h.From)
		}
	}
	if diff := cmp.Diff(versions[:2], pruned); diff != "" {
		t.Errorf("pruned (-want +got):\n%s", diff)
	}
}

// Concurrent rebuilds, each through its own plugin and connections (as two
// runs would be), serialize on the index's advisory lock.
func testPGConcurrentRebuilds(t *testing.T, dsn, schema string) {
	const n = 4
	clock := newClock()
	conn := pgConn(t, dsn)
	outs := make([]cty.Value, n)
	errs := make([]error, n)
	lines := make([][]string, n)
	var wg sync.WaitGroup
	for i := range n {
		p, _ := newPGPlugin(t, pgConfig{dsn: dsn, schema: schema, keep: n}, clock)
		src := corpus(t, 10+i)
		wg.Go(func() {
			outs[i], lines[i], errs[i] = run(t, p, "rebuild", rebuildArgsVal("kb", src))
		})
	}
	wg.Wait()
	// Whether one of them waited long enough to say so depends on how fast
	// the others load: "a change waits for the lock's holder" below holds
	// the lock on purpose.
	for i, err := range errs {
		if err != nil {
			t.Fatalf("rebuild %d: %v (progress %q)", i, err, lines[i])
		}
	}
	slices.SortFunc(outs, func(a, b cty.Value) int { return strings.Compare(str(a, "version"), str(b, "version")) })
	prev := ""
	for _, o := range outs {
		if got := str(o, "previous_version"); got != prev {
			t.Errorf("build %s: previous_version %q, want %q (an update was lost)", str(o, "version"), got, prev)
		}
		prev = str(o, "version")
	}
	p, _ := newPGPlugin(t, pgConfig{dsn: dsn, schema: schema, keep: n}, clock)
	if st := mustRun(t, p, "status", nameArgs("kb")); str(st, "active_version") != prev || len(st.GetAttr("versions").AsValueSlice()) != n {
		t.Errorf("status %#v, want %s live", st, prev)
	}
	rebuilds := 0
	for _, h := range pgHistory(t, conn, schema, "kb") {
		if h.Action == "rebuild" {
			rebuilds++
		}
	}
	if rebuilds != n {
		t.Errorf("%d rebuilds in history, want %d", rebuilds, n)
	}

	t.Run("a change waits for the lock's holder", func(t *testing.T) {
		_, hb := newPGPlugin(t, pgConfig{dsn: dsn, schema: schema}, clock)
		unlock, err := hb.Lock(context.Background(), "kb")
		if err != nil {
			t.Fatal(err)
		}
		released := make(chan struct{})
		go func() {
			time.Sleep(3 * lockPatience)
			unlock()
			close(released)
		}()
		_, lines, err := run(t, p, "rollback", nameArgs("kb"))
		<-released
		if err != nil {
			t.Fatal(err)
		}
		if !contains(lines, "waiting for another change of kb to finish") {
			t.Errorf("progress %q does not say it waited", lines)
		}
	})
	t.Run("a lost lock lets no change through", func(t *testing.T) {
		_, b := newPGPlugin(t, pgConfig{dsn: dsn, schema: schema}, clock)
		unlock, err := b.Lock(context.Background(), "kb")
		if err != nil {
			t.Fatal(err)
		}
		defer unlock()
		if _, err := conn.Exec(context.Background(), `SELECT pg_terminate_backend($1)`, b.locks["kb"].pid); err != nil {
			t.Fatal(err)
		}
		before := pgSnapshot(t, conn, schema)
		err = b.Activate(context.Background(), "kb", Change{Action: "rollback", To: outs[0].GetAttr("version").AsString()})
		if err == nil || !strings.Contains(err.Error(), "lock is lost") {
			t.Errorf("activate without the lock: %v", err)
		}
		if pgSnapshot(t, conn, schema) != before {
			t.Error("a change went through without the lock")
		}
	})
}

// Status takes the live build from the view's definition, which is what
// readers see.
func testPGStatusReadsTheView(t *testing.T, dsn, schema string) {
	p, _ := newPGPlugin(t, pgConfig{dsn: dsn, schema: schema}, nil)
	conn := pgConn(t, dsn)
	v1 := str(mustRun(t, p, "rebuild", rebuildArgsVal("kb", corpus(t, 3))), "version")
	mustRun(t, p, "rebuild", rebuildArgsVal("kb", corpus(t, 4)))
	view := pgx.Identifier{schema, "kb"}.Sanitize()
	exec := func(sql string) {
		t.Helper()
		if _, err := conn.Exec(context.Background(), sql); err != nil {
			t.Fatal(err)
		}
	}
	// Switched by hand to the first build: status follows the view.
	exec(`CREATE OR REPLACE VIEW ` + view + ` AS SELECT id, path, content, line, meta FROM ` + pgx.Identifier{schema, "kb_" + strings.ToLower(v1)}.Sanitize())
	st := mustRun(t, p, "status", nameArgs("kb"))
	if str(st, "active_version") != v1 || num(st, "doc_count") != 3 {
		t.Errorf("status %#v, want %s with 3 docs", st, v1)
	}
	// A view that reads something else is not an index's.
	exec(`CREATE TABLE ` + pgx.Identifier{schema, "other"}.Sanitize() + ` (id text, path text, content text, line integer, meta jsonb)`)
	exec(`CREATE OR REPLACE VIEW ` + view + ` AS SELECT id, path, content, line, meta FROM ` + pgx.Identifier{schema, "other"}.Sanitize())
	if _, _, err := run(t, p, "status", nameArgs("kb")); err == nil || !strings.Contains(err.Error(), "not one of the index's builds") {
		t.Errorf("status of a foreign view: %v", err)
	}
	exec(`DROP VIEW ` + view)
	exec(`CREATE TABLE ` + view + ` (id text)`)
	if _, _, err := run(t, p, "status", nameArgs("kb")); err == nil || !strings.Contains(err.Error(), "is not a view") {
		t.Errorf("status with a table for a view: %v", err)
	}
}

func testPGRecoversStrayBuild(t *testing.T, dsn, schema string) {
	p, b := newPGPlugin(t, pgConfig{dsn: dsn, schema: schema}, nil)
	conn := pgConn(t, dsn)
	live := str(mustRun(t, p, "rebuild", rebuildArgsVal("kb", corpus(t, 3))), "version")
	// A build made and never swapped in, as a crash between the two leaves it.
	unlock, err := b.Lock(context.Background(), "kb")
	if err != nil {
		t.Fatal(err)
	}
	m, err := b.Build(context.Background(), "kb", BuildRequest{Source: corpus(t, 5), Builder: corpusBuilder{}})
	unlock()
	if err != nil {
		t.Fatal(err)
	}
	strayTable := schema + ".kb_" + strings.ToLower(m.Version)
	left, err := b.Leftovers(context.Background(), "kb")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Leftover{{Path: strayTable, Why: "a build that was never made live"}}, left); diff != "" {
		t.Errorf("leftovers (-want +got):\n%s", diff)
	}
	// Another process's rebuild finds it, removes it, and builds after it.
	p2, _ := newPGPlugin(t, pgConfig{dsn: dsn, schema: schema}, nil)
	out, lines, err := run(t, p2, "rebuild", rebuildArgsVal("kb", corpus(t, 4)))
	if err != nil {
		t.Fatal(err)
	}
	if v := str(out, "version"); v <= live || str(out, "previous_version") != live {
		t.Errorf("rebuild %#v, want one after %s", out, live)
	}
	if !contains(lines, "removed "+strayTable+" (a build that was never made live") {
		t.Errorf("progress %q", lines)
	}
	if n := queryInt(t, conn, `SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename = $2`, schema, "kb_"+strings.ToLower(m.Version)); n != 0 {
		t.Error("the stray build's table is still there")
	}
	h := pgHistory(t, conn, schema, "kb")
	if !slices.Contains(h, historyRow{"discard", m.Version, "", "alice@host", "run-1"}) {
		t.Errorf("history %v has no discard of %s", h, m.Version)
	}
}

func testPGBuildCommand(t *testing.T, dsn, schema string) {
	conn := pgConn(t, dsn)
	for _, tt := range []struct {
		name, command, errText string
	}{
		{name: "loads docs.jsonl", command: `printf '%s\n' '{"id":"a","path":"a.md","text":"alpha"}' '' '{"id":"b","text":"beta","line":2,"meta":{"lang":"en"}}' > "$2/docs.jsonl"; echo '{"doc_count": 2, "model": "bge-small"}' > "$2/manifest.json"`},
		{name: "count differs", command: `echo '{"id":"a","text":"alpha"}' > "$2/docs.jsonl"; echo '{"doc_count": 3}' > "$2/manifest.json"`, errText: "docs.jsonl holds 1 document, but the build's doc_count is 3"},
		{name: "no docs.jsonl", command: `echo '{"doc_count": 1}' > "$2/manifest.json"`, errText: "the build wrote no docs.jsonl"},
		{name: "duplicate ids", command: `printf '%s\n' '{"id":"a","text":"1"}' '{"id":"a","text":"2"}' > "$2/docs.jsonl"; echo '{"doc_count": 2}' > "$2/manifest.json"`, errText: "is duplicated"},
		{name: "no id", command: `echo '{"text":"1"}' > "$2/docs.jsonl"; echo '{"doc_count": 1}' > "$2/manifest.json"`, errText: "docs.jsonl:1: a document needs a non-empty id"},
		{name: "not JSON", command: `printf 'x\n' > "$2/docs.jsonl"; echo '{"doc_count": 1}' > "$2/manifest.json"`, errText: "docs.jsonl:1: want a JSON object"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			name := strings.ReplaceAll(tt.name, " ", "_")
			p, _ := newPGPlugin(t, pgConfig{dsn: dsn, schema: schema, buildCommand: tt.command}, nil)
			before := pgSnapshot(t, conn, schema)
			out, lines, err := run(t, p, "rebuild", rebuildArgsVal(name, corpus(t, 1)))
			if tt.errText != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("error %v, want %q (progress %q)", err, tt.errText, lines)
				}
				if after := pgSnapshot(t, conn, schema); after != before {
					t.Errorf("a failed build changed the schema:\n%s\n%s", before, after)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v (progress %q)", err, lines)
			}
			if num(out, "doc_count") != 2 {
				t.Errorf("output %#v", out)
			}
			var line *int32
			var meta map[string]any
			if err := conn.QueryRow(context.Background(), `SELECT line, meta FROM `+pgx.Identifier{schema, name}.Sanitize()+` WHERE id = 'b'`).Scan(&line, &meta); err != nil {
				t.Fatal(err)
			}
			if line == nil || *line != 2 || meta["lang"] != "en" {
				t.Errorf("row b: line %v, meta %v", line, meta)
			}
			m, err := p.backend.Manifest(context.Background(), name, str(out, "version"))
			if err != nil {
				t.Fatal(err)
			}
			if string(m.Extra["model"]) != `"bge-small"` {
				t.Errorf("manifest extra %s", m.Extra)
			}
		})
	}
}

// With the vector extension, every build table has an embedding column
// (left NULL) and the view shows it, also for a build made before.
func testPGEmbedding(t *testing.T, dsn, schema string) {
	p, b := newPGPlugin(t, pgConfig{dsn: dsn, schema: schema}, nil)
	conn := pgConn(t, dsn)
	if typ, err := pgVectorType(b); err != nil || typ != "" {
		t.Fatalf("vector type %q, %v; this server has no vector extension", typ, err)
	}
	v1 := str(mustRun(t, p, "rebuild", rebuildArgsVal("kb", corpus(t, 3))), "version")
	// pgvector is not packaged for every Debian: a domain stands for its type.
	if _, err := conn.Exec(context.Background(), `CREATE SCHEMA vec_`+schema+`; CREATE DOMAIN vec_`+schema+`.vector AS real[]`); err != nil {
		t.Fatal(err)
	}
	b.embeddingType = pgx.Identifier{"vec_" + schema, "vector"}.Sanitize()
	v2 := str(mustRun(t, p, "rebuild", rebuildArgsVal("kb", corpus(t, 4))), "version")
	columns := func(rel string) []string {
		return queryStrings(t, conn, `SELECT column_name::text FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`, schema, rel)
	}
	withEmbedding := []string{"id", "path", "content", "line", "meta", "embedding"}
	for rel, want := range map[string][]string{
		"kb_" + strings.ToLower(v1): withEmbedding[:5],
		"kb_" + strings.ToLower(v2): withEmbedding,
		"kb":                        withEmbedding,
	} {
		if diff := cmp.Diff(want, columns(rel)); diff != "" {
			t.Errorf("%s columns (-want +got):\n%s", rel, diff)
		}
	}
	mustRun(t, p, "rollback", nameArgs("kb"))
	if diff := cmp.Diff(withEmbedding, columns("kb")); diff != "" {
		t.Errorf("view columns after rollback (-want +got):\n%s", diff)
	}
	if n := queryInt(t, conn, `SELECT count(*) FROM `+pgx.Identifier{schema, "kb"}.Sanitize()+` WHERE embedding IS NULL`); n != 3 {
		t.Errorf("%d rows with a NULL embedding, want 3", n)
	}
}

// pgVectorType runs the vector extension's detection.
func pgVectorType(b *postgresBackend) (typ string, err error) {
	err = b.read(context.Background(), func(tx pgx.Tx) error {
		typ, err = b.vectorType(context.Background(), tx)
		return err
	})
	return typ, err
}

// A cancelled rebuild leaves nothing behind and the view untouched.
func testPGCancelled(t *testing.T, dsn, schema string) {
	p, _ := newPGPlugin(t, pgConfig{dsn: dsn, schema: schema}, nil)
	conn := pgConn(t, dsn)
	mustRun(t, p, "rebuild", rebuildArgsVal("kb", corpus(t, 3)))
	before := pgSnapshot(t, conn, schema)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := p.Apply(ctx, &plugins.ActionRequest{Action: "rebuild", Args: rebuildArgsVal("kb", corpus(t, 3))})
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled rebuild: %v", err)
	}
	if pgSnapshot(t, conn, schema) != before {
		t.Error("a cancelled rebuild changed the schema")
	}
}

// A DSN with a password that the server refuses: no error shows it.
func testPGDSNNeverShown(t *testing.T, dsn, schema string) {
	const password = "hunter2-Pa55"
	bad := strings.Replace(dsn, "runbook@", "runbook:"+password+"@", 1)
	bad = strings.Replace(bad, "/postgres?", "/"+password+"?", 1) // no such database
	p, _ := newPGPlugin(t, pgConfig{dsn: bad, schema: schema}, nil)
	for _, action := range []string{"status", "rebuild"} {
		a := nameArgs("kb")
		if action == "rebuild" {
			a = rebuildArgsVal("kb", corpus(t, 1))
		}
		_, lines, err := run(t, p, action, a)
		if err == nil {
			t.Fatalf("%s on a missing database succeeded", action)
		}
		text := err.Error() + strings.Join(lines, "\n")
		if strings.Contains(text, password) || strings.Contains(text, bad) {
			t.Errorf("%s: %q shows the DSN or its password", action, text)
		}
		if !strings.Contains(err.Error(), "***") {
			t.Errorf("%s: %q does not mask the database name that holds the password", action, err)
		}
	}
}
