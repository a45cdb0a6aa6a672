package lock

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestFromURL(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		url  string
		file bool        // want the file lock in dir
		etcd *EtcdConfig // want an etcd lock with this configuration
		err  string
	}{
		{url: "", file: true},
		{url: "file://", file: true},
		{url: "FILE://", file: true},
		{
			url:  "etcd://127.0.0.1:2379/runbook/locks",
			etcd: &EtcdConfig{Endpoints: []string{"127.0.0.1:2379"}, Prefix: "/runbook/locks", TTL: DefaultEtcdTTL, DialTimeout: DefaultEtcdDialTimeout},
		},
		{
			url:  "etcd://10.0.0.5:2379,10.0.0.6:2379,[::1]:2379/locks/?ttl=30s&dial_timeout=2s",
			etcd: &EtcdConfig{Endpoints: []string{"10.0.0.5:2379", "10.0.0.6:2379", "[::1]:2379"}, Prefix: "/locks", TTL: 30 * time.Second, DialTimeout: 2 * time.Second},
		},
		{
			url:  "etcd://etcd.internal:2379/team%20a/locks",
			etcd: &EtcdConfig{Endpoints: []string{"etcd.internal:2379"}, Prefix: "/team a/locks", TTL: DefaultEtcdTTL, DialTimeout: DefaultEtcdDialTimeout},
		},
		{url: "/var/locks", err: "want file:// or etcd://"},
		{url: "file:///var/locks", err: "file:// takes no path"},
		{url: "redis://127.0.0.1:6379/x", err: `unknown scheme "redis"`},
		{url: "etcd://127.0.0.1:2379", err: "no key prefix"},
		{url: "etcd://127.0.0.1:2379/", err: "no key prefix"},
		{url: "etcd://127.0.0.1/locks", err: `"127.0.0.1" is not HOST:PORT`},
		{url: "etcd://127.0.0.1:2379,/locks", err: `"" is not HOST:PORT`},
		{url: "etcd://:2379/locks", err: `":2379" is not HOST:PORT`},
		{url: "etcd://h:http/locks", err: `port "http" is not a number`},
		{url: "etcd://h:70000/locks", err: `port "70000" is not a number`},
		{url: "etcd://h:2379/locks?ttl=1500ms", err: "whole seconds"},
		{url: "etcd://h:2379/locks?ttl=0s", err: "whole seconds"},
		{url: "etcd://h:2379/locks?ttl=soon", err: "ttl: time: invalid duration"},
		{url: "etcd://h:2379/locks?dial_timeout=-1s", err: "must be positive"},
		{url: "etcd://h:2379/locks?user=root", err: `unknown parameter "user"`},
		{url: "etcd://h:2379/locks%zz", err: "key prefix"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			l, err := FromURL(tt.url, dir)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				if !strings.Contains(err.Error(), tt.url) {
					t.Errorf("err = %v does not name the URL", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			switch l := l.(type) {
			case *fileLocker:
				if !tt.file || l.dir != dir {
					t.Errorf("got a file lock in %s, want %+v", l.dir, tt)
				}
			case *etcdLocker:
				if tt.etcd == nil {
					t.Fatalf("got an etcd lock %+v, want a file lock", l.cfg)
				}
				if diff := cmp.Diff(*tt.etcd, l.cfg); diff != "" {
					t.Errorf("etcd config (-want +got):\n%s", diff)
				}
			default:
				t.Fatalf("got %T", l)
			}
		})
	}
}
