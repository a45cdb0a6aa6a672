package engine

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/engine/lock"
	"github.com/runbookdev/runbook/engine/redact"
	"github.com/runbookdev/runbook/engine/transcript"
	"github.com/runbookdev/runbook/plugins"
)

// diskFull is a transcript file system whose files fail to write once the
// budget of lines is spent, as a full disk would.
type diskFull struct {
	transcript.OSFS
	lines int
}

type budgetFile struct {
	*os.File
	fs *diskFull
}

func (f *budgetFile) Write(p []byte) (int, error) {
	if f.fs.lines <= 0 {
		return 0, fmt.Errorf("write %s: %w", f.Name(), syscall.ENOSPC)
	}
	f.fs.lines--
	return f.File.Write(p)
}

func (fs *diskFull) CreateExcl(name string) (transcript.File, error) {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	return &budgetFile{File: f, fs: fs}, nil
}

// When the transcript cannot be written, the run stops before its next
// step: nothing mutating runs unrecorded, and the run fails (exit 1).
func TestDiskFullStopsTheRun(t *testing.T) {
	for _, budget := range []int{1, 3, 5, 8} {
		t.Run(fmt.Sprintf("after %d events", budget), func(t *testing.T) {
			cfg, rb := load(t, rollback)
			kv := newKV()
			w, err := transcript.Create(t.TempDir(), "run-1", transcript.WithFS(&diskFull{lines: budget}))
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			res, err := Run(context.Background(), cfg, rb, WithPlugins(InProcess{"kv": kv}), WithHooks(TranscriptHook(w)),
				WithVars(map[string]string{"value": "v2"}), WithYes(true), WithEnv(func(string) (string, bool) { return "", false }))
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != StatusFailed || res.ExitCode != 1 || !strings.Contains(res.Reason, "no space left") {
				t.Fatalf("%+v", res)
			}
			// The set runs only once everything before it is on disk:
			// run_started, read's three events, write's step_started,
			// precondition and confirmation — seven events.
			ran := false
			for _, c := range kv.Calls() {
				ran = ran || c == "apply set"
			}
			if ran != (budget >= 7) {
				t.Fatalf("kv.set ran = %v with room for %d events on disk (%v)", ran, budget, kv.Calls())
			}
		})
	}
}

// echoSecret returns the key it gets in the forms a service might echo it:
// as is, base64- and URL-encoded, and inside an error.
type echoSecret struct{ *kvPlugin }

func (p *echoSecret) Apply(_ context.Context, req *plugins.ActionRequest) (*plugins.ApplyResult, error) {
	k := req.Args.GetAttr("key").AsString()
	if req.Action == "set" {
		return nil, errors.New("backend refused token " + k + " (" + url.QueryEscape(k) + ")")
	}
	return &plugins.ApplyResult{Output: cty.ObjectVal(map[string]cty.Value{
		"key":     cty.StringVal("Authorization: Bearer " + k),
		"value":   cty.StringVal(base64.StdEncoding.EncodeToString([]byte(k)) + " " + url.QueryEscape(k) + " " + base64.RawURLEncoding.EncodeToString([]byte(k))),
		"version": cty.NumberIntVal(1),
	})}, nil
}

func TestSecretsInEveryForm(t *testing.T) {
	const secret = "s3cr3t/t0ken+value=="
	src := `runbook "rb" {
  owner = "t"
  variable "token" {
    sensitive = true
  }
  step "echo" {
    action "kv.get" {
      key = var.token
    }
    expect {
      condition     = output.value == "nope"
      error_message = "got ${output.value} and ${output.key}"
    }
    on_failure = "continue"
  }
  step "fail" {
    action "kv.set" {
      key   = var.token
      value = "x"
    }
  }
}`
	cfg, rb := load(t, src)
	tr, events, res := recordRun(t, cfg, rb, WithPlugins(InProcess{"kv": &echoSecret{newKV()}}), WithVars(map[string]string{"token": secret}))
	forms := []string{secret, base64.StdEncoding.EncodeToString([]byte(secret)), url.QueryEscape(secret), base64.RawURLEncoding.EncodeToString([]byte(secret))}
	for _, form := range forms {
		for where, text := range map[string]string{"transcript": tr, "events": events, "reason": res.Reason} {
			if strings.Contains(text, form) {
				t.Errorf("%s holds the secret as %q", where, form)
			}
		}
	}
	if !strings.Contains(tr, redact.Marker) {
		t.Error("the transcript shows no redaction at all")
	}
}

// A soak: many dry-runs and real runs in one process leave goroutine and
// file-descriptor counts flat.
func TestSoak(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("runbook \"soak\" {\n  owner = \"t\"\n")
	for i := range 10 {
		if i%2 == 0 {
			fmt.Fprintf(&sb, "  step \"s%d\" {\n    action \"kv.get\" {\n      key = \"k\"\n    }\n  }\n", i)
		} else {
			fmt.Fprintf(&sb, "  step \"s%d\" {\n    action \"kv.set\" {\n      key   = \"k\"\n      value = \"v%d\"\n    }\n  }\n", i, i)
		}
	}
	sb.WriteString("}\n")
	cfg, rb := load(t, sb.String())
	dir := t.TempDir()
	run := func(i int, dry bool) {
		// fsync is not what a soak measures; it would only make it slow.
		w, err := transcript.Create(dir, fmt.Sprintf("run-%d", i), transcript.WithFS(noSync{}))
		if err != nil {
			t.Fatal(err)
		}
		res, err := Run(context.Background(), cfg, rb, WithPlugins(InProcess{"kv": newKV()}), WithHooks(TranscriptHook(w)),
			WithDryRun(dry), WithYes(true), WithEnv(func(string) (string, bool) { return "", false }))
		w.Close()
		if err != nil || res.Status != StatusSucceeded {
			t.Fatalf("run %d: %v %+v", i, err, res)
		}
	}
	for i := range 50 { // warm up
		run(i, true)
	}
	// No collection during the soak: a leaked *os.File would otherwise be
	// closed by its finalizer and the leak go unseen. That costs about
	// 300 MB, and over 1 GB under -race, which therefore collects as usual
	// (the plain `go test` run catches descriptor leaks).
	if !raceEnabled {
		defer debug.SetGCPercent(debug.SetGCPercent(-1))
	}
	goroutines, fds, heap := counts()
	for i := range 1000 {
		run(1000+i, true)
	}
	for i := range 200 {
		run(3000+i, false)
	}
	g2, f2, h2 := counts()
	if g2 > goroutines+2 || f2 > fds+2 {
		t.Errorf("goroutines %d → %d, fds %d → %d", goroutines, g2, fds, f2)
	}
	if h2 > heap*2+8<<20 {
		t.Errorf("heap %d → %d bytes", heap, h2)
	}
	if diff := cmp.Diff(1250, countFiles(t, dir)); diff != "" {
		t.Errorf("transcripts: %s", diff)
	}
}

func counts() (goroutines, fds int, heap uint64) {
	// Descriptors first: the collection below runs finalizers, which close
	// files nobody closed.
	entries, _ := os.ReadDir("/proc/self/fd")
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return runtime.NumGoroutine(), len(entries), m.HeapAlloc
}

func countFiles(t *testing.T, dir string) int {
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// noSync is the real file system without fsync.
type noSync struct{ transcript.OSFS }

type noSyncFile struct{ *os.File }

func (noSyncFile) Sync() error { return nil }

func (noSync) CreateExcl(name string) (transcript.File, error) {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	return noSyncFile{f}, nil
}

func (noSync) SyncDir(string) error { return nil }

// When the transcript fails, the other hooks (the terminal) still hear how
// the run ended and why.
func TestOtherHooksHearWhyTheRunStopped(t *testing.T) {
	cfg, rb := load(t, rollback)
	failing := &recorder{failAt: "action_result"}
	view := &recorder{}
	res, err := Run(context.Background(), cfg, rb, WithPlugins(InProcess{"kv": newKV()}), WithHooks(failing, view),
		WithVars(map[string]string{"value": "v2"}), WithYes(true), WithEnv(func(string) (string, bool) { return "", false }))
	if err != nil {
		t.Fatal(err)
	}
	last, ok := view.events[len(view.events)-1].(RunFinished)
	if !ok || last.Status != StatusFailed || !strings.Contains(last.Reason, "disk full") || res.ExitCode != 1 {
		t.Fatalf("the terminal's last event: %#v", view.events[len(view.events)-1])
	}
	for _, e := range failing.events {
		if e.Type() == "run_finished" {
			t.Error("a failed hook got more events")
		}
	}
}

// lineSyncFS is the real file system that records, at each fsync of a
// transcript, how many lines the file then holds.
type lineSyncFS struct {
	transcript.OSFS
	synced []int
}

type lineSyncFile struct {
	*os.File
	fs *lineSyncFS
}

func (f *lineSyncFile) Sync() error {
	b, err := os.ReadFile(f.Name())
	if err != nil {
		return err
	}
	f.fs.synced = append(f.fs.synced, strings.Count(string(b), "\n"))
	return f.File.Sync()
}

func (fs *lineSyncFS) CreateExcl(name string) (transcript.File, error) {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	return &lineSyncFile{File: f, fs: fs}, nil
}

// The transcript of a real run is fsync'd before anything changes and after
// anything changed, not once per event: right before kv.set runs (its
// step_started, precondition and confirmation on disk first), after the
// step_finished of the steps that changed something (kv.set's, the manual
// step's), and after run_finished. A dry-run's, which records a rehearsal
// that changed nothing, once, when it ends.
func TestTranscriptSyncsAtBoundaries(t *testing.T) {
	for _, dry := range []bool{false, true} {
		t.Run(fmt.Sprintf("dry-run=%v", dry), func(t *testing.T) {
			cfg, rb := load(t, rollback)
			fs := &lineSyncFS{}
			w, err := transcript.Create(t.TempDir(), "run-1", transcript.WithFS(fs))
			if err != nil {
				t.Fatal(err)
			}
			res, err := Run(context.Background(), cfg, rb, WithPlugins(InProcess{"kv": newKV()}), WithHooks(TranscriptHook(w)),
				WithVars(map[string]string{"value": "v2"}), WithYes(true), WithDryRun(dry), WithEnv(func(string) (string, bool) { return "", false }))
			if err != nil || res.ExitCode != 0 {
				t.Fatalf("%v %+v", err, res)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			tr, err := transcript.Read(w.Path())
			if err != nil {
				t.Fatal(err)
			}
			var want []int
			changed := false
			for i, ev := range tr.Events {
				switch ev.Type {
				case "step_started":
					changed = !dry && ev.Fields["manual"] != nil
				case "step_finished":
					if changed {
						want = append(want, i+1)
					}
				case "run_finished":
					want = append(want, i+1)
				case "action_result":
					if string(ev.Fields["read_only"]) == "false" {
						want = append(want, i)
						changed = true
					}
				}
			}
			if diff := cmp.Diff(want, fs.synced); diff != "" {
				t.Errorf("lines on disk at each fsync (-want +got):\n%s", diff)
			}
			if len(fs.synced) >= len(tr.Events) {
				t.Errorf("%d fsyncs for %d events: not batched", len(fs.synced), len(tr.Events))
			}
		})
	}
}

// losableLocker hands out leases that the test can lose.
type losableLocker struct{ lost chan struct{} }

func (l *losableLocker) Acquire(context.Context, string, lock.Holder, time.Duration) (lock.Lease, error) {
	return losableLease{l.lost}, nil
}

type losableLease struct{ lost chan struct{} }

func (losableLease) Release() error          { return nil }
func (losableLease) Name() string            { return "rb" }
func (l losableLease) Lost() <-chan struct{} { return l.lost }

// losingKV loses the lock when it reads (the read step).
type losingKV struct {
	*kvPlugin
	lose func()
}

func (p *losingKV) Apply(ctx context.Context, req *plugins.ActionRequest) (*plugins.ApplyResult, error) {
	res, err := p.kvPlugin.Apply(ctx, req)
	if req.Action == "get" {
		p.lose()
	}
	return res, err
}

// losingPrompter loses the lock while the operator is asked.
type losingPrompter struct {
	answers
	lose func()
}

func (p *losingPrompter) Confirm(ctx context.Context, q string) (bool, error) {
	p.lose()
	return p.answers.Confirm(ctx, q)
}

// A run whose lock is lost (an etcd lease that expired or was revoked)
// changes nothing more: it stops before the next step, or before the
// mutating action of the step it is in, and says why.
func TestLostLockStopsTheRun(t *testing.T) {
	tests := []struct {
		name  string
		setup func(kv *kvPlugin, lose func()) []Option
		want  string
	}{
		{
			name: "lost during the read step: stops before the next step",
			setup: func(kv *kvPlugin, lose func()) []Option {
				return []Option{WithPlugins(InProcess{"kv": &losingKV{kv, lose}}), WithYes(true)}
			},
			want: `before step "write": lost the lock "rb"`,
		},
		{
			name: "lost while the confirmation is asked: the action does not run",
			setup: func(kv *kvPlugin, lose func()) []Option {
				return []Option{WithPlugins(InProcess{"kv": kv}), WithPrompter(&losingPrompter{answers{confirm: true}, lose})}
			},
			want: `step "write": lost the lock "rb"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, rb := load(t, rollback)
			kv := newKV()
			lost := make(chan struct{})
			var once sync.Once
			lose := func() { once.Do(func() { close(lost) }) }
			opts := append(tt.setup(kv, lose), WithLocker(&losableLocker{lost}, 0),
				WithVars(map[string]string{"value": "v2"}), WithEnv(func(string) (string, bool) { return "", false }))
			res, err := Run(context.Background(), cfg, rb, opts...)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != StatusFailed || res.ExitCode != 1 || !strings.Contains(res.Reason, tt.want) {
				t.Fatalf("status %s, exit %d, reason %q; want failed, 1, %q", res.Status, res.ExitCode, res.Reason, tt.want)
			}
			for _, c := range kv.Calls() {
				if c == "apply set" {
					t.Fatalf("kv.set ran after the lock was lost: %v", kv.Calls())
				}
			}
		})
	}
}
