//go:build unix

package procgroup

import (
	"context"
	"errors"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The watchdog script keeps the set of groups it is told and, at the end of
// its input, kills those left, ignoring lines that are not a plain pid.
// kill is a shell function here, which prints what it would do.
func TestWatchdogScript(t *testing.T) {
	for _, tc := range []struct {
		name   string
		input  string
		killed []string
	}{
		{name: "nothing", input: ""},
		{name: "one", input: "+12\n", killed: []string{"12"}},
		{name: "added and removed", input: "+12\n-12\n"},
		{name: "first removed", input: "+12\n+34\n+56\n-12\n", killed: []string{"34", "56"}},
		{name: "middle removed", input: "+12\n+34\n+56\n-34\n", killed: []string{"12", "56"}},
		{name: "last removed", input: "+12\n+34\n+56\n-56\n", killed: []string{"12", "34"}},
		{name: "all removed", input: "+12\n+34\n-34\n-12\n"},
		{name: "added twice", input: "+12\n+12\n", killed: []string{"12"}},
		{name: "added twice, removed", input: "+12\n+12\n-12\n"},
		{name: "added again", input: "+12\n-12\n+12\n", killed: []string{"12"}},
		{name: "unknown removed", input: "+12\n-34\n", killed: []string{"12"}},
		{name: "suffix of another", input: "+123\n+23\n-23\n", killed: []string{"123"}},
		{name: "prefix of another", input: "+123\n+12\n-12\n", killed: []string{"123"}},
		{name: "no final newline", input: "+12\n+34", killed: []string{"12"}},
		{name: "blank lines", input: "\n+12\n\n", killed: []string{"12"}},
		{
			name:   "invalid lines",
			input:  "+12\n-012\n-12x\n- 12\n+\n+-5\n+0\n+01\n+1\n+1x\n+x1\n+1 2\n+12;kill\n+$x\n+*\n+12345678\n*12\n12\n",
			killed: []string{"12"},
		},
		{name: "largest pid", input: "+4194304\n", killed: []string{"4194304"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sh := exec.Command("/bin/sh", "-c", `kill() { echo "$@"; }`+"\n"+watchdogScript)
			sh.Stdin = strings.NewReader(tc.input)
			out, err := sh.Output()
			if err != nil {
				t.Fatal(err)
			}
			var killed []string
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				if line == "" {
					continue
				}
				pg, ok := strings.CutPrefix(line, "-KILL -")
				if !ok {
					t.Fatalf("kill %s, want kill -KILL -PGID", line)
				}
				killed = append(killed, pg)
			}
			if !slices.Equal(killed, tc.killed) {
				t.Errorf("killed %q, want %q", killed, tc.killed)
			}
		})
	}
}

// groupSet counts the commands of each group and tells the watchdog about a
// group only when its first command starts and its last one ends.
func TestGroupSet(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ops   []int // pgid to add, -pgid to remove
		sent  string
		lines string
	}{
		{name: "empty"},
		{name: "one", ops: []int{12}, sent: "+12\n", lines: "+12\n"},
		{name: "added and removed", ops: []int{12, -12}, sent: "+12\n-12\n"},
		{name: "two", ops: []int{34, 12}, sent: "+34\n+12\n", lines: "+12\n+34\n"},
		{name: "one of two removed", ops: []int{12, 34, -12}, sent: "+12\n+34\n-12\n", lines: "+34\n"},
		{name: "two commands in a group", ops: []int{12, 12}, sent: "+12\n", lines: "+12\n"},
		{name: "one of them ends", ops: []int{12, 12, -12}, sent: "+12\n", lines: "+12\n"},
		{name: "both end", ops: []int{12, 12, -12, -12}, sent: "+12\n-12\n"},
		{name: "never added", ops: []int{-12}},
		{name: "removed twice", ops: []int{12, -12, -12, 12}, sent: "+12\n-12\n+12\n", lines: "+12\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := groupSet{}
			var sent strings.Builder
			for _, op := range tc.ops {
				if op > 0 {
					sent.WriteString(s.add(op))
				} else {
					sent.WriteString(s.remove(-op))
				}
			}
			if sent.String() != tc.sent {
				t.Errorf("sent %q, want %q", sent.String(), tc.sent)
			}
			if got := s.lines(); got != tc.lines {
				t.Errorf("lines %q, want %q", got, tc.lines)
			}
		})
	}
}

// Commands running at the same time share the one watchdog.
func TestOneWatchdog(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var cmds []*Cmd
	for range 3 {
		cmd := Command(ctx, "sleep 300; exit") // not exec'd: bash stays
		cmd.Grace, cmd.PipeGrace = time.Second, time.Second
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	defer func() {
		cancel()
		for _, cmd := range cmds {
			_, _ = cmd.Wait()
		}
	}()
	shells := childrenNamed(t, "sh")
	if pid := watchdogPid(); len(shells) != 1 || shells[0] != pid {
		t.Errorf("sh children %v, want the watchdog %d alone", shells, pid)
	}
	if got := len(childrenNamed(t, "bash")); got != 3 {
		t.Errorf("%d bash children, want 3", got)
	}
}

// A watchdog that stops reading is replaced once a write to it times out,
// and the new one is told every group.
func TestWedgedWatchdogReplaced(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := Command(ctx, "sleep 300")
	first.Grace, first.PipeGrace = time.Second, time.Second
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		_, _ = first.Wait()
	}()
	old := watchdogPid()
	if old == 0 {
		t.Fatal("no watchdog runs")
	}
	if err := syscall.Kill(old, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	// Fill the pipe with lines the watchdog would ignore.
	defer func(d time.Duration) { watchdogWriteTimeout = d }(watchdogWriteTimeout)
	watchdogWriteTimeout = 100 * time.Millisecond
	dog.mu.Lock()
	var err error
	for err == nil {
		err = dog.send(strings.Repeat("x\n", 1024))
	}
	dog.mu.Unlock()
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("filling the pipe: %v, want a timeout", err)
	}

	second := Command(ctx, "sleep 300")
	second.Grace, second.PipeGrace = time.Second, time.Second
	if err := second.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		_, _ = second.Wait()
	}()
	now := watchdogPid()
	if now == 0 || now == old {
		t.Fatalf("watchdog %d, want a new one instead of the wedged %d", now, old)
	}
	if !gone(old) {
		t.Errorf("the wedged watchdog %d still runs", old)
	}
	want := groupSet{first.cmd.Process.Pid: 1, second.cmd.Process.Pid: 1}
	dog.mu.Lock()
	defer dog.mu.Unlock()
	if !maps.Equal(dog.groups, want) {
		t.Errorf("groups %v, want %v", dog.groups, want)
	}
}

// childrenNamed returns the pids of this process's children whose command
// name is name.
func childrenNamed(t *testing.T, name string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skip("no /proc")
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// "pid (comm) state ppid …"
		open, end := strings.IndexByte(string(stat), '('), strings.LastIndexByte(string(stat), ')')
		if open < 0 || end < open {
			continue
		}
		f := strings.Fields(string(stat[end+1:]))
		if len(f) < 2 || f[0] == "Z" || string(stat[open+1:end]) != name {
			continue
		}
		if ppid, err := strconv.Atoi(f[1]); err == nil && ppid == os.Getpid() {
			pids = append(pids, pid)
		}
	}
	return pids
}

// A command whose group no watchdog could be told of does not run: Start
// fails, and the script never started (bash exits at the gate).
func TestNoWatchdogNoCommand(t *testing.T) {
	dog.mu.Lock()
	if dog.proc != nil {
		dog.stop()
	}
	dog.mu.Unlock()
	defer func(sh string) { watchdogShell = sh }(watchdogShell)
	watchdogShell = "/nonexistent/sh"

	marker := t.TempDir() + "/ran"
	c := Command(context.Background(), "touch "+marker)
	err := c.Start()
	if !errors.Is(err, errNoWatchdog) {
		t.Fatalf("Start = %v, want %v", err, errNoWatchdog)
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the command ran without a watchdog (stat: %v)", err)
	}
	dog.mu.Lock()
	defer dog.mu.Unlock()
	if len(dog.groups) != 0 {
		t.Errorf("groups %v, want none", dog.groups)
	}
}
