package proctree

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"time"
)

// ID names one process: its pid and its start time (clock ticks after boot),
// which together never name another process.
type ID struct {
	Pid   int
	Start uint64
}

// Proc is one row of the process table.
type Proc struct {
	ID
	PPid   int
	Pgid   int
	Zombie bool // exited, not yet reaped: runs nothing
}

// Table is the process table by pid.
type Table map[int]Proc

// Read reads the process table; without /proc it is empty.
func Read() Table {
	t := Table{}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return t
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := readStat(pid); ok {
			t[pid] = p
		}
	}
	return t
}

// readStat parses /proc/PID/stat: "pid (comm) state ppid pgrp … starttime
// (field 22) …"; comm may hold anything, so fields count from its closing
// parenthesis.
func readStat(pid int) (Proc, bool) {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Proc{}, false // gone meanwhile
	}
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return Proc{}, false
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 20 {
		return Proc{}, false
	}
	ppid, err1 := strconv.Atoi(f[1])
	pgid, err2 := strconv.Atoi(f[2])
	start, err3 := strconv.ParseUint(f[19], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return Proc{}, false
	}
	return Proc{ID: ID{Pid: pid, Start: start}, PPid: ppid, Pgid: pgid, Zombie: f[0] == "Z" || f[0] == "X"}, true
}

// Lookup returns process pid as it is now, if it runs.
func Lookup(pid int) (ID, bool) {
	p, ok := readStat(pid)
	if !ok || p.Zombie {
		return ID{}, false
	}
	return p.ID, true
}

// Alive reports whether id still names a running process: same pid, same
// start time, not a zombie. Without /proc, whether the pid exists.
func Alive(id ID) bool {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		return PidExists(id.Pid)
	}
	p, ok := readStat(id.Pid)
	return ok && !p.Zombie && p.Start == id.Start
}

// Descendants returns the running processes below the roots (not the roots
// themselves), following parent links in t.
func (t Table) Descendants(roots ...int) []ID {
	children := map[int][]int{}
	for _, p := range t {
		children[p.PPid] = append(children[p.PPid], p.Pid)
	}
	var out []ID
	seen := map[int]bool{}
	queue := append([]int(nil), roots...)
	for _, r := range roots {
		seen[r] = true
	}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		for _, c := range children[pid] {
			if seen[c] {
				continue
			}
			seen[c] = true
			queue = append(queue, c)
			if p := t[c]; !p.Zombie {
				out = append(out, p.ID)
			}
		}
	}
	return out
}

// Children returns the processes whose parent is pid, zombies included.
func (t Table) Children(pid int) []Proc {
	var out []Proc
	for _, p := range t {
		if p.PPid == pid {
			out = append(out, p)
		}
	}
	return out
}

// ChildrenOf returns the processes whose parent is pid, zombies included,
// from the kernel's list of each of pid's threads' children
// (/proc/PID/task/TID/children) rather than the whole table: a process
// table of thousands costs a read each. Where the kernel keeps no such
// list, it reads the table.
func ChildrenOf(pid int) []Proc {
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return Read().Children(pid)
	}
	var out []Proc
	seen := map[int]bool{}
	for _, task := range tasks {
		b, err := os.ReadFile(dir + "/" + task.Name() + "/children")
		if err != nil {
			if os.IsNotExist(err) {
				return Read().Children(pid)
			}
			continue // the thread ended meanwhile
		}
		for _, f := range strings.Fields(string(b)) {
			child, err := strconv.Atoi(f)
			if err != nil || seen[child] {
				continue
			}
			seen[child] = true
			if p, ok := readStat(child); ok && p.PPid == pid {
				out = append(out, p)
			}
		}
	}
	return out
}

// Snapshot returns the running descendants of pid: read before pid ends, it
// still knows the processes that its end will orphan.
func Snapshot(pid int) []ID {
	if pid <= 0 {
		return nil
	}
	return Read().Descendants(pid)
}

// maxRounds bounds the search for descendants born while Kill stops a tree.
const maxRounds = 20

// Kill ends every process of ids that still runs, and everything below them:
// it stops them (SIGSTOP) and reads the table again until no new descendant
// appears, so that none can fork one that escapes, then kills them all
// (SIGKILL). It returns the processes it killed.
func Kill(ids []ID) []ID {
	targets := map[int]ID{}
	for _, id := range ids {
		if id.Pid > 1 && id.Pid != os.Getpid() {
			targets[id.Pid] = id
		}
	}
	stopped := map[int]ID{}
	for round := 0; round < maxRounds && len(targets) > 0; round++ {
		t := Read()
		var roots []int
		for pid, id := range targets {
			if p, ok := t[pid]; ok && !p.Zombie && p.Start == id.Start {
				roots = append(roots, pid)
			} else if !ok && len(t) == 0 {
				roots = append(roots, pid) // no /proc: trust the pid
			}
		}
		grew := false
		for _, pid := range roots {
			if _, done := stopped[pid]; !done {
				stop(pid)
				stopped[pid] = targets[pid]
			}
		}
		for _, d := range t.Descendants(roots...) {
			if _, known := targets[d.Pid]; !known && d.Pid != os.Getpid() {
				targets[d.Pid] = d
				grew = true
			}
		}
		if !grew {
			break
		}
		// A process may be between fork and being seen: let it show.
		time.Sleep(time.Millisecond)
	}
	killed := make([]ID, 0, len(stopped))
	for pid, id := range stopped {
		kill(pid)
		killed = append(killed, id)
	}
	return killed
}
