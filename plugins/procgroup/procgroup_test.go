//go:build unix

package procgroup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Cancelling kills the whole group, grandchildren included; a process that
// traps SIGTERM sees it and is then killed once the grace period is over.
func TestCancelKillsGroup(t *testing.T) {
	for _, tc := range []struct {
		name          string
		script        string
		killLeftovers bool
		wantLines     []string
	}{
		{
			name:   "grandchild sleep",
			script: `bash -c 'sleep 300 & echo "pid $!"; wait' & wait`,
		},
		{
			name:          "grandchild sleep, leftovers killed",
			script:        `bash -c 'sleep 300 & echo "pid $!"; wait' & wait`,
			killLeftovers: true,
		},
		{
			// bash dies of SIGTERM at once; its child traps it.
			name:      "child traps TERM",
			script:    `bash -c 'trap "echo got TERM" TERM; echo "pid $$"; while :; do sleep 0.05; done' & wait`,
			wantLines: []string{"got TERM"},
		},
		{
			// bash itself traps it, so only SIGKILL ends the wait.
			name:          "bash traps TERM",
			script:        `trap 'echo got TERM' TERM; echo "pid $$"; while :; do sleep 0.05; done`,
			killLeftovers: true,
			wantLines:     []string{"got TERM"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			out := newLines()
			cmd := Command(ctx, tc.script)
			cmd.Stdout = out
			cmd.Grace = time.Second
			cmd.PipeGrace = time.Second
			cmd.KillLeftovers = tc.killLeftovers
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			pid := out.pid(t)
			cancel()
			_, err := cmd.Wait()
			if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "killed the command and its process group") {
				t.Errorf("err = %v, want a cancelled, killed command", err)
			}
			waitGone(t, pid)
			for _, want := range tc.wantLines {
				if !out.has(want) {
					t.Errorf("output %q lacks %q: SIGTERM first, then SIGKILL", out.all(), want)
				}
			}
		})
	}
}

// escalate turns the stop into SIGKILL once the grace period is over, for
// a group whose leader traps SIGTERM, unless it is aborted first.
func TestEscalate(t *testing.T) {
	for _, tc := range []struct {
		name       string
		abort      bool
		wantKilled bool
	}{
		{name: "grace over", wantKilled: true},
		{name: "aborted", abort: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := newLines()
			cmd := exec.Command("bash", "-c", `trap 'echo got TERM' TERM; echo "pid $$"; while :; do sleep 0.05; done`)
			cmd.Stdout = out
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				_ = cmd.Wait()
			})
			pgid := out.pid(t)
			if err := signalGroup(pgid, syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			abort := make(chan struct{})
			if tc.abort {
				close(abort)
			}
			escalate(pgid, 500*time.Millisecond, abort)
			if !tc.wantKilled {
				if !groupRuns(pgid) {
					t.Error("an aborted stop killed the group")
				}
				return
			}
			waitGone(t, pgid)
			err := cmd.Wait()
			var exitErr *exec.ExitError
			if !errors.As(err, &exitErr) || exitErr.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Errorf("bash ended with %v, want SIGKILL", err)
			}
			if !out.has("got TERM") {
				t.Errorf("output %q: SIGTERM must come first", out.all())
			}
		})
	}
}

// The watchdog kills the groups of the commands still running when the
// process that started them dies without a chance to clean up. A helper
// process (this test binary again) runs commands through the package as
// the scenario says, prints "kill PID" for each process that must die with
// it and "keep PID" for each that must not, and kills itself with SIGKILL.
func TestWatchdogKillsGroupsWhenOwnerDies(t *testing.T) {
	if scenario := os.Getenv(helperEnv); scenario != "" {
		watchdogHelper(scenario)
		return
	}
	for _, scenario := range []string{
		"one command",
		"two concurrent commands",
		"after a command ended",
		"after the watchdog was killed",
	} {
		t.Run(scenario, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			helper := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestWatchdogKillsGroupsWhenOwnerDies$")
			helper.Env = append(os.Environ(), helperEnv+"="+scenario)
			var stderr bytes.Buffer
			helper.Stderr = &stderr
			stdout, err := helper.Output()
			var exitErr *exec.ExitError
			if !errors.As(err, &exitErr) {
				t.Fatalf("helper: %v, want death by SIGKILL (stderr %q)", err, stderr.String())
			}
			if ws, ok := exitErr.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
				t.Fatalf("helper: %v, want death by SIGKILL (stderr %q)", err, stderr.String())
			}
			var kill, keep []int
			for _, line := range strings.Split(strings.TrimSpace(string(stdout)), "\n") {
				verb, p, _ := strings.Cut(line, " ")
				pid, err := strconv.Atoi(p)
				switch {
				case err == nil && verb == "kill":
					kill = append(kill, pid)
				case err == nil && verb == "keep":
					keep = append(keep, pid)
					t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
				default:
					t.Fatalf("helper printed %q, want kill and keep lines", stdout)
				}
			}
			if len(kill) == 0 {
				t.Fatalf("helper printed %q: no process to kill", stdout)
			}
			for _, pid := range kill {
				waitGone(t, pid)
			}
			// The watchdog kills all its groups at once: had it a kept one,
			// that would be gone by now.
			time.Sleep(100 * time.Millisecond)
			for _, pid := range keep {
				if gone(pid) {
					t.Errorf("process %d, of a command Wait was done with, died with its owner", pid)
				}
			}
		})
	}
}

const helperEnv = "PROCGROUP_TEST_WATCHDOG_HELPER"

// watchdogHelper runs the commands of a scenario, reports their pids and
// dies.
func watchdogHelper(scenario string) {
	fail := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, format+"\n", args...)
		os.Exit(2)
	}
	// start starts a command that runs a sleep and returns the sleep's pid.
	start := func() int {
		out := newLines()
		cmd := Command(context.Background(), `sleep 300 & echo "pid $!"; wait`)
		cmd.Stdout = out
		if err := cmd.Start(); err != nil {
			fail("%v", err)
		}
		select {
		case line := <-out.seen:
			pid, err := strconv.Atoi(strings.TrimPrefix(line, "pid "))
			if err != nil {
				fail("the command printed %q", line)
			}
			return pid
		case <-time.After(30 * time.Second):
			fail("the command never reported its pid")
		}
		return 0
	}
	var kill, keep []int
	switch scenario {
	case "one command":
		kill = append(kill, start())
	case "two concurrent commands":
		pids := make([]int, 2)
		var wg sync.WaitGroup
		for i := range pids {
			wg.Go(func() { pids[i] = start() })
		}
		wg.Wait()
		kill = append(kill, pids...)
	case "after a command ended":
		// Its leftover runs on: Wait is done with its group, so the
		// watchdog must no longer kill it; the next command's is killed.
		out := newLines()
		cmd := Command(context.Background(), `sleep 300 > /dev/null 2>&1 & echo "pid $!"`)
		cmd.Stdout = out
		cmd.PipeGrace = time.Second
		if _, err := cmd.Run(); err != nil {
			fail("%v", err)
		}
		pid, err := strconv.Atoi(strings.TrimPrefix(<-out.seen, "pid "))
		if err != nil {
			fail("bad pid line")
		}
		keep = append(keep, pid)
		kill = append(kill, start())
	case "after the watchdog was killed":
		kill = append(kill, start())
		old := watchdogPid()
		_ = syscall.Kill(old, syscall.SIGKILL)
		for deadline := time.Now().Add(30 * time.Second); !gone(old); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				fail("the watchdog %d does not die", old)
			}
		}
		// The new command finds the watchdog dead, starts another and
		// tells it both groups.
		kill = append(kill, start())
		if pid := watchdogPid(); pid == old {
			fail("the killed watchdog %d was not replaced", old)
		}
	default:
		fail("unknown scenario %q", scenario)
	}
	if watchdogPid() == 0 {
		fail("no watchdog runs")
	}
	for _, pid := range kill {
		fmt.Println("kill", pid)
	}
	for _, pid := range keep {
		fmt.Println("keep", pid)
	}
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {}
}

// watchdogPid returns the pid of the running watchdog, or 0.
func watchdogPid() int {
	dog.mu.Lock()
	defer dog.mu.Unlock()
	if dog.proc == nil {
		return 0
	}
	return dog.proc.Process.Pid
}

func TestWait(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name          string
		script        string
		args          []string
		setup         func(*Cmd)
		killLeftovers bool
		wantCode      int
		wantOut       []string
		wantErrOut    []string
		wantErr       string
		wantCut       bool
		// leftover is "gone" or "runs" for the process whose pid the
		// command prints.
		leftover string
	}{
		{name: "success", script: `echo out; echo err >&2`, wantOut: []string{"out"}, wantErrOut: []string{"err"}},
		{name: "exit status", script: `exit 3`, wantCode: 3},
		{name: "killed by a signal", script: `kill -9 $$`, wantCode: 137},
		{name: "arguments", script: `echo "$0 $1 $2"`, args: []string{"name", "one", "two"}, wantOut: []string{"name one two"}},
		{name: "dir and env", script: `echo "$PWD $X"`, setup: func(c *Cmd) { c.Dir, c.Env = dir, []string{"X=y"} }, wantOut: []string{dir + " y"}},
		{name: "missing dir", script: `true`, setup: func(c *Cmd) { c.Dir = dir + "/nope" }, wantErr: "start bash"},
		{name: "leftovers run on", script: `sleep 300 > /dev/null 2>&1 & echo "pid $!"`, leftover: "runs"},
		{name: "leftovers killed", script: `sleep 300 > /dev/null 2>&1 & echo "pid $!"`, killLeftovers: true, leftover: "gone"},
		{name: "leftover holds the output", script: `sleep 300 & echo "pid $!"`, wantCut: true, leftover: "runs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut := newLines(), newLines()
			cmd := Command(context.Background(), tc.script, tc.args...)
			cmd.Stdout, cmd.Stderr = out, errOut
			cmd.Grace = time.Second
			cmd.PipeGrace = 200 * time.Millisecond
			cmd.KillLeftovers = tc.killLeftovers
			if tc.setup != nil {
				tc.setup(cmd)
			}
			exit, err := cmd.Run()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if exit.Code != tc.wantCode || exit.OutputCut != tc.wantCut {
				t.Errorf("exit = %+v, want code %d, output cut %v", exit, tc.wantCode, tc.wantCut)
			}
			for _, want := range tc.wantOut {
				if !out.has(want) {
					t.Errorf("stdout %q lacks %q", out.all(), want)
				}
			}
			for _, want := range tc.wantErrOut {
				if !errOut.has(want) {
					t.Errorf("stderr %q lacks %q", errOut.all(), want)
				}
			}
			switch tc.leftover {
			case "gone":
				waitGone(t, out.pid(t))
			case "runs":
				pid := out.pid(t)
				t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
				if gone(pid) {
					t.Errorf("process %d did not outlive the command", pid)
				}
			}
		})
	}
}

// lines is a writer that keeps each complete line and announces it.
type lines struct {
	mu      sync.Mutex
	partial []byte
	kept    []string
	seen    chan string
}

func newLines() *lines { return &lines{seen: make(chan string, 64)} }

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(l.partial[:i])
		l.partial = l.partial[i+1:]
		l.kept = append(l.kept, line)
		select {
		case l.seen <- line:
		default:
		}
	}
}

func (l *lines) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.kept...)
}

func (l *lines) has(want string) bool {
	for _, line := range l.all() {
		if line == want {
			return true
		}
	}
	return false
}

// pid returns the pid from the first "pid N" line, waiting for it.
func (l *lines) pid(t *testing.T) int {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case line := <-l.seen:
			if p, ok := strings.CutPrefix(line, "pid "); ok {
				pid, err := strconv.Atoi(p)
				if err != nil {
					t.Fatalf("bad pid line %q", line)
				}
				return pid
			}
		case <-deadline:
			t.Fatalf("the command never reported a pid; output %q", l.all())
		}
	}
}

// gone reports whether pid has exited (a zombie counts as gone: it runs no
// more and only waits for a parent to reap it).
func gone(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
	}
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && (stat[i+2] == 'Z' || stat[i+2] == 'X')
}

// waitGone fails the test unless pid is gone within a generous time; it
// makes no claim about how fast.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !gone(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("process %d still runs", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
