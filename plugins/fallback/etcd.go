package fallback

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/zclconf/go-cty/cty"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/filestate"
	"github.com/runbookdev/runbook/plugins/traceprop"
)

// Defaults of the etcd backend.
const (
	defaultDialTimeout = 5 * time.Second
	// etcdCallTimeout bounds each call to the cluster, within the step's
	// own timeout.
	etcdCallTimeout = 10 * time.Second
	// maxListedRoutes bounds the routes an unknown-route error lists.
	maxListedRoutes = 50
)

// historyDir is the key segment under the prefix that holds the history;
// no route may be named after it.
const historyDir = ".history"

// EtcdConfig is the etcd backend's configuration.
type EtcdConfig struct {
	Endpoints []string
	// Prefix is the key prefix of the routes: route R is the key Prefix/R.
	Prefix string
	// TLS, when set, is used for every connection.
	TLS                *tls.Config
	Username, Password string
	DialTimeout        time.Duration
}

// EtcdBackend keeps each route's flag object, exactly as it would appear
// under "flags" in a flagd flag file, in the etcd key PREFIX/ROUTE.
//
// A read parses and validates the object with flagd's schema, as one flag
// of a flag file. A switch reads the key, changes the object's
// defaultVariant and nothing else (unknown members and layout are kept),
// checks that the result validates and serves what was meant, and writes it
// in one transaction that holds only if the key's mod revision is still the
// one read: a concurrent writer makes the switch fail with a
// *ConflictError, and its change stands. The same transaction puts the
// history entry, so a change is never made without its record:
//
//	PREFIX/.history/ROUTE/<mod revision replaced, 20 digits>
//
// holding the JSON of one line of the file backend's history.jsonl ({"time",
// "action", "from", "to", "operator", "run_id", "subject"}) plus "key" and
// "replaced_revision". The entry's own mod revision is the route's new one,
// so `etcdctl get --prefix PREFIX/.history/ROUTE/` lists a route's changes
// in order. Keys under PREFIX/.history/ are never routes.
//
// The connection is made on first use, so configuring the plugin needs no
// cluster.
type EtcdBackend struct {
	cfg    EtcdConfig
	prefix string // cfg.Prefix without trailing slashes

	mu  sync.Mutex
	cli *clientv3.Client

	// beforeCommit, when set, runs between a switch's read and its
	// transaction; tests use it to change the key at that moment.
	beforeCommit func()
}

// NewEtcdBackend returns the backend for the routes under cfg.Prefix.
func NewEtcdBackend(cfg EtcdConfig) *EtcdBackend {
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = defaultDialTimeout
	}
	return &EtcdBackend{cfg: cfg, prefix: strings.TrimRight(cfg.Prefix, "/")}
}

// ConflictError is a route that another writer changed (or deleted) between
// a switch's read and its write; the switch wrote nothing.
type ConflictError struct {
	Route string
	// Read is the mod revision the switch read; Now the key's mod revision
	// when the write was refused, 0 if the key is gone.
	Read, Now int64
}

func (e *ConflictError) Error() string {
	if e.Now == 0 {
		return fmt.Sprintf("route %s was deleted while we switched it (revision %d); nothing written", e.Route, e.Read)
	}
	return fmt.Sprintf("route %s changed while we switched it (revision %d → %d); nothing written; read it again and retry", e.Route, e.Read, e.Now)
}

// UncertainWriteError is a switch whose transaction was sent but not
// confirmed: it may or may not have been applied.
type UncertainWriteError struct {
	Route string
	Err   error
}

func (e *UncertainWriteError) Error() string {
	return fmt.Sprintf("route %s: etcd did not confirm the switch (%v); it may or may not have happened: read the route with fallback.status before retrying", e.Route, e.Err)
}

func (e *UncertainWriteError) Unwrap() error { return e.Err }

func (b *EtcdBackend) service() string {
	return "etcd at " + strings.Join(b.cfg.Endpoints, ",")
}

// client connects on first use.
func (b *EtcdBackend) client(ctx context.Context) (*clientv3.Client, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cli != nil {
		return b.cli, nil
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   b.cfg.Endpoints,
		DialTimeout: b.cfg.DialTimeout,
		TLS:         b.cfg.TLS,
		Username:    b.cfg.Username,
		Password:    b.cfg.Password,
		Logger:      zap.NewNop(),
		// A call made under the action's span is a client span under it,
		// so that a traced etcd's spans join the run's trace.
		DialOptions: []grpc.DialOption{grpc.WithStatsHandler(traceprop.GRPCStatsHandler())},
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.service(), err)
	}
	// The client connects in the background and its calls wait for a
	// connection: one read bounded by the dial timeout tells an absent
	// cluster (or one without a leader) at once.
	probeCtx, cancel := context.WithTimeout(ctx, b.cfg.DialTimeout)
	defer cancel()
	if _, err := cli.Get(probeCtx, b.prefix+"/", clientv3.WithPrefix(), clientv3.WithCountOnly()); err != nil {
		cli.Close()
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("no answer within %s", b.cfg.DialTimeout)
		}
		return nil, fmt.Errorf("%s: %w", b.service(), err)
	}
	b.cli = cli
	return cli, nil
}

func (b *EtcdBackend) key(route string) string { return b.prefix + "/" + route }
func (b *EtcdBackend) historyPrefix(route string) string {
	return b.prefix + "/" + historyDir + "/" + route + "/"
}

// checkRouteName refuses names that are not route keys.
func checkRouteName(route string) error {
	if route == historyDir || strings.HasPrefix(route, historyDir+"/") {
		return fmt.Errorf("%q is not a route: keys under %s/ hold the history", route, historyDir)
	}
	return nil
}

// stored is a route as read from etcd.
type stored struct {
	route *Route
	flag  *flagFile // the value wrapped as a one-flag file
	value []byte
	rev   int64 // the key's mod revision
}

// read reads and validates a route's key.
func (b *EtcdBackend) read(ctx context.Context, cli *clientv3.Client, name string) (*stored, error) {
	if err := checkRouteName(name); err != nil {
		return nil, err
	}
	key := b.key(name)
	resp, err := cli.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("%s: read %s: %w", b.service(), key, err)
	}
	if len(resp.Kvs) == 0 {
		routes, err := b.routes(ctx, cli)
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("etcd prefix %s/: %w", b.prefix, &RouteNotFoundError{Route: name, Routes: routes})
	}
	kv := resp.Kvs[0]
	f, err := parseFlagValue(name, kv.Value)
	if err != nil {
		return nil, fmt.Errorf("etcd key %s: %w", key, err)
	}
	r, err := f.route(name)
	if err != nil {
		return nil, fmt.Errorf("etcd key %s: %w", key, err)
	}
	return &stored{route: r, flag: f, value: kv.Value, rev: kv.ModRevision}, nil
}

// routes lists the route names under the prefix, at most maxListedRoutes,
// skipping the history.
func (b *EtcdBackend) routes(ctx context.Context, cli *clientv3.Client) ([]string, error) {
	all := b.prefix + "/"
	hist := all + historyDir + "/"
	var names []string
	// The keys before the history, then those after it.
	for _, span := range [][2]string{
		{all, hist},
		{all + historyDir + "0", clientv3.GetPrefixRangeEnd(all)}, // '0' follows '/'
	} {
		resp, err := cli.Get(ctx, span[0], clientv3.WithRange(span[1]), clientv3.WithKeysOnly(), clientv3.WithLimit(maxListedRoutes))
		if err != nil {
			return nil, fmt.Errorf("%s: list %s: %w", b.service(), all, err)
		}
		for _, kv := range resp.Kvs {
			if len(names) < maxListedRoutes {
				names = append(names, strings.TrimPrefix(string(kv.Key), all))
			}
		}
	}
	return names, nil
}

// parseFlagValue parses a route's value as the one flag of a flag file, so
// it is validated by flagd's schema exactly as the file backend's flags
// are. The value must be one JSON object by itself, or it could close the
// wrapping and pass for something else.
func parseFlagValue(name string, value []byte) (*flagFile, error) {
	trimmed := bytes.TrimSpace(value)
	if !json.Valid(trimmed) || len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, &InvalidFileError{Complaint: "the value is not one JSON object (a flagd flag: {\"state\", \"variants\", \"defaultVariant\", …})"}
	}
	key, err := jsonString(name)
	if err != nil {
		return nil, err
	}
	var doc bytes.Buffer
	doc.WriteString(`{"flags":{`)
	doc.Write(key)
	doc.WriteByte(':')
	doc.Write(value)
	doc.WriteString(`}}`)
	return parseFlagFile(doc.Bytes())
}

// flagValue is the value of the one flag of a file made by parseFlagValue,
// with the blanks around the original value kept.
func flagValue(f *flagFile, original []byte) []byte {
	m := f.flags[0]
	lead := original[:len(original)-len(bytes.TrimLeft(original, " \t\r\n"))]
	trail := original[len(bytes.TrimRight(original, " \t\r\n")):]
	out := make([]byte, 0, len(lead)+m.end-m.start+len(trail))
	out = append(out, lead...)
	out = append(out, f.data[m.start:m.end]...)
	return append(out, trail...)
}

// Route implements Backend.
func (b *EtcdBackend) Route(ctx context.Context, name string) (*Route, error) {
	var r *Route
	err := b.withRoute(ctx, name, func(_ context.Context, _ *clientv3.Client, s *stored) error {
		r = s.route
		return nil
	})
	return r, err
}

// withRoute connects, reads the route name and calls fn with what it read,
// all within etcdCallTimeout.
func (b *EtcdBackend) withRoute(ctx context.Context, name string, fn func(context.Context, *clientv3.Client, *stored) error) error {
	cli, err := b.client(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, etcdCallTimeout)
	defer cancel()
	s, err := b.read(ctx, cli, name)
	if err != nil {
		return err
	}
	return fn(ctx, cli, s)
}

// etcdHistoryEntry is a history entry as stored in etcd.
type etcdHistoryEntry struct {
	filestate.HistoryEntry
	Key              string `json:"key"`
	ReplacedRevision int64  `json:"replaced_revision"`
}

// Switch implements Backend with a compare-and-swap on the key's mod
// revision; see EtcdBackend.
func (b *EtcdBackend) Switch(ctx context.Context, name, variant string, c Change) (*Switched, error) {
	var done *Switched
	err := b.withRoute(ctx, name, func(ctx context.Context, cli *clientv3.Client, s *stored) error {
		var err error
		done, err = b.switchRead(ctx, cli, s, name, variant, c)
		return err
	})
	if err != nil {
		return nil, err
	}
	return done, nil
}

// switchRead is Switch once the route is read as s.
func (b *EtcdBackend) switchRead(ctx context.Context, cli *clientv3.Client, s *stored, name, variant string, c Change) (*Switched, error) {
	key := b.key(name)
	before := s.route
	// The transaction below compares the key's revision with the one read
	// here: a check of what was read holds for what is replaced.
	edit, err := editSwitch(s.flag, name, variant, before, c, "etcd key "+key, "flag")
	if err != nil {
		return nil, err
	}
	if edit == nil {
		return &Switched{Before: before, After: before}, nil
	}

	history := switchRecord(name, variant, before, c)
	history.Time = time.Now().UTC()
	entry, err := json.Marshal(etcdHistoryEntry{
		HistoryEntry:     history,
		Key:              key,
		ReplacedRevision: s.rev,
	})
	if err != nil {
		return nil, fmt.Errorf("route %s: encode history entry: %w", name, err)
	}
	historyKey := fmt.Sprintf("%s%020d", b.historyPrefix(name), s.rev)

	if b.beforeCommit != nil {
		b.beforeCommit()
	}
	resp, err := cli.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(key), "=", s.rev)).
		Then(
			// IgnoreLease keeps a lease the key may have.
			clientv3.OpPut(key, string(flagValue(edit.changed, s.value)), clientv3.WithIgnoreLease()),
			clientv3.OpPut(historyKey, string(entry)),
		).
		Else(clientv3.OpGet(key, clientv3.WithKeysOnly())).
		Commit()
	if err != nil {
		return nil, &UncertainWriteError{Route: name, Err: fmt.Errorf("%s: %w", b.service(), err)}
	}
	if !resp.Succeeded {
		conflict := &ConflictError{Route: name, Read: s.rev}
		if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) > 0 {
			conflict.Now = kvs[0].ModRevision
		}
		return nil, conflict
	}
	return &Switched{Before: before, After: edit.after, Changed: true}, nil
}

// Close implements Backend.
func (b *EtcdBackend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cli == nil {
		return nil
	}
	err := b.cli.Close()
	b.cli = nil
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("close %s: %w", b.service(), err)
	}
	return nil
}

// loadTLS builds the TLS configuration from PEM files: ca_file verifies the
// servers (else the system's roots), cert_file and key_file, together,
// authenticate the client. A problem is a *plugins.Error on its attribute.
func loadTLS(caFile, certFile, keyFile string) (*tls.Config, error) {
	fail := func(name, detail string) error {
		return &plugins.Error{Path: cty.GetAttrPath(name), Summary: "Invalid etcd TLS configuration", Detail: detail}
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fail("ca_file", err.Error())
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fail("ca_file", fmt.Sprintf("%s holds no PEM certificate.", caFile))
		}
		cfg.RootCAs = pool
	}
	switch {
	case certFile == "" && keyFile != "":
		return nil, fail("cert_file", "key_file needs the certificate it belongs to: set cert_file too.")
	case certFile != "" && keyFile == "":
		return nil, fail("key_file", "cert_file needs its private key: set key_file too.")
	case certFile != "":
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fail("cert_file", err.Error())
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// etcdConfig reads the etcd backend's configuration; a problem is a
// *plugins.Error on the attribute at fault.
func etcdConfig(config cty.Value) (EtcdConfig, error) {
	str := func(name string) string {
		if v := plugins.Attr(config, name); !v.IsNull() {
			return strings.TrimSpace(v.AsString())
		}
		return ""
	}
	fail := func(name, summary, detail string) (EtcdConfig, error) {
		return EtcdConfig{}, &plugins.Error{Path: cty.GetAttrPath(name), Summary: summary, Detail: detail}
	}
	var cfg EtcdConfig
	if v := plugins.Attr(config, "endpoints"); !v.IsNull() {
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			if e.IsNull() || strings.TrimSpace(e.AsString()) == "" {
				return fail("endpoints", "Empty etcd endpoint", "Each endpoint is HOST:PORT or http(s)://HOST:PORT.")
			}
			cfg.Endpoints = append(cfg.Endpoints, strings.TrimSpace(e.AsString()))
		}
	}
	if len(cfg.Endpoints) == 0 {
		return fail("endpoints", "Missing etcd endpoints", `The etcd backend needs the cluster's client endpoints: set endpoints = ["10.0.0.5:2379"] in the plugin "fallback" block.`)
	}
	cfg.Prefix = str("prefix")
	if strings.Trim(cfg.Prefix, "/") == "" {
		return fail("prefix", "Missing etcd key prefix", `The etcd backend needs the key prefix of the routes: set prefix = "/runbook/routes" in the plugin "fallback" block; route R is then the key /runbook/routes/R.`)
	}
	caFile, certFile, keyFile := str("ca_file"), str("cert_file"), str("key_file")
	useTLS := caFile != "" || certFile != "" || keyFile != ""
	for _, e := range cfg.Endpoints {
		useTLS = useTLS || strings.HasPrefix(strings.ToLower(e), "https://")
	}
	if useTLS {
		tlsCfg, err := loadTLS(caFile, certFile, keyFile)
		if err != nil {
			return EtcdConfig{}, err
		}
		cfg.TLS = tlsCfg
	}
	cfg.Username, cfg.Password = str("username"), ""
	if v := plugins.Attr(config, "password"); !v.IsNull() {
		cfg.Password = v.AsString() // not trimmed: a password is what it is
	}
	if cfg.Password != "" && cfg.Username == "" {
		return fail("username", "Missing etcd user", "A password needs the username it belongs to.")
	}
	if d := str("dial_timeout"); d != "" {
		timeout, err := time.ParseDuration(d)
		if err != nil || timeout <= 0 {
			return fail("dial_timeout", "Invalid dial timeout", fmt.Sprintf("%q is not a positive duration such as \"5s\".", d))
		}
		cfg.DialTimeout = timeout
	}
	return cfg, nil
}
