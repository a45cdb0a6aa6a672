//go:build unix

package host

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
)

func testExe(t testing.TB) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

func testLauncher(t testing.TB) *Launcher {
	return &Launcher{TempDir: t.TempDir()}
}

// testExeSum is the SHA-256 of the test binary, which serves the test
// plugins.
var testExeSum = sync.OnceValues(func() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	return FileSHA256(exe)
})

// modeSpec is the spec of the test plugin in mode, served by the test
// binary.
func modeSpec(t testing.TB, mode string, env ...string) Spec {
	t.Helper()
	sum, err := testExeSum()
	if err != nil {
		t.Fatal(err)
	}
	return Spec{Name: "test", Source: testExe(t), SHA256: sum, Env: append([]string{envMode + "=" + mode}, env...)}
}

func launch(t testing.TB, l *Launcher, spec Spec) *Plugin {
	t.Helper()
	p, err := l.Launch(context.Background(), spec)
	if err != nil {
		t.Fatalf("launch: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return p
}

// apply runs action with no arguments (or message for say) and collects
// its progress lines.
func apply(ctx context.Context, p plugins.Plugin, action string) (cty.Value, []string, error) {
	args := cty.EmptyObjectVal
	if action == "say" {
		args = cty.ObjectVal(map[string]cty.Value{"message": cty.StringVal("hello")})
	}
	var mu sync.Mutex
	var lines []string
	res, err := p.Apply(ctx, &plugins.ActionRequest{Action: action, Args: args, Progress: func(l string) {
		mu.Lock()
		lines = append(lines, l)
		mu.Unlock()
	}})
	mu.Lock()
	defer mu.Unlock()
	if err != nil {
		return cty.NilVal, lines, err
	}
	return res.Output, lines, nil
}

func mustSay(t testing.TB, p plugins.Plugin) {
	t.Helper()
	out, _, err := apply(context.Background(), p, "say")
	if err != nil {
		t.Fatalf("say: %v", err)
	}
	if got := out.GetAttr("message").AsString(); got != "hello" {
		t.Fatalf("say returned %q", got)
	}
}

// gone reports whether process pid has ended (a zombie nobody reaped yet
// counts: it runs nothing).
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return runtime.GOOS == "linux"
	}
	// pid (comm) STATE …; comm may hold spaces and parentheses.
	s := string(stat)
	i := strings.LastIndex(s, ")")
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

// waitGone waits for pid to end; processes the host killed and reaped are
// gone at once, re-parented ones when their new parent reaps them.
func waitGone(t *testing.T, pid int, what string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !gone(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("%s (pid %d) is still running", what, pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func readPid(t *testing.T, file string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("plugin pid: %v", err)
	}
	pid, err := strconv.Atoi(string(b))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func TestLaunch(t *testing.T) {
	l := testLauncher(t)
	// Every private folder is gone with its plugin.
	t.Cleanup(func() {
		if entries, _ := os.ReadDir(l.TempDir); len(entries) > 0 {
			t.Errorf("left behind in the temporary folder: %v", entries)
		}
	})
	spec := modeSpec(t, "echo")
	p := launch(t, l, spec)
	mustSay(t, p)
	if p.Version() != "0.0.1-echo" {
		t.Errorf("version %q", p.Version())
	}
	s, err := p.Schema(context.Background())
	if err != nil || s.Actions["say"] == nil || !s.Actions["say"].ReadOnly {
		t.Errorf("schema: %v, %v", s, err)
	}
	if _, err := l.Launch(context.Background(), Spec{Name: "shell"}); err == nil || !strings.Contains(err.Error(), "no binary") {
		t.Errorf("a spec without a binary: err = %v", err)
	}
}

func TestProcessConfinement(t *testing.T) {
	t.Setenv("RUNBOOK_TEST_SECRET", "do-not-leak")
	p := launch(t, testLauncher(t), modeSpec(t, "echo", "GREETING=hi"))

	out, _, err := apply(context.Background(), p, "env")
	if err != nil {
		t.Fatal(err)
	}
	for it := out.ElementIterator(); it.Next(); {
		_, v := it.Element()
		kv := v.AsString()
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case kv == "GREETING=hi", name == envMode:
		case name == "RUNBOOK_PLUGIN", strings.HasPrefix(name, "PLUGIN_"):
			// go-plugin's own.
		default:
			t.Errorf("plugin sees %s, which nobody declared", kv)
		}
	}

	if runtime.GOOS == "linux" {
		out, _, err = apply(context.Background(), p, "stdin")
		if err != nil {
			t.Fatal(err)
		}
		if got := out.AsString(); got != os.DevNull {
			t.Errorf("plugin's stdin is %s, want %s", got, os.DevNull)
		}
	}

	pid := p.pid()
	pgid, err := syscall.Getpgid(pid)
	if err != nil || pgid != pid {
		t.Errorf("plugin pid %d is in process group %d (%v), want its own", pid, pgid, err)
	}
	// What runs is the private copy, not the declared binary.
	if exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe"); err == nil && exe == testExe(t) {
		t.Errorf("the plugin runs %s itself, not a private copy", exe)
	}
}

func TestChecksum(t *testing.T) {
	l := testLauncher(t)
	pidFile := filepath.Join(t.TempDir(), "pid")

	wrong := modeSpec(t, "echo", envPidFile+"="+pidFile)
	wrong.SHA256 = strings.Repeat("ab", 32)
	_, err := l.Launch(context.Background(), wrong)
	var sumErr *ChecksumError
	if !errors.As(err, &sumErr) || sumErr.Got == "" || sumErr.Want != wrong.SHA256 {
		t.Fatalf("wrong sha256: err = %v", err)
	}
	if !strings.Contains(err.Error(), "refusing to run it") {
		t.Errorf("message does not say it was refused: %v", err)
	}

	missing := modeSpec(t, "echo", envPidFile+"="+pidFile)
	missing.SHA256 = ""
	_, err = l.Launch(context.Background(), missing)
	if err == nil || !strings.Contains(err.Error(), "no sha256") {
		t.Fatalf("missing sha256: err = %v", err)
	}

	if _, err := os.Stat(pidFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused binary ran (pid file: %v)", err)
	}
	if entries, _ := os.ReadDir(l.TempDir); len(entries) > 0 {
		t.Errorf("left behind: %v", entries)
	}
}

func TestSwappedBinaryAfterVerification(t *testing.T) {
	// The declared binary is replaced right after it was verified; the
	// process that starts is the verified one, and so is every restart.
	dir := t.TempDir()
	src := filepath.Join(dir, "runbook-plugin-test")
	b, err := os.ReadFile(testExe(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(src, b, 0o755); err != nil {
		t.Fatal(err)
	}
	spec := modeSpec(t, "echo")
	spec.Source = src
	swapped := false
	testHookVerified = func() {
		if err := os.WriteFile(src, []byte("#!/bin/sh\necho swapped\n"), 0o755); err != nil {
			t.Error(err)
		}
		swapped = true
	}
	t.Cleanup(func() { testHookVerified = nil })
	p := launch(t, testLauncher(t), spec)
	if !swapped {
		t.Fatal("the hook did not run")
	}
	mustSay(t, p)

	// Kill it; the restart runs the private copy too. The call right after
	// the kill fails as a crash, or, when the exit was seen first, already
	// goes to the restarted process.
	if err := syscall.Kill(p.pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, _, err = apply(context.Background(), p, "say")
	var crash *CrashError
	if err != nil && !errors.As(err, &crash) {
		t.Fatalf("say after SIGKILL: %v", err)
	}
	mustSay(t, p)
}

func TestPanicMidApply(t *testing.T) {
	p := launch(t, testLauncher(t), modeSpec(t, "echo"))
	// (A progress line sent just before the crash may be lost with the
	// process: it is not checked.)
	_, _, err := apply(context.Background(), p, "panic")
	var crash *CrashError
	if !errors.As(err, &crash) {
		t.Fatalf("err = %v (%T), want a CrashError", err, err)
	}
	if !strings.Contains(crash.Status, "exit status 2") {
		t.Errorf("status %q", crash.Status)
	}
	msg := err.Error()
	for _, want := range []string{`plugin "test" exited (exit status 2) during test.panic`, "panic: boom", "goroutine "} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	// The next call gets a new process.
	mustSay(t, p)
}

// A panic in Plan is reported as one in Apply is: with the panic and its
// stack from the plugin's stderr.
func TestPanicMidPlan(t *testing.T) {
	p := launch(t, testLauncher(t), modeSpec(t, "echo"))
	for range 5 { // the stderr used to be lost in a race with the exit
		_, err := p.Plan(context.Background(), &plugins.ActionRequest{Action: "planpanic", Args: cty.EmptyObjectVal})
		var crash *CrashError
		if !errors.As(err, &crash) {
			t.Fatalf("err = %v (%T), want a CrashError", err, err)
		}
		msg := err.Error()
		for _, want := range []string{`plugin "test" exited (exit status 2) during plan of test.planpanic`, "panic: boom in plan", "goroutine "} {
			if !strings.Contains(msg, want) {
				t.Fatalf("error lacks %q:\n%s", want, msg)
			}
		}
	}
	mustSay(t, p)
}

func TestExitMidApply(t *testing.T) {
	p := launch(t, testLauncher(t), modeSpec(t, "echo"))
	_, _, err := apply(context.Background(), p, "exit")
	var crash *CrashError
	if !errors.As(err, &crash) || !strings.Contains(crash.Status, "exit status 3") || !strings.Contains(err.Error(), "giving up: disk on fire") {
		t.Fatalf("err = %v", err)
	}
}

func TestKilledMidApply(t *testing.T) {
	p := launch(t, testLauncher(t), modeSpec(t, "echo"))
	pid := p.pid()
	var err error
	_, err = p.Apply(context.Background(), &plugins.ActionRequest{Action: "hang", Args: cty.EmptyObjectVal, Progress: func(line string) {
		if line == "ready" {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}})
	var crash *CrashError
	if !errors.As(err, &crash) || !strings.Contains(crash.Status, "signal: killed") {
		t.Fatalf("err = %v", err)
	}
	if !gone(pid) {
		t.Errorf("pid %d still there", pid)
	}
	mustSay(t, p)
}

// A plugin built for another protocol version is refused at its start,
// naming its declared binary (not the private copy) and what to do.
func TestProtocolMismatch(t *testing.T) {
	spec := modeSpec(t, "protocol2")
	_, err := testLauncher(t).Launch(context.Background(), spec)
	if err == nil {
		t.Fatal("a plugin of another protocol version started")
	}
	for _, want := range []string{"(" + spec.Source + ")", "another version of runbook's plugin protocol", "rebuild it with the SDK"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

func TestNotAPlugin(t *testing.T) {
	l := testLauncher(t)
	l.StartTimeout = 2 * time.Second
	for mode, want := range map[string][]string{
		"junk":      {"Unrecognized remote plugin message", "definitely not a runbook plugin", "not a runbook plugin (built with"},
		"exit":      {"it exited (exit status 1) before answering the handshake", "missing configuration file"},
		"initpanic": {"it exited (exit status 2) before answering the handshake", "panic: plugin init failed"},
		"silent":    {"timeout while waiting for plugin to start"},
	} {
		t.Run(mode, func(t *testing.T) {
			pidFile := filepath.Join(t.TempDir(), "pid")
			_, err := l.Launch(context.Background(), modeSpec(t, mode, envPidFile+"="+pidFile))
			if err == nil {
				t.Fatal("launched")
			}
			for _, w := range want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			waitGone(t, readPid(t, pidFile), "the failed plugin")
		})
	}
}

func TestStartCancelled(t *testing.T) {
	l := testLauncher(t)
	l.StartTimeout = time.Hour
	pidFile := filepath.Join(t.TempDir(), "pid")
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err := l.Launch(ctx, modeSpec(t, "silent", envPidFile+"="+pidFile))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	waitGone(t, readPid(t, pidFile), "the plugin whose start was cancelled")
}

func TestNeverAnswersIsKilled(t *testing.T) {
	l := testLauncher(t)
	l.StopGrace = 200 * time.Millisecond
	p := launch(t, l, modeSpec(t, "echo"))
	pid := p.pid()
	child := 0
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := p.Apply(ctx, &plugins.ActionRequest{Action: "block", Args: cty.EmptyObjectVal, Progress: func(line string) {
		if n, ok := strings.CutPrefix(line, "child "); ok {
			child, _ = strconv.Atoi(n)
			cancel() // the step's timeout
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if child == 0 {
		t.Fatal("no child reported")
	}
	// The plugin ignored the cancellation and Stop: it was killed, with
	// its process group, before Apply returned.
	if !gone(pid) {
		t.Errorf("plugin pid %d still running", pid)
	}
	waitGone(t, child, "the plugin's child")
	mustSay(t, p)
}

func TestCancelledCooperativePluginSurvives(t *testing.T) {
	p := launch(t, testLauncher(t), modeSpec(t, "echo"))
	pid := p.pid()
	ctx, cancel := context.WithCancel(context.Background())
	_, err := p.Apply(ctx, &plugins.ActionRequest{Action: "hang", Args: cty.EmptyObjectVal, Progress: func(string) { cancel() }})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	mustSay(t, p)
	if p.pid() != pid {
		t.Errorf("a plugin that stopped when asked was restarted (pid %d → %d)", pid, p.pid())
	}
}

func TestFloodedStderrStaysBounded(t *testing.T) {
	l := testLauncher(t)
	p := launch(t, l, modeSpec(t, "echo"))
	out, _, err := apply(context.Background(), p, "flood")
	if err != nil || out.AsString() != "flooded" {
		t.Fatalf("flood: %v, %v", out, err)
	}
	_, _, err = apply(context.Background(), p, "panic")
	var crash *CrashError
	if !errors.As(err, &crash) {
		t.Fatalf("err = %v", err)
	}
	if len(crash.Stderr) > DefaultStderrLimit {
		t.Errorf("kept %d bytes of stderr, limit %d", len(crash.Stderr), DefaultStderrLimit)
	}
	if len(err.Error()) > 2*excerptLimit {
		t.Errorf("error message of %d bytes", len(err.Error()))
	}
	if !strings.Contains(err.Error(), "panic: boom") {
		t.Errorf("error lacks the panic:\n%s", err)
	}
}

func TestManySequentialCalls(t *testing.T) {
	p := launch(t, testLauncher(t), modeSpec(t, "echo"))
	for range 50 {
		mustSay(t, p)
	}
	g0, fd0 := runtime.NumGoroutine(), openFiles(t)
	for range 500 {
		mustSay(t, p)
	}
	g1, fd1 := runtime.NumGoroutine(), openFiles(t)
	if g1 > g0+2 {
		t.Errorf("goroutines grew from %d to %d over 500 calls", g0, g1)
	}
	if fd1 > fd0+2 {
		t.Errorf("open files grew from %d to %d over 500 calls", fd0, fd1)
	}
}

func openFiles(t *testing.T) int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(entries)
}

func TestPool(t *testing.T) {
	l := testLauncher(t)
	pool := NewPool(l)
	specs := []Spec{modeSpec(t, "echo"), modeSpec(t, "echo"), modeSpec(t, "echo")}
	specs[0].Name, specs[1].Name, specs[2].Name = "one", "two", "three"
	if err := pool.Start(context.Background(), specs); err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, name := range []string{"one", "two", "three"} {
		p := pool.Get(name)
		if p == nil {
			t.Fatalf("no plugin %q", name)
		}
		mustSay(t, p)
		pids = append(pids, p.pid())
	}
	if err := pool.Start(context.Background(), specs[:1]); err == nil {
		t.Error("started a plugin twice")
	}
	if err := pool.Close(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if !gone(pid) {
			t.Errorf("pid %d outlived Close", pid)
		}
	}
	if entries, _ := os.ReadDir(l.TempDir); len(entries) > 0 {
		t.Errorf("left behind: %v", entries)
	}
}

func TestPoolStartFailureClosesTheOthers(t *testing.T) {
	l := testLauncher(t)
	dir := t.TempDir()
	var specs []Spec
	for i, mode := range []string{"echo", "junk", "echo"} {
		s := modeSpec(t, mode, envPidFile+"="+filepath.Join(dir, strconv.Itoa(i)))
		s.Name = "p" + strconv.Itoa(i)
		specs = append(specs, s)
	}
	pool := NewPool(l)
	err := pool.Start(context.Background(), specs)
	if err == nil || !strings.Contains(err.Error(), `"p1"`) {
		t.Fatalf("err = %v", err)
	}
	if names := pool.names(); len(names) > 0 {
		t.Errorf("pool holds %v after a failed start", names)
	}
	for i := range specs {
		waitGone(t, readPid(t, filepath.Join(dir, strconv.Itoa(i))), specs[i].Name)
	}
}

func TestPluginEndsWithItsHost(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("relies on /proc")
	}
	cmd := exec.Command(testExe(t))
	cmd.Env = append(os.Environ(), envHost+"=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("host: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	waitGone(t, pid, "the plugin of a dead host")
}

func applyString(t *testing.T, p plugins.Plugin, action string) string {
	t.Helper()
	out, _, err := apply(context.Background(), p, action)
	if err != nil {
		t.Fatalf("%s: %v", action, err)
	}
	return out.AsString()
}

func configure(t *testing.T, p plugins.Plugin, greeting string) {
	t.Helper()
	if err := p.Configure(context.Background(), cty.ObjectVal(map[string]cty.Value{"greeting": cty.StringVal(greeting)})); err != nil {
		t.Fatalf("configure: %v", err)
	}
}
