package lock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/runbookdev/runbook/engine/exitcode"
	"github.com/runbookdev/runbook/plugins/traceprop"
)

// Defaults of an etcd lock URL.
const (
	DefaultEtcdTTL         = 15 * time.Second
	DefaultEtcdDialTimeout = 5 * time.Second
)

// etcdCallTimeout bounds each call to the cluster but the wait for a held
// lock: a cluster that went away must not hang a run, or its release.
const etcdCallTimeout = 10 * time.Second

// EtcdConfig says where an etcd lock lives.
type EtcdConfig struct {
	// Endpoints are the cluster's client addresses, HOST:PORT.
	Endpoints []string
	// Prefix is the key prefix of every lock, e.g. "/runbook/locks".
	Prefix string
	// TTL is the session lease: how long a lock outlives a holder that
	// died without releasing it. Whole seconds.
	TTL time.Duration
	// DialTimeout bounds connecting to the cluster.
	DialTimeout time.Duration
}

// NewEtcd returns a Locker that shares locks across machines through an
// etcd cluster (v3 API; servers 3.4 and later), with etcd's own mutex recipe
// (go.etcd.io/etcd/client/v3/concurrency):
//
//   - each Acquire connects, and opens a session: a lease of cfg.TTL that a
//     goroutine owned by the session keeps alive while the run lives;
//   - the lock name maps to the mutex prefix PREFIX/<escaped name> (escaped
//     as the file lock's file names are, so "a" and "a/b" are two locks, not
//     nested ones); the mutex key PREFIX/<escaped name>/<lease id in hex> is
//     bound to the lease, and the key with the lowest create revision under
//     the mutex prefix holds the lock, later ones wait in line;
//   - the mutex key's value is the holder record, the JSON of the file
//     lock's side file ({"run_id", "operator", "host", "pid", "since"}),
//     written when the key is created, so whoever finds the lock held can
//     name its holder;
//   - Release revokes the lease, which deletes the key at once; a holder
//     that dies stops refreshing the lease, and etcd deletes the key when it
//     expires, within TTL.
//
// Unlike the file lock, it is not re-entrant: a second Acquire of a held
// name in the same process is refused like any other. An Acquire that
// cannot reach the cluster returns an *UnavailableError.
func NewEtcd(cfg EtcdConfig) Locker {
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultEtcdTTL
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultEtcdDialTimeout
	}
	cfg.Prefix = strings.TrimRight(cfg.Prefix, "/")
	return &etcdLocker{cfg: cfg}
}

type etcdLocker struct {
	cfg EtcdConfig
}

// UnavailableError is a lock service that could not be used, so the run's
// lock could not be taken and nothing ran.
type UnavailableError struct {
	Name    string // the lock
	Service string // e.g. "etcd at 10.0.0.5:2379,10.0.0.6:2379"
	Err     error
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("cannot take lock %q: %s: %v; nothing ran", e.Name, e.Service, e.Err)
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// ExitCode is 1: the run failed before its first step.
func (e *UnavailableError) ExitCode() int { return exitcode.Failed }

func (l *etcdLocker) service() string {
	return "etcd at " + strings.Join(l.cfg.Endpoints, ",")
}

func (l *etcdLocker) unavailable(name string, err error) error {
	return &UnavailableError{Name: name, Service: l.service(), Err: err}
}

// mutexPrefix is the etcd mutex's prefix for a lock name.
func (l *etcdLocker) mutexPrefix(name string) string {
	return l.cfg.Prefix + "/" + fileStem(name)
}

// Acquire implements Locker. Zero PID, Host and Since in h are filled in
// with this process's pid, hostname and the current time.
func (l *etcdLocker) Acquire(ctx context.Context, name string, h Holder, wait time.Duration) (Lease, error) {
	if name == "" {
		return nil, errors.New("acquire lock: empty lock name")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("acquire lock %q: %w", name, err)
	}
	record, err := json.Marshal(holderRecord(withDefaults(h)))
	if err != nil {
		return nil, fmt.Errorf("acquire lock %q: record holder: %w", name, err)
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   l.cfg.Endpoints,
		DialTimeout: l.cfg.DialTimeout,
		Logger:      zap.NewNop(),
		// Calls made under the run's span are client spans of its trace.
		DialOptions: []grpc.DialOption{grpc.WithStatsHandler(traceprop.GRPCStatsHandler())},
	})
	if err != nil {
		return nil, l.unavailable(name, err)
	}
	// The client connects in the background and its calls wait for a
	// connection: one read bounded by the dial timeout tells an absent
	// cluster (or one without a leader) at once.
	if err := l.probe(ctx, cli); err != nil {
		cli.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("acquire lock %q: %w", name, ctx.Err())
		}
		return nil, l.unavailable(name, err)
	}
	lease, err := l.session(ctx, cli, name)
	if err != nil {
		return nil, err
	}
	sess := lease.sess
	if err := l.lock(ctx, name, sess, record, wait); err != nil {
		_ = lease.Release() // the first error is the one that matters
		return nil, err
	}
	return lease, nil
}

// session opens the etcd session whose lease keeps the lock, closing cli
// when it cannot.
func (l *etcdLocker) session(ctx context.Context, cli *clientv3.Client, name string) (*etcdLease, error) {
	// The session's context outlives ctx: the lease must be kept alive
	// while the run lives, and the run's context ends on Ctrl-C before the
	// lock is released. Only the lease grant follows ctx, bounded.
	sessCtx, cancelSess := context.WithCancel(context.Background())
	grantCtx, cancelGrant := context.WithTimeout(ctx, etcdCallTimeout)
	following := context.AfterFunc(grantCtx, cancelSess)
	sess, err := concurrency.NewSession(cli, concurrency.WithTTL(int(l.cfg.TTL/time.Second)), concurrency.WithContext(sessCtx))
	followed := !following()
	cancelGrant()
	if err != nil {
		cancelSess()
		cli.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("acquire lock %q: %w", name, ctx.Err())
		}
		return nil, l.unavailable(name, fmt.Errorf("open a session: %w", err))
	}
	lease := &etcdLease{name: name, cli: cli, sess: sess, cancel: cancelSess}
	if followed {
		// The grant's context ended just as the session opened, and took
		// the keep-alive with it.
		_ = lease.Release()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("acquire lock %q: %w", name, ctx.Err())
		}
		return nil, l.unavailable(name, errors.New("open a session: no answer in time"))
	}
	return lease, nil
}

// probe reads one key count, bounded by the dial timeout.
func (l *etcdLocker) probe(ctx context.Context, cli *clientv3.Client) error {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.DialTimeout)
	defer cancel()
	if _, err := cli.Get(ctx, l.cfg.Prefix+"/", clientv3.WithPrefix(), clientv3.WithCountOnly()); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("no answer within %s", l.cfg.DialTimeout)
		}
		return err
	}
	return nil
}

// lock takes the mutex for sess, or says who holds it.
func (l *etcdLocker) lock(ctx context.Context, name string, sess *concurrency.Session, record []byte, wait time.Duration) error {
	cli := sess.Client()
	pfx := l.mutexPrefix(name)
	m := concurrency.NewMutex(sess, pfx)
	// The mutex finds this key already there and queues with it, so the
	// holder record is in place from the moment the key exists.
	myKey := fmt.Sprintf("%s/%x", pfx, sess.Lease())
	putCtx, cancel := context.WithTimeout(ctx, etcdCallTimeout)
	_, err := cli.Put(putCtx, myKey, string(record), clientv3.WithLease(sess.Lease()))
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("acquire lock %q: %w", name, ctx.Err())
		}
		return l.unavailable(name, fmt.Errorf("write %s: %w", myKey, err))
	}

	if wait <= 0 {
		tryCtx, cancel := context.WithTimeout(ctx, etcdCallTimeout)
		err = m.TryLock(tryCtx)
		cancel()
	} else {
		waitCtx, cancel := context.WithTimeout(ctx, wait)
		err = m.Lock(waitCtx)
		cancel()
		if err != nil && waitCtx.Err() != nil && ctx.Err() == nil {
			err = concurrency.ErrLocked // waited long enough
		}
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, concurrency.ErrLocked):
		return &HeldError{Name: name, Holder: l.holder(ctx, cli, pfx)}
	case ctx.Err() != nil:
		return fmt.Errorf("wait for lock %q: %w", name, ctx.Err())
	case errors.Is(err, concurrency.ErrSessionExpired):
		return l.unavailable(name, errors.New("the session lease expired while waiting for the lock"))
	default:
		return l.unavailable(name, err)
	}
}

// holder reads the holder record of the mutex key that holds the lock:
// the one with the lowest create revision under the mutex prefix. What
// cannot be read is left zero.
func (l *etcdLocker) holder(ctx context.Context, cli *clientv3.Client, pfx string) Holder {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), etcdCallTimeout)
	defer cancel()
	resp, err := cli.Get(ctx, pfx+"/", clientv3.WithFirstCreate()...)
	if err != nil || len(resp.Kvs) == 0 {
		return Holder{}
	}
	var rec holderRecord
	_ = json.Unmarshal(resp.Kvs[0].Value, &rec) // fields decoded before an error still help
	return Holder(rec)
}

type etcdLease struct {
	name   string
	cli    *clientv3.Client
	sess   *concurrency.Session
	cancel context.CancelFunc

	mu       sync.Mutex
	released bool
}

func (l *etcdLease) Name() string { return l.name }

// Lost implements Losable: the session's channel, closed when its lease is
// no longer kept alive (expired, revoked, or released).
func (l *etcdLease) Lost() <-chan struct{} { return l.sess.Done() }

// Release revokes the session lease, which deletes the mutex key and so
// frees the lock, then closes the connection. When the cluster cannot be
// reached, the lock frees itself when the lease expires.
func (l *etcdLease) Release() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released {
		return nil
	}
	l.released = true
	// Orphan stops the keep-alive and waits for its goroutine.
	l.sess.Orphan()
	var errs []error
	ctx, cancel := context.WithTimeout(context.Background(), etcdCallTimeout)
	// A lease that is already gone (expired, or revoked by someone else:
	// the lock was lost) leaves nothing to free.
	if _, err := l.cli.Revoke(ctx, l.sess.Lease()); err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
		errs = append(errs, fmt.Errorf("release lock %q: revoke lease %x: %w (the lock frees itself when the lease expires)", l.name, l.sess.Lease(), err))
	}
	cancel()
	l.cancel()
	if err := l.cli.Close(); err != nil && !errors.Is(err, context.Canceled) {
		errs = append(errs, fmt.Errorf("release lock %q: close etcd client: %w", l.name, err))
	}
	return errors.Join(errs...)
}
