//go:build linux

package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// BinDir finds the folder of initdb and postgres: $RUNBOOK_PG_BINDIR, the
// newest /usr/lib/postgresql/*/bin, or initdb's folder on $PATH. Without
// one it returns ErrNoServer.
func BinDir() (string, error) {
	has := func(dir string) bool {
		for _, b := range []string{"initdb", "postgres"} {
			if info, err := os.Stat(filepath.Join(dir, b)); err != nil || info.IsDir() {
				return false
			}
		}
		return true
	}
	if dir := os.Getenv("RUNBOOK_PG_BINDIR"); dir != "" {
		if !has(dir) {
			return "", fmt.Errorf("RUNBOOK_PG_BINDIR=%s holds no initdb and postgres", dir)
		}
		return dir, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgMajor(dirs[i]) > pgMajor(dirs[j]) })
	for _, d := range dirs {
		if has(d) {
			return d, nil
		}
	}
	if path, err := exec.LookPath("initdb"); err == nil && has(filepath.Dir(path)) {
		return filepath.Dir(path), nil
	}
	return "", ErrNoServer
}

// binDir is BinDir for a test: it skips t without server binaries, or
// fails it when Required.
func binDir(t TB) string {
	t.Helper()
	dir, err := BinDir()
	if errors.Is(err, ErrNoServer) {
		if Required() {
			t.Fatalf("%v, and RUNBOOK_REQUIRE_SERVICES=1 requires them", err)
		}
		t.Skip(err.Error())
	}
	if err != nil {
		t.Fatalf("%v", err)
	}
	return dir
}

// pgMajor reads the major version from /usr/lib/postgresql/15/bin.
func pgMajor(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// credential is who initdb and postgres run as: nil (this process's user)
// unless this process is root.
func credential(t TB) *syscall.Credential {
	t.Helper()
	if os.Geteuid() != 0 {
		return nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil || uid == 0 {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	t.Fatalf("running as root, and there is neither a postgres nor a nobody user to run PostgreSQL as")
	return nil
}

// Start runs a private PostgreSQL server for the test and returns its DSN,
// postgres://runbook@127.0.0.1:PORT/postgres. It is stopped, and its files
// removed, when the test ends; when the test failed (a t with Failed), the
// server's log is logged.
func Start(t TB) string {
	t.Helper()
	c := initCluster(t)
	var lastLog string
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freeTCPPort()
		if err != nil {
			t.Fatalf("%v", err)
		}
		srv := c.start(t, port)
		dsn := fmt.Sprintf("postgres://runbook@127.0.0.1:%d/postgres?sslmode=disable", port)
		if err := waitPostgres(dsn, srv.exited); err != nil {
			srv.stop()
			lastLog = srv.logs.String()
			if strings.Contains(lastLog, "could not bind") || strings.Contains(lastLog, "already in use") {
				continue
			}
			t.Fatalf("postgres did not start: %v\n%s", err, lastLog)
		}
		t.Cleanup(func() {
			srv.stop()
			if f, ok := t.(interface{ Failed() bool }); ok && f.Failed() {
				t.Logf("postgres log:\n%s", srv.logs.String())
			}
		})
		return dsn
	}
	t.Fatalf("postgres found no free port:\n%s", lastLog)
	return ""
}

// cluster is a database cluster made for one test, in a folder removed
// after it.
type cluster struct {
	bin, base, data string
	env             []string
	cred            *syscall.Credential
}

// attr runs a program of the cluster's as its owner, killed with the test.
func (c *cluster) attr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: c.cred, Pdeathsig: syscall.SIGKILL}
}

// initCluster makes a cluster with initdb.
func initCluster(t TB) *cluster {
	t.Helper()
	c := &cluster{bin: binDir(t), cred: credential(t)}
	var err error
	c.base, err = os.MkdirTemp("", "runbook-pg-")
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() { os.RemoveAll(c.base) })
	if c.cred != nil {
		if err := os.Chown(c.base, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			t.Fatalf("%v", err)
		}
	}
	c.env = []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C", "TZ=UTC"}
	c.data = filepath.Join(c.base, "data")
	initdb := exec.Command(filepath.Join(c.bin, "initdb"), "-D", c.data, "--auth=trust", "-U", "runbook",
		"--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions")
	initdb.Dir, initdb.Env, initdb.SysProcAttr = c.base, c.env, c.attr()
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	return c
}

// server is a postgres process of a cluster.
type server struct {
	cmd    *exec.Cmd
	logs   *lockedBuffer
	exited chan struct{} // closed when the process has exited
}

// start starts postgres on the cluster, listening on port.
func (c *cluster) start(t TB, port int) *server {
	t.Helper()
	srv := &server{logs: &lockedBuffer{}, exited: make(chan struct{})}
	srv.cmd = exec.Command(filepath.Join(c.bin, "postgres"), "-D", c.data, "-p", strconv.Itoa(port), "-k", c.base,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=60")
	srv.cmd.Dir, srv.cmd.Env, srv.cmd.SysProcAttr = c.base, c.env, c.attr()
	srv.cmd.Stdout, srv.cmd.Stderr = srv.logs, srv.logs
	if err := srv.cmd.Start(); err != nil {
		t.Fatalf("start postgres: %v", err)
	}
	go func() {
		_ = srv.cmd.Wait()
		close(srv.exited)
	}()
	return srv
}

// stop stops the server and waits for it to exit.
func (srv *server) stop() {
	// SIGINT is the fast shutdown: sessions are ended, not awaited.
	_ = srv.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-srv.exited:
	case <-time.After(15 * time.Second):
		_ = srv.cmd.Process.Kill()
		<-srv.exited
	}
}

// waitPostgres waits until the server takes connections.
func waitPostgres(dsn string, exited <-chan struct{}) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, dsn)
		if err == nil {
			err = conn.Ping(ctx)
			conn.Close(ctx)
		}
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("the server exited: %w", err)
		default:
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freeTCPPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// lockedBuffer collects a process's output, written from other goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
