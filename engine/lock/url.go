package lock

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// FromURL returns the Locker a --lock-url names (docs/execution.md, "Locks"):
//
//   - "" or "file://": the embedded file lock (NewFile) in fileDir, normally
//     <state-dir>/locks;
//   - "etcd://HOST:PORT[,HOST:PORT…]/PREFIX": an etcd mutex per lock name
//     under the key prefix /PREFIX, shared by every machine that names the
//     same cluster and prefix (see NewEtcd). The query may set ttl (the
//     session lease, whole seconds, default 15s) and dial_timeout (default
//     5s), e.g. etcd://10.0.0.5:2379/runbook/locks?ttl=30s;
//   - "postgres://USER@HOST:PORT/DATABASE" (or postgresql://): a session
//     advisory lock per lock name on that server, the holder recorded in a
//     table (see NewPostgres); the query may hold any connection parameter
//     the pgx driver knows (sslmode, connect_timeout, …).
//
// It only parses: nothing connects until Acquire.
func FromURL(rawURL, fileDir string) (Locker, error) {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	switch {
	case rawURL == "":
		return NewFile(fileDir), nil
	case !ok:
		return nil, fmt.Errorf("lock URL %q: want file:// or etcd://HOST:PORT/PREFIX, or postgres://USER@HOST:PORT/DATABASE", rawURL)
	}
	switch strings.ToLower(scheme) {
	case "file":
		if rest != "" {
			return nil, fmt.Errorf("lock URL %q: file:// takes no path; file locks live under --state-dir", rawURL)
		}
		return NewFile(fileDir), nil
	case "etcd":
		cfg, err := parseEtcdURL(rest)
		if err != nil {
			return nil, fmt.Errorf("lock URL %q: %w", rawURL, err)
		}
		return NewEtcd(cfg), nil
	case "postgres", "postgresql":
		if _, err := pgx.ParseConfig(rawURL); err != nil {
			return nil, fmt.Errorf("lock URL %s: not a PostgreSQL connection URL", redacted(rawURL))
		}
		return NewPostgres(PostgresConfig{URL: rawURL}), nil
	default:
		return nil, fmt.Errorf("lock URL %q: unknown scheme %q; want file://, etcd://HOST:PORT/PREFIX or postgres://USER@HOST:PORT/DATABASE", rawURL, scheme)
	}
}

// redacted is a URL as a message may show it: without its password.
func redacted(rawURL string) string {
	if u, err := url.Parse(rawURL); err == nil {
		return u.Redacted()
	}
	scheme, _, _ := strings.Cut(rawURL, "://")
	return scheme + "://…"
}

// parseEtcdURL parses what follows "etcd://". It is not handed to net/url
// as a whole: a list of hosts is no URL authority.
func parseEtcdURL(rest string) (EtcdConfig, error) {
	cfg := EtcdConfig{TTL: DefaultEtcdTTL, DialTimeout: DefaultEtcdDialTimeout}
	rest, rawQuery, _ := strings.Cut(rest, "?")
	hosts, path, _ := strings.Cut(rest, "/")
	for _, h := range strings.Split(hosts, ",") {
		host, port, err := net.SplitHostPort(h)
		if err != nil || host == "" {
			return cfg, fmt.Errorf("%q is not HOST:PORT", h)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return cfg, fmt.Errorf("%q: port %q is not a number from 1 to 65535", h, port)
		}
		cfg.Endpoints = append(cfg.Endpoints, h)
	}
	path = strings.Trim(path, "/")
	if path == "" {
		return cfg, fmt.Errorf("no key prefix: name one after the hosts, e.g. etcd://127.0.0.1:2379/runbook/locks")
	}
	prefix, err := url.PathUnescape(path)
	if err != nil {
		return cfg, fmt.Errorf("key prefix: %w", err)
	}
	cfg.Prefix = "/" + prefix
	query, err := url.ParseQuery(rawQuery)
	if err != nil {
		return cfg, fmt.Errorf("query: %w", err)
	}
	for key, values := range query {
		if key != "ttl" && key != "dial_timeout" {
			return cfg, fmt.Errorf("unknown parameter %q; etcd lock URLs take ttl and dial_timeout", key)
		}
		d, err := time.ParseDuration(values[len(values)-1])
		if err != nil {
			return cfg, fmt.Errorf("%s: %w", key, err)
		}
		switch key {
		case "ttl":
			if d < time.Second || d%time.Second != 0 {
				return cfg, fmt.Errorf("ttl %s: etcd leases count whole seconds, at least 1s", d)
			}
			cfg.TTL = d
		case "dial_timeout":
			if d <= 0 {
				return cfg, fmt.Errorf("dial_timeout %s: must be positive", d)
			}
			cfg.DialTimeout = d
		}
	}
	return cfg, nil
}
