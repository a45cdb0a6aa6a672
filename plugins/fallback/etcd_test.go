package fallback

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/runbookdev/runbook/engine/lock/etcdtest"
	"github.com/runbookdev/runbook/plugins"
)

const etcdPrefix = "/runbook/routes"

// etcdRoutes is a private etcd holding the flags of routesFile, one per key
// under etcdPrefix, as the etcd backend expects them.
type etcdRoutes struct {
	endpoint string
	cli      *clientv3.Client
	values   map[string]string // the seeded values by route
}

func newEtcdRoutes(t *testing.T) *etcdRoutes {
	t.Helper()
	srv := etcdtest.Start(t)
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{srv.Endpoint}, DialTimeout: 10 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	f, err := parseFlagFile([]byte(routesFile))
	if err != nil {
		t.Fatal(err)
	}
	e := &etcdRoutes{endpoint: srv.Endpoint, cli: cli, values: map[string]string{}}
	for _, m := range f.flags {
		value := string(f.data[m.start:m.end])
		e.values[m.key] = value
		e.put(t, m.key, value)
	}
	return e
}

func (e *etcdRoutes) ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func (e *etcdRoutes) put(t *testing.T, route, value string) {
	t.Helper()
	if _, err := e.cli.Put(e.ctx(t), etcdPrefix+"/"+route, value); err != nil {
		t.Fatal(err)
	}
}

// get returns a route's value and mod revision; "" and 0 when it is gone.
func (e *etcdRoutes) get(t *testing.T, route string) (string, int64) {
	t.Helper()
	resp, err := e.cli.Get(e.ctx(t), etcdPrefix+"/"+route)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) == 0 {
		return "", 0
	}
	return string(resp.Kvs[0].Value), resp.Kvs[0].ModRevision
}

// historyEntry is an entry of the etcd history, with its key.
type historyEntry struct {
	key string
	etcdHistoryEntry
}

func (e *etcdRoutes) history(t *testing.T, route string) []historyEntry {
	t.Helper()
	resp, err := e.cli.Get(e.ctx(t), etcdPrefix+"/.history/"+route+"/", clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
	if err != nil {
		t.Fatal(err)
	}
	var entries []historyEntry
	for _, kv := range resp.Kvs {
		h := historyEntry{key: string(kv.Key)}
		if err := json.Unmarshal(kv.Value, &h.etcdHistoryEntry); err != nil {
			t.Fatalf("history %s: %v", kv.Key, err)
		}
		entries = append(entries, h)
	}
	return entries
}

func (e *etcdRoutes) config(extra map[string]cty.Value) cty.Value {
	attrs := map[string]cty.Value{
		"backend":   cty.StringVal("etcd"),
		"endpoints": cty.ListVal([]cty.Value{cty.StringVal(e.endpoint)}),
		"prefix":    cty.StringVal(etcdPrefix),
	}
	for k, v := range extra {
		attrs[k] = v
	}
	return cty.ObjectVal(attrs)
}

func (e *etcdRoutes) plugin(t *testing.T) plugins.Plugin {
	t.Helper()
	p := New()
	if err := p.Configure(context.Background(), e.config(nil)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func (e *etcdRoutes) backend(t *testing.T) *EtcdBackend {
	t.Helper()
	b := NewEtcdBackend(EtcdConfig{Endpoints: []string{e.endpoint}, Prefix: etcdPrefix})
	t.Cleanup(func() { b.Close() })
	return b
}

// TestEtcdActions runs the actions against a real etcd: the same outputs,
// plans, progress and errors as the file backend, the value changed in its
// defaultVariant only, and one history entry per change, written with it.
func TestEtcdActions(t *testing.T) {
	e := newEtcdRoutes(t)
	p := e.plugin(t)
	ctx := context.Background()

	steps := []struct {
		req      *plugins.ActionRequest
		want     cty.Value
		changes  []string
		progress []string
		from, to any // the new history entry; none when to is nil
	}{
		{req: request("status", "chat"), want: routeVal("chat", "primary", "openai/gpt-4.1", chatVariants)},
		{
			req:      request("activate", "chat"),
			want:     routeVal("chat", "fallback", "anthropic/claude-sonnet-4", chatVariants),
			changes:  []string{"chat: primary → fallback (anthropic/claude-sonnet-4)"},
			progress: []string{"chat: primary → fallback (anthropic/claude-sonnet-4)"},
			from:     "primary", to: "fallback",
		},
		{
			req:      request("activate", "chat"),
			want:     routeVal("chat", "fallback", "anthropic/claude-sonnet-4", chatVariants),
			changes:  []string{"chat: fallback already active (anthropic/claude-sonnet-4)"},
			progress: []string{"chat: fallback already active (anthropic/claude-sonnet-4); nothing written"},
		},
		{req: request("status", "chat"), want: routeVal("chat", "fallback", "anthropic/claude-sonnet-4", chatVariants)},
		{
			req:      request("deactivate", "chat"),
			want:     routeVal("chat", "primary", "openai/gpt-4.1", chatVariants),
			changes:  []string{"chat: fallback → primary (openai/gpt-4.1)"},
			progress: []string{"chat: fallback → primary (openai/gpt-4.1)"},
			from:     "fallback", to: "primary",
		},
		{req: request("status", "embeddings"), want: routeVal("embeddings", "", "", embVariants)},
		{
			req:      request("activate", "embeddings"),
			want:     routeVal("embeddings", "fallback", "local/bge-large", embVariants),
			changes:  []string{"embeddings: (no default variant) → fallback (local/bge-large)"},
			progress: []string{"embeddings: (no default variant) → fallback (local/bge-large)"},
			from:     nil, to: "fallback",
		},
		{
			req:     request("deactivate", "summarize"),
			want:    routeVal("summarize", "primary", "openai/gpt-4.1-mini", sumVariants),
			changes: []string{"summarize: fallback → primary (openai/gpt-4.1-mini)", "note: flag summarize is DISABLED: flagd serves none of its variants until it is ENABLED"},
			progress: []string{
				"summarize: fallback → primary (openai/gpt-4.1-mini)",
				"note: flag summarize is DISABLED: flagd serves none of its variants until it is ENABLED",
			},
			from: "fallback", to: "primary",
		},
	}
	for i, st := range steps {
		route := st.req.Args.GetAttr("route").AsString()
		name := fmt.Sprintf("%d %s %s", i, st.req.Action, route)
		valueBefore, revBefore := e.get(t, route)
		historyBefore := e.history(t, route)

		plan, err := p.Plan(ctx, st.req)
		if err != nil {
			t.Fatalf("%s: plan: %v", name, err)
		}
		if diff := cmp.Diff(st.changes, plan.Changes); diff != "" {
			t.Errorf("%s: plan changes (-want +got):\n%s", name, diff)
		}
		if !plan.Output.RawEquals(st.want) {
			t.Errorf("%s: predicted output %#v, want %#v", name, plan.Output, st.want)
		}
		if _, rev := e.get(t, route); rev != revBefore {
			t.Fatalf("%s: plan changed the key (revision %d → %d)", name, revBefore, rev)
		}

		var progress []string
		st.req.Progress = func(line string) { progress = append(progress, line) }
		res, err := p.Apply(ctx, st.req)
		if err != nil {
			t.Fatalf("%s: apply: %v", name, err)
		}
		if !res.Output.RawEquals(st.want) {
			t.Errorf("%s: output %#v, want %#v", name, res.Output, st.want)
		}
		if diff := cmp.Diff(st.progress, progress); diff != "" {
			t.Errorf("%s: progress (-want +got):\n%s", name, diff)
		}

		value, rev := e.get(t, route)
		history := e.history(t, route)
		if st.to == nil {
			if rev != revBefore || len(history) != len(historyBefore) {
				t.Errorf("%s: wrote (revision %d → %d, %d → %d history entries), want nothing", name, revBefore, rev, len(historyBefore), len(history))
			}
			continue
		}
		// The value is the one read with the defaultVariant changed,
		// every other byte as it was.
		f, err := parseFlagValue(route, []byte(valueBefore))
		if err != nil {
			t.Fatal(err)
		}
		data, err := f.withActive(route, st.to.(string))
		if err != nil {
			t.Fatal(err)
		}
		changed, err := parseFlagFile(data)
		if err != nil {
			t.Fatal(err)
		}
		if want := string(flagValue(changed, []byte(valueBefore))); value != want {
			t.Errorf("%s: value\n%s\nwant\n%s", name, value, want)
		}
		if len(history) != len(historyBefore)+1 {
			t.Fatalf("%s: %d history entries, want %d", name, len(history), len(historyBefore)+1)
		}
		h := history[len(history)-1]
		if wantKey := fmt.Sprintf("%s/.history/%s/%020d", etcdPrefix, route, revBefore); h.key != wantKey {
			t.Errorf("%s: history key %s, want %s", name, h.key, wantKey)
		}
		if h.Action != st.req.Action || h.Subject != route || h.From != st.from || h.To != st.to ||
			h.Operator != "alice" || h.RunID != "run-1" || h.Time.IsZero() ||
			h.Key != etcdPrefix+"/"+route || h.ReplacedRevision != revBefore {
			t.Errorf("%s: history entry %+v", name, h)
		}
	}

	// Keys nobody switched are as seeded.
	for _, route := range []string{"solo", "new-checkout"} {
		if value, _ := e.get(t, route); value != e.values[route] {
			t.Errorf("%s changed:\n%s", route, value)
		}
	}
}

func TestEtcdErrors(t *testing.T) {
	e := newEtcdRoutes(t)
	e.put(t, "not-json", `{"state": "ENABLED",`)
	e.put(t, "bad-state", `{"state": "ON", "variants": {"primary": "a"}, "defaultVariant": "primary"}`)
	e.put(t, "escape", `{"state":"ENABLED","variants":{"primary":"a"}}, "chat": {"state":"ENABLED","variants":{"primary":"a"}}`)
	e.put(t, "list", `[1, 2]`)
	// A history key is not a route, nor listed as one.
	e.put(t, ".history/chat/00000000000000000001", `{}`)
	p := e.plugin(t)
	tests := []struct {
		req     *plugins.ActionRequest
		errPath string // "" for an error on no argument
		err     string
	}{
		{req: request("status", "chta"), errPath: "route", err: `etcd prefix /runbook/routes/: no route "chta"; routes: bad-state, chat, embeddings, escape, list, new-checkout, not-json, solo, summarize`},
		{req: request("activate", "chta"), errPath: "route", err: `no route "chta"`},
		{req: request("activate", "chat", "backup"), errPath: "target", err: `route "chat" has no variant "backup"; variants: primary, fallback, canary`},
		{req: request("activate", "solo"), errPath: "target", err: `route "solo" has no variant "fallback"; variants: canary`},
		{req: request("deactivate", "solo"), errPath: "route", err: `route "solo" has no variant "primary"`},
		{req: request("activate", "new-checkout", "on"), errPath: "route", err: `flag "new-checkout" is not a model route`},
		{req: request("activate", "not-json"), err: "etcd key /runbook/routes/not-json: not a valid flagd flag file: the value is not one JSON object"},
		{req: request("activate", "escape"), err: "etcd key /runbook/routes/escape: not a valid flagd flag file: the value is not one JSON object"},
		{req: request("status", "list"), err: "the value is not one JSON object"},
		{req: request("activate", "bad-state"), err: "etcd key /runbook/routes/bad-state: not a valid flagd flag file: flagd's schema"},
		{req: request("status", ".history/chat/00000000000000000001"), err: `".history/chat/00000000000000000001" is not a route: keys under .history/ hold the history`},
	}
	for _, tt := range tests {
		route := tt.req.Args.GetAttr("route").AsString()
		t.Run(tt.req.Action+" "+route, func(t *testing.T) {
			valueBefore, revBefore := e.get(t, route)
			for _, phase := range []string{"plan", "apply"} {
				var err error
				if phase == "plan" {
					_, err = p.Plan(context.Background(), tt.req)
				} else {
					_, err = p.Apply(context.Background(), tt.req)
				}
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("%s: err = %v, want %q", phase, err, tt.err)
				}
				var pe *plugins.Error
				switch {
				case tt.errPath == "" && errors.As(err, &pe):
					t.Errorf("%s: err points at %v, want no argument", phase, pe.Path)
				case tt.errPath != "" && (!errors.As(err, &pe) || !pe.Path.Equals(cty.GetAttrPath(tt.errPath))):
					t.Errorf("%s: err = %#v, want it on %s", phase, err, tt.errPath)
				}
			}
			if value, rev := e.get(t, route); value != valueBefore || rev != revBefore {
				t.Errorf("the key changed: %q (revision %d → %d)", value, revBefore, rev)
			}
		})
	}
}

// TestEtcdConflict changes the key between a switch's read and its write:
// the switch fails, says so, and writes nothing; the other writer's value
// stands.
func TestEtcdConflict(t *testing.T) {
	e := newEtcdRoutes(t)
	other := strings.Replace(e.values["chat"], `"defaultVariant": "primary"`, `"defaultVariant": "canary"`, 1)
	if other == e.values["chat"] {
		t.Fatal("test setup: no defaultVariant to replace")
	}
	for _, tt := range []struct {
		name   string
		change func(t *testing.T)
		want   func(read, now int64) string
	}{
		{
			name:   "changed",
			change: func(t *testing.T) { e.put(t, "chat", other) },
			want: func(read, now int64) string {
				return fmt.Sprintf("route chat changed while we switched it (revision %d → %d); nothing written; read it again and retry", read, now)
			},
		},
		{
			name: "deleted",
			change: func(t *testing.T) {
				if _, err := e.cli.Delete(e.ctx(t), etcdPrefix+"/chat"); err != nil {
					t.Fatal(err)
				}
			},
			want: func(read, _ int64) string {
				return fmt.Sprintf("route chat was deleted while we switched it (revision %d); nothing written", read)
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e.put(t, "chat", e.values["chat"])
			_, read := e.get(t, "chat")
			b := e.backend(t)
			b.beforeCommit = func() { tt.change(t) }
			_, err := b.Switch(context.Background(), "chat", "fallback", Change{Action: "activate", RunID: "run-1", Operator: "alice"})
			value, now := e.get(t, "chat")
			var conflict *ConflictError
			if !errors.As(err, &conflict) {
				t.Fatalf("err = %v, want a *ConflictError", err)
			}
			if want := tt.want(read, now); err.Error() != want {
				t.Errorf("err = %q, want %q", err, want)
			}
			if tt.name == "changed" && value != other {
				t.Errorf("the other writer's value was lost; the key holds\n%s", value)
			}
			if tt.name == "deleted" && now != 0 {
				t.Errorf("the deleted key is back: %s", value)
			}
			if h := e.history(t, "chat"); len(h) != 0 {
				t.Errorf("history %+v, want none", h)
			}

			// Through the plugin, the conflict is the step's error.
			pe := (&plugin{}).attribute("activate", err)
			if !strings.HasPrefix(pe.Error(), "fallback.activate: route chat ") {
				t.Errorf("plugin error %q", pe)
			}
		})
	}
}

// TestEtcdConcurrentSwitches races switchers, each with its own connection,
// flipping one route: every switch that reports a change has exactly one
// history entry, each entry replaced the revision the one before it wrote,
// and the losers fail with a *ConflictError.
func TestEtcdConcurrentSwitches(t *testing.T) {
	e := newEtcdRoutes(t)
	const workers, rounds = 4, 10
	var (
		mu        sync.Mutex
		changed   int
		conflicts int
		wg        sync.WaitGroup
	)
	errs := make(chan error, workers*rounds)
	for w := range workers {
		b := e.backend(t)
		wg.Go(func() {
			for i := range rounds {
				variant := []string{"primary", "fallback", "canary"}[(w+i)%3]
				sw, err := b.Switch(context.Background(), "chat", variant, Change{Action: "activate", RunID: fmt.Sprintf("run-%d-%d", w, i)})
				var conflict *ConflictError
				mu.Lock()
				switch {
				case errors.As(err, &conflict):
					conflicts++
				case err != nil:
					errs <- err
				case sw.Changed:
					changed++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	history := e.history(t, "chat")
	if len(history) != changed {
		t.Fatalf("%d history entries for %d changes (%d conflicts)", len(history), changed, conflicts)
	}
	t.Logf("%d changes, %d conflicts", changed, conflicts)
	// Each change replaced the value the previous one wrote: no lost
	// update. The entries are in revision order; each one's key holds the
	// revision it replaced, and its own revision is the next one's.
	resp, err := e.cli.Get(e.ctx(t), etcdPrefix+"/.history/chat/", clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByModRevision, clientv3.SortAscend))
	if err != nil {
		t.Fatal(err)
	}
	revs := make([]int64, len(resp.Kvs))
	for i, kv := range resp.Kvs {
		revs[i] = kv.ModRevision
	}
	if !sort.SliceIsSorted(revs, func(i, j int) bool { return revs[i] < revs[j] }) {
		t.Errorf("revisions out of order: %v", revs)
	}
	for i := 1; i < len(history); i++ {
		if history[i].ReplacedRevision != resp.Kvs[i-1].ModRevision {
			t.Errorf("entry %d replaced revision %d, but the change before it wrote revision %d", i, history[i].ReplacedRevision, resp.Kvs[i-1].ModRevision)
		}
		if history[i].From != history[i-1].To {
			t.Errorf("entry %d switched from %v, but the change before it switched to %v", i, history[i].From, history[i-1].To)
		}
	}
	_, last := e.get(t, "chat")
	if n := len(resp.Kvs); n > 0 && resp.Kvs[n-1].ModRevision != last {
		t.Errorf("the last entry has revision %d, the route %d", resp.Kvs[n-1].ModRevision, last)
	}
}

func TestEtcdConfigure(t *testing.T) {
	str := cty.StringVal
	list := func(vs ...string) cty.Value {
		if len(vs) == 0 {
			return cty.ListValEmpty(cty.String)
		}
		var out []cty.Value
		for _, v := range vs {
			out = append(out, str(v))
		}
		return cty.ListVal(out)
	}
	tests := []struct {
		name         string
		attrs        map[string]cty.Value
		errPath, err string
	}{
		{name: "minimal", attrs: map[string]cty.Value{"endpoints": list("127.0.0.1:2379"), "prefix": str("/routes")}},
		{name: "auth and timeout", attrs: map[string]cty.Value{"endpoints": list("a:2379", "b:2379"), "prefix": str("routes"), "username": str("runbook"), "password": str("s3cret"), "dial_timeout": str("2s")}},
		{name: "https without files", attrs: map[string]cty.Value{"endpoints": list("https://etcd:2379"), "prefix": str("/routes")}},
		{name: "no endpoints", attrs: map[string]cty.Value{"prefix": str("/routes")}, errPath: "endpoints", err: "Missing etcd endpoints"},
		{name: "empty endpoints", attrs: map[string]cty.Value{"endpoints": list(), "prefix": str("/routes")}, errPath: "endpoints", err: "Missing etcd endpoints"},
		{name: "blank endpoint", attrs: map[string]cty.Value{"endpoints": list("a:2379", " "), "prefix": str("/routes")}, errPath: "endpoints", err: "Empty etcd endpoint"},
		{name: "no prefix", attrs: map[string]cty.Value{"endpoints": list("a:2379")}, errPath: "prefix", err: "Missing etcd key prefix"},
		{name: "root prefix", attrs: map[string]cty.Value{"endpoints": list("a:2379"), "prefix": str("/")}, errPath: "prefix", err: "Missing etcd key prefix"},
		{name: "password without user", attrs: map[string]cty.Value{"endpoints": list("a:2379"), "prefix": str("/r"), "password": str("x")}, errPath: "username", err: "needs the username"},
		{name: "bad dial timeout", attrs: map[string]cty.Value{"endpoints": list("a:2379"), "prefix": str("/r"), "dial_timeout": str("soon")}, errPath: "dial_timeout", err: `"soon" is not a positive duration`},
		{name: "missing CA file", attrs: map[string]cty.Value{"endpoints": list("a:2379"), "prefix": str("/r"), "ca_file": str("/nonexistent/ca.pem")}, errPath: "ca_file", err: "no such file"},
		{name: "cert without key", attrs: map[string]cty.Value{"endpoints": list("a:2379"), "prefix": str("/r"), "cert_file": str("/x.pem")}, errPath: "key_file", err: "set key_file too"},
		{name: "key without cert", attrs: map[string]cty.Value{"endpoints": list("a:2379"), "prefix": str("/r"), "key_file": str("/x.pem")}, errPath: "cert_file", err: "set cert_file too"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			attrs := map[string]cty.Value{"backend": str("etcd")}
			for k, v := range tt.attrs {
				attrs[k] = v
			}
			p := New()
			defer p.Close()
			err := p.Configure(context.Background(), cty.ObjectVal(attrs))
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var pe *plugins.Error
			if !errors.As(err, &pe) || !pe.Path.Equals(cty.GetAttrPath(tt.errPath)) || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("err = %#v, want %q at %s", err, tt.err, tt.errPath)
			}
		})
	}
}

// TestEtcdUnreachable: configuring needs no cluster; an action on one that
// does not answer fails within the dial timeout, saying so.
func TestEtcdUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	p := New()
	defer p.Close()
	config := cty.ObjectVal(map[string]cty.Value{
		"backend":      cty.StringVal("etcd"),
		"endpoints":    cty.ListVal([]cty.Value{cty.StringVal(addr)}),
		"prefix":       cty.StringVal(etcdPrefix),
		"dial_timeout": cty.StringVal("1s"),
	})
	if err := p.Configure(context.Background(), config); err != nil {
		t.Fatal(err)
	}
	for _, req := range []*plugins.ActionRequest{request("status", "chat"), request("activate", "chat")} {
		_, err := p.Apply(context.Background(), req)
		if want := "fallback." + req.Action + ": etcd at " + addr + ": no answer within 1s"; err == nil || err.Error() != want {
			t.Errorf("err = %v, want %q", err, want)
		}
	}
}
