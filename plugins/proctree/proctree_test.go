package proctree

import (
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestDescendants(t *testing.T) {
	p := func(pid, ppid int, zombie bool) Proc {
		return Proc{ID: ID{Pid: pid, Start: uint64(pid)}, PPid: ppid, Zombie: zombie}
	}
	table := Table{}
	for _, pr := range []Proc{p(10, 1, false), p(11, 10, false), p(12, 11, false), p(13, 10, true), p(14, 13, false), p(20, 1, false)} {
		table[pr.Pid] = pr
	}
	var got []int
	for _, id := range table.Descendants(10) {
		got = append(got, id.Pid)
	}
	slices.Sort(got)
	// The zombie is not running, but what it left under it is.
	if want := []int{11, 12, 14}; !slices.Equal(got, want) {
		t.Errorf("descendants %v, want %v", got, want)
	}
}

// Kill ends a tree whose members left the root's session: a setsid
// grandchild still dies.
func TestKillTree(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("relies on /proc")
	}
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("needs setsid")
	}
	cmd := exec.Command("sh", "-c", "setsid sleep 300 & echo $!; wait")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	buf := make([]byte, 32)
	n, _ := out.Read(buf)
	pid, err := strconv.Atoi(strings.TrimSpace(string(buf[:n])))
	if err != nil {
		t.Fatal(err)
	}
	sleeper, ok := Lookup(pid)
	if !ok {
		t.Fatal("the sleeper is not running")
	}
	root, _ := Lookup(cmd.Process.Pid)
	// Wait for setsid to have exec'd sleep in its new session.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm"); err == nil && strings.TrimSpace(string(c)) == "sleep" {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	tree := Snapshot(cmd.Process.Pid)
	if !slices.Contains(tree, sleeper) {
		t.Fatalf("snapshot %v misses the sleeper %v", tree, sleeper)
	}
	Kill(append(tree, root))
	deadline = time.Now().Add(5 * time.Second)
	for Alive(sleeper) {
		if time.Now().After(deadline) {
			t.Fatal("the setsid grandchild still runs")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ChildrenOf finds the same children as the whole table does, started from
// any thread of this process.
func TestChildrenOf(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("relies on /proc")
	}
	var cmds []*exec.Cmd
	for range 3 {
		c := exec.Command("sleep", "30")
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, c)
	}
	defer func() {
		for _, c := range cmds {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	}()
	pids := func(ps []Proc) []int {
		var out []int
		for _, p := range ps {
			out = append(out, p.Pid)
		}
		slices.Sort(out)
		return out
	}
	got, want := pids(ChildrenOf(os.Getpid())), pids(Read().Children(os.Getpid()))
	if !slices.Equal(got, want) {
		t.Errorf("ChildrenOf = %v, the table says %v", got, want)
	}
	for _, c := range cmds {
		if !slices.Contains(got, c.Process.Pid) {
			t.Errorf("child %d not found in %v", c.Process.Pid, got)
		}
	}
}
