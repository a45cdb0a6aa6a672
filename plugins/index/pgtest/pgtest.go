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
	bin := binDir(t)
	cred := credential(t)
	base, err := os.MkdirTemp("", "runbook-pg-")
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if cred != nil {
		if err := os.Chown(base, int(cred.Uid), int(cred.Gid)); err != nil {
			t.Fatalf("%v", err)
		}
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C", "TZ=UTC"}
	attr := func() *syscall.SysProcAttr {
		return &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
	}
	data := filepath.Join(base, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "--auth=trust", "-U", "runbook",
		"--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions")
	initdb.Dir, initdb.Env, initdb.SysProcAttr = base, env, attr()
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	var lastLog string
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freeTCPPort()
		if err != nil {
			t.Fatalf("%v", err)
		}
		logs := &lockedBuffer{}
		cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(port), "-k", base,
			"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=60")
		cmd.Dir, cmd.Env, cmd.SysProcAttr = base, env, attr()
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Start(); err != nil {
			t.Fatalf("start postgres: %v", err)
		}
		exited := make(chan struct{})
		go func() {
			_ = cmd.Wait()
			close(exited)
		}()
		stop := func() {
			// SIGINT is the fast shutdown: sessions are ended, not awaited.
			_ = cmd.Process.Signal(syscall.SIGINT)
			select {
			case <-exited:
			case <-time.After(15 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
		}
		dsn := fmt.Sprintf("postgres://runbook@127.0.0.1:%d/postgres?sslmode=disable", port)
		if err := waitPostgres(dsn, exited); err != nil {
			stop()
			lastLog = logs.String()
			if strings.Contains(lastLog, "could not bind") || strings.Contains(lastLog, "already in use") {
				continue
			}
			t.Fatalf("postgres did not start: %v\n%s", err, lastLog)
		}
		t.Cleanup(func() {
			stop()
			if f, ok := t.(interface{ Failed() bool }); ok && f.Failed() {
				t.Logf("postgres log:\n%s", logs.String())
			}
		})
		return dsn
	}
	t.Fatalf("postgres found no free port:\n%s", lastLog)
	return ""
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
