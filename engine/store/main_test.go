package store

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/runbookdev/runbook/engine/transcript"
	"github.com/runbookdev/runbook/plugins/index/pgtest"
)

// The package's tests share one PostgreSQL server, started by the first
// test that needs one and stopped after the last; each test has a schema of
// its own.
var server struct {
	once     sync.Once
	dsn      string
	skip     string // why tests skip, when no server can run
	fail     string // why tests fail, when the server did not start
	cleanups []func()
}

// mainTB is the pgtest.TB of the shared server: Skip and Fatalf end the
// goroutine that starts it, as they end a test.
type mainTB struct{}

func (mainTB) Helper()                    {}
func (mainTB) Logf(f string, args ...any) { fmt.Fprintf(os.Stderr, f+"\n", args...) }
func (mainTB) Cleanup(f func())           { server.cleanups = append(server.cleanups, f) }
func (mainTB) Skip(args ...any) {
	server.skip = fmt.Sprint(args...)
	runtime.Goexit()
}
func (mainTB) Fatalf(f string, args ...any) {
	server.fail = fmt.Sprintf(f, args...)
	runtime.Goexit()
}

func TestMain(m *testing.M) {
	code := m.Run()
	for i := len(server.cleanups) - 1; i >= 0; i-- {
		server.cleanups[i]()
	}
	os.Exit(code)
}

// serverDSN is the shared server's DSN; it skips or fails t when there is
// none.
func serverDSN(t testing.TB) string {
	t.Helper()
	server.once.Do(func() {
		done := make(chan struct{})
		go func() {
			defer close(done)
			server.dsn = pgtest.Start(mainTB{})
		}()
		<-done
	})
	switch {
	case server.fail != "":
		t.Fatal(server.fail)
	case server.skip != "":
		t.Skip(server.skip)
	}
	return server.dsn
}

var schemas atomic.Int64

// newSchema is a schema name no other test uses.
func newSchema(t testing.TB) string {
	name := strings.ToLower(strings.NewReplacer("/", "_", "#", "_", " ", "_").Replace(t.Name()))
	if len(name) > 40 {
		name = name[:40]
	}
	return fmt.Sprintf("t%d_%s", schemas.Add(1), name)
}

// openStore opens a store in a new schema of the shared server (or of dsn
// when given), closed when the test ends.
func openStore(t testing.TB, dsn ...string) (*Store, string) {
	t.Helper()
	url := serverDSN(t)
	if len(dsn) > 0 {
		url = dsn[0]
	}
	schema := newSchema(t)
	s, err := Open(context.Background(), url, WithSchema(schema))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(s.Close)
	return s, schema
}

// superConn is a connection as the server's superuser, closed when the
// test ends.
func superConn(t testing.TB) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), serverDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// run is a local transcript being written, and the events written so far.
type run struct {
	id     string
	w      *transcript.Writer
	events []transcript.Event
}

// newRun creates run id's local transcript in a folder of its own and
// writes run_started.
func newRun(t testing.TB, id string) *run {
	t.Helper()
	w, err := transcript.Create(t.TempDir(), id)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	r := &run{id: id, w: w}
	r.record(t, transcript.RunStarted{RunID: id, Runbook: "deploy", Mode: "run", Operator: "alice@laptop",
		Version: "test", Vars: map[string]json.RawMessage{"region": json.RawMessage(`"eu"`)}})
	return r
}

// record writes one record to the local transcript.
func (r *run) record(t testing.TB, rec transcript.Record) transcript.Event {
	t.Helper()
	ev, err := r.w.Record(rec)
	if err != nil {
		t.Fatal(err)
	}
	r.events = append(r.events, ev)
	return ev
}

// step writes the records of one step whose output is out.
func (r *run) step(t testing.TB, i int, out string) {
	t.Helper()
	ref := transcript.StepRef{Index: i, Name: fmt.Sprintf("step-%d", i), Owner: "sre"}
	r.record(t, transcript.StepStarted{StepRef: ref, Action: "shell"})
	r.record(t, transcript.StepFinished{StepRef: ref, Status: "ok", Output: map[string]any{"stdout": out}})
}

// finish writes run_finished and closes the transcript.
func (r *run) finish(t testing.TB, status string) {
	t.Helper()
	r.record(t, transcript.RunFinished{Status: status, ExitCode: 0})
	if err := r.w.Close(); err != nil {
		t.Fatal(err)
	}
}

// file is the local transcript's bytes.
func (r *run) file(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(r.w.Path())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// local reads the local transcript back.
func (r *run) local(t testing.TB) *transcript.Transcript {
	t.Helper()
	tr, err := transcript.Read(r.w.Path())
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// newProxy starts a proxy to target, stopped when the test ends.
func newProxy(t testing.TB, target string) *pgtest.Proxy {
	t.Helper()
	p := pgtest.NewProxy(target)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return p
}

// dsnVia is the shared server's DSN through p.
func dsnVia(t testing.TB, p *pgtest.Proxy) string {
	t.Helper()
	dsn := serverDSN(t)
	at := strings.Index(dsn, "@") + 1
	slash := strings.Index(dsn[at:], "/") + at
	return dsn[:at] + p.Addr() + dsn[slash:]
}

// targetOf is the host:port of a DSN.
func targetOf(dsn string) string {
	at := strings.Index(dsn, "@") + 1
	slash := strings.Index(dsn[at:], "/") + at
	return dsn[at:slash]
}
