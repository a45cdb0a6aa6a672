//go:build unix

package shell

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
)

// args builds shell.run arguments with the schema's defaults.
func args(command string, opts ...func(map[string]cty.Value)) cty.Value {
	m := map[string]cty.Value{
		"command":   cty.StringVal(command),
		"dir":       cty.NullVal(cty.String),
		"env":       cty.NullVal(cty.Map(cty.String)),
		"read_only": cty.False,
	}
	for _, o := range opts {
		o(m)
	}
	return cty.ObjectVal(m)
}

func withEnv(env map[string]string) func(map[string]cty.Value) {
	return func(m map[string]cty.Value) {
		vals := make(map[string]cty.Value, len(env))
		for k, v := range env {
			vals[k] = cty.StringVal(v)
		}
		m["env"] = cty.MapVal(vals)
	}
}

func withReadOnly() func(map[string]cty.Value) {
	return func(m map[string]cty.Value) { m["read_only"] = cty.True }
}

func withDir(dir string) func(map[string]cty.Value) {
	return func(m map[string]cty.Value) { m["dir"] = cty.StringVal(dir) }
}

// recorder collects progress lines; safe for concurrent use.
type recorder struct {
	mu    sync.Mutex
	lines []string
	seen  chan string
	// change is the change line a mutating run starts with, kept apart
	// from the command's own lines.
	change []string
}

func (r *recorder) progress(line string) {
	r.mu.Lock()
	if len(r.lines) == 0 && len(r.change) == 0 && strings.HasPrefix(line, "run: ") {
		r.change = append(r.change, line)
		r.mu.Unlock()
		return
	}
	r.lines = append(r.lines, line)
	r.mu.Unlock()
	if r.seen != nil {
		select {
		case r.seen <- line:
		default:
		}
	}
}

func (r *recorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.lines...)
}

func apply(t *testing.T, ctx context.Context, a cty.Value, progress func(string)) (cty.Value, error) {
	t.Helper()
	res, err := New().Apply(ctx, &plugins.ActionRequest{Action: "run", Args: a, Progress: progress})
	if err != nil {
		return cty.NilVal, err
	}
	if err := res.Output.Type().TestConformance(Schema.Actions["run"].Output); err != nil {
		t.Fatalf("output type %s does not conform: %v", res.Output.Type().FriendlyName(), err)
	}
	return res.Output, nil
}

func TestRunOutput(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name       string
		args       cty.Value
		exit       int64
		out, errs  string
		wantInLine string
	}{
		{name: "stdout", args: args("echo hello; echo world"), out: "hello\nworld\n"},
		{name: "exit code is output", args: args("echo oops >&2; exit 3"), exit: 3, errs: "oops\n"},
		{name: "killed by signal", args: args("kill -TERM $$"), exit: 128 + int64(syscall.SIGTERM)},
		{name: "dir", args: args("pwd", withDir(dir)), out: dir + "\n"},
		{name: "env given", args: args(`printf '%s' "$GREETING"`, withEnv(map[string]string{"GREETING": "hi there"})), out: "hi there"},
		{name: "stdin is empty", args: args("cat; echo done"), out: "done\n"},
		{name: "invalid utf-8", args: args(`printf 'a\xffb'`), out: "a\uFFFDb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := apply(t, context.Background(), tc.args, nil)
			if err != nil {
				t.Fatal(err)
			}
			code, _ := out.GetAttr("exit_code").AsBigFloat().Int64()
			if code != tc.exit {
				t.Errorf("exit_code = %d, want %d", code, tc.exit)
			}
			if got := out.GetAttr("stdout").AsString(); got != tc.out {
				t.Errorf("stdout = %q, want %q", got, tc.out)
			}
			if got := out.GetAttr("stderr").AsString(); got != tc.errs {
				t.Errorf("stderr = %q, want %q", got, tc.errs)
			}
		})
	}
}

func TestRunStreamsProgress(t *testing.T) {
	rec := &recorder{seen: make(chan string, 16)}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// The second line is written only after the test has seen the first:
	// proof that lines are streamed as they come, not at the end.
	fifo := filepath.Join(t.TempDir(), "go-on")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	go func() {
		select {
		case line := <-rec.seen:
			if line == "first" {
				_ = os.WriteFile(fifo, []byte("x\n"), 0o600)
			}
		case <-ctx.Done():
		}
	}()
	out, err := apply(t, ctx, args(`echo first; read -r _ < "$FIFO"; echo oops >&2; printf 'no newline'`,
		withEnv(map[string]string{"FIFO": fifo})), rec.progress)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"first", "stderr: oops", "no newline"}
	if got := rec.all(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("progress = %q, want %q", got, want)
	}
	if got := out.GetAttr("stdout").AsString(); got != "first\nno newline" {
		t.Errorf("stdout = %q", got)
	}
}

func TestRunEnvIsolation(t *testing.T) {
	t.Setenv("RUNBOOK_TEST_SECRET", "leaked")
	out, err := apply(t, context.Background(), args(`env`, withEnv(map[string]string{"GIVEN": "yes"})), nil)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out.GetAttr("stdout").AsString()), "\n") {
		k, v, _ := strings.Cut(line, "=")
		vars[k] = v
	}
	if _, ok := vars["RUNBOOK_TEST_SECRET"]; ok {
		t.Error("a host environment variable reached the command")
	}
	if vars["GIVEN"] != "yes" {
		t.Errorf("GIVEN = %q, want yes", vars["GIVEN"])
	}
	for _, name := range []string{"PATH", "HOME", "LANG"} {
		if vars[name] == "" {
			t.Errorf("%s is not set", name)
		}
	}
	// bash adds PWD, SHLVL and _ itself; nothing else may appear.
	allowed := map[string]bool{"GIVEN": true, "PATH": true, "HOME": true, "LANG": true, "PWD": true, "SHLVL": true, "_": true, "OLDPWD": true}
	for k := range vars {
		if !allowed[k] {
			t.Errorf("unexpected variable %s in the command's environment", k)
		}
	}
}

// processGone reports whether pid has exited (a zombie counts as gone: it
// runs no more and only waits for a parent to reap it).
func processGone(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
	}
	// The state follows the command name in parentheses.
	s := string(stat)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] == 'Z' || s[i+2] == 'X'
	}
	return false
}

func TestRunCancelKillsProcessGroup(t *testing.T) {
	defer func(g time.Duration) { killGrace = g }(killGrace)
	killGrace = 500 * time.Millisecond

	for _, tc := range []struct {
		name    string
		command string
	}{
		// A child that dies on SIGTERM.
		{"sleep child", `sleep 300 & echo "pid $!"; wait`},
		// A child that ignores SIGTERM must get SIGKILL.
		{"stubborn child", `bash -c 'trap "" TERM; echo "pid $$"; while :; do sleep 0.1; done' & wait`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{seen: make(chan string, 16)}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			pidc := make(chan int, 1)
			go func() {
				for {
					select {
					case line := <-rec.seen:
						if p, ok := strings.CutPrefix(line, "pid "); ok {
							n, _ := strconv.Atoi(p)
							pidc <- n
							cancel()
							return
						}
					case <-ctx.Done():
						return
					}
				}
			}()
			start := time.Now()
			_, err := apply(t, ctx, args(tc.command), rec.progress)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("cancelling took %v", d)
			}
			var pid int
			select {
			case pid = <-pidc:
			default:
				t.Fatal("the child never reported its pid")
			}
			deadline := time.Now().Add(5 * time.Second)
			for !processGone(pid) {
				if time.Now().After(deadline) {
					_ = syscall.Kill(pid, syscall.SIGKILL)
					t.Fatalf("child %d still runs after the action was cancelled", pid)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

func TestRunTimeout(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := apply(t, ctx, args("sleep 30"), nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("timeout took %v", d)
	}
}

func TestRunBackgroundProcessHoldingOutput(t *testing.T) {
	defer func(g time.Duration) { pipeGrace = g }(pipeGrace)
	pipeGrace = 200 * time.Millisecond
	rec := &recorder{}
	// The background sleep keeps stdout open; Apply must not wait for it.
	out, err := apply(t, context.Background(), args(`sleep 5 & echo "pid $!"`), rec.progress)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(out.GetAttr("stdout").AsString(), "pid ")))
	if pid > 0 {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	if got := rec.all(); len(got) == 0 || !strings.Contains(got[len(got)-1], "background processes") {
		t.Errorf("progress = %q, want a note about background processes", got)
	}
}

func TestRunTruncatesLargeOutput(t *testing.T) {
	rec := &recorder{}
	// 3 MiB of 8-byte lines on stdout, a little on stderr.
	out, err := apply(t, context.Background(), args(`yes xxxxxxx | head -c 3145728; echo small >&2`), rec.progress)
	if err != nil {
		t.Fatal(err)
	}
	stdout := out.GetAttr("stdout").AsString()
	body, note, ok := strings.Cut(stdout, "\n[runbook: stdout truncated")
	if !ok {
		t.Fatalf("no truncation note at the end of stdout (%d bytes)", len(stdout))
	}
	if len(body) != MaxOutput {
		t.Errorf("kept %d bytes, want %d", len(body), MaxOutput)
	}
	if want := strconv.Itoa(3145728-MaxOutput) + " more bytes"; !strings.Contains(note, want) {
		t.Errorf("note %q does not say %q", note, want)
	}
	if got := out.GetAttr("stderr").AsString(); got != "small\n" {
		t.Errorf("stderr = %q", got)
	}
	lines := rec.all()
	// Every kept line, the stderr line and the note.
	if n := len(lines); n != MaxOutput/8+2 {
		t.Errorf("%d progress lines, want %d: streaming stops at the capture limit", n, MaxOutput/8+2)
	}
	found := false
	for _, l := range lines {
		if strings.HasPrefix(l, "note: output truncated") {
			found = true
		}
	}
	if !found {
		t.Error("no progress note about the truncation")
	}
}

func TestRunBadArguments(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args cty.Value
		path cty.Path
	}{
		{"empty command", args("  "), cty.GetAttrPath("command")},
		{"missing dir", args("true", withDir(filepath.Join(file, "nope"))), cty.GetAttrPath("dir")},
		{"dir is a file", args("true", withDir(file)), cty.GetAttrPath("dir")},
		{"bad env name", args("true", withEnv(map[string]string{"A=B": "x"})), cty.GetAttrPath("env").Index(cty.StringVal("A=B"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := apply(t, context.Background(), tc.args, nil)
			var perr *plugins.Error
			if !errors.As(err, &perr) {
				t.Fatalf("err = %v, want a plugins.Error", err)
			}
			if !perr.Path.Equals(tc.path) {
				t.Errorf("error path = %#v, want %#v", perr.Path, tc.path)
			}
		})
	}
}

func TestPlan(t *testing.T) {
	long := strings.Repeat("a", 200)
	for _, tc := range []struct {
		name    string
		args    cty.Value
		changes []string
	}{
		{"mutating", args("systemctl restart llm-gateway"), []string{"run: systemctl restart llm-gateway"}},
		{"first line", args("kubectl rollout undo deploy/x\nkubectl rollout status deploy/x"), []string{"run: kubectl rollout undo deploy/x …"}},
		{"long", args(long), []string{"run: " + long[:120] + "…"}},
		{"unknown command", cty.ObjectVal(map[string]cty.Value{
			"command": cty.UnknownVal(cty.String), "dir": cty.NullVal(cty.String),
			"env": cty.NullVal(cty.Map(cty.String)), "read_only": cty.False,
		}), []string{"run: (command known after apply)"}},
		{"read-only", args("kubectl get pods", func(m map[string]cty.Value) { m["read_only"] = cty.True }), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := New().Plan(context.Background(), &plugins.ActionRequest{Action: "run", Args: tc.args})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(res.Changes, "|") != strings.Join(tc.changes, "|") {
				t.Errorf("changes = %q, want %q", res.Changes, tc.changes)
			}
			if res.Output.IsKnown() || !res.Output.Type().Equals(Schema.Actions["run"].Output) {
				t.Errorf("output = %#v, want unknown of the output type", res.Output)
			}
		})
	}
}

func TestRunLongProgressLineIsCut(t *testing.T) {
	rec := &recorder{}
	out, err := apply(t, context.Background(), args(`head -c 5000 /dev/zero | tr '\0' y; echo; echo short`), rec.progress)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(out.GetAttr("stdout").AsString()); n != 5000+1+6 {
		t.Errorf("stdout is %d bytes; the output keeps whole lines", n)
	}
	want := []string{strings.Repeat("y", maxProgressLine) + "…", "short"}
	if got := rec.all(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("progress = %.60q…, want a cut first line and %q", got, want[1])
	}
}

// A command that may change things prints its change line first, in its
// plan's words; a read-only one does not.
func TestRunPrintsItsChangeLine(t *testing.T) {
	for _, readOnly := range []bool{false, true} {
		var lines []string
		a := args("echo done")
		if readOnly {
			a = args("echo done", withReadOnly())
		}
		if _, err := apply(t, context.Background(), a, func(l string) { lines = append(lines, l) }); err != nil {
			t.Fatal(err)
		}
		want := []string{"run: echo done", "done"}
		if readOnly {
			want = want[1:]
		}
		if strings.Join(lines, "|") != strings.Join(want, "|") {
			t.Errorf("read_only = %v: progress %q, want %q", readOnly, lines, want)
		}
	}
}
