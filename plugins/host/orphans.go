package host

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/runbookdev/runbook/plugins/proctree"
)

// Nothing a plugin starts outlives it. Ending a plugin's process group is
// not enough: a daemon that called setsid has left the group, and one that
// forked twice has left its parent too, re-parented to init, where no tree
// leads to it. So, on Linux:
//
//   - Before a plugin process is ended, the host reads its descendants from
//     /proc (proctree.Snapshot), whatever session or group they are in, and
//     after it is ended kills those that still run, stopping them first so
//     that none can fork one more meanwhile (proctree.Kill).
//   - With Launcher.Subreaper, the host process is a child subreaper
//     (prctl PR_SET_CHILD_SUBREAPER): a process a plugin orphans is
//     re-parented to the host instead of init, so it stays findable. Once no
//     plugin process runs any more (the end of a run, of a schema launch),
//     every child of the host that is not a plugin process it started is
//     such an orphan: it is killed with its descendants and reaped. Only a
//     program that starts no other children of its own may set Subreaper,
//     as the runbook command does: the commands of its built-ins
//     (InProcess) are its children too, so no sweep runs while a built-in
//     is open, and closing the last one sweeps what they orphaned.
//
// cgroups would contain a tree more tightly, but need privileges or a
// systemd user session that a CI runner or an operator's shell may not
// have; /proc and prctl need nothing. What this does not cover: a process
// that escapes in the instant between the host's last look and its kill
// (a fork bomb that outruns proctree.Kill's rounds), and the host's own
// death (kill -9): then the kernel kills the plugins (Pdeathsig) but not
// what they orphaned.

// children are the plugin processes this process started and has not yet
// reaped, and the starts under way: what sweepOrphans must spare.
var children = childSet{live: map[int]bool{}}

type childSet struct {
	mu       sync.Mutex
	live     map[int]bool
	starting int
	// inproc counts the built-ins open in this process (InProcess): the
	// commands they run are children of this process too.
	inproc int
}

// startChild starts cmd, counted as a plugin process until exited.
func startChild(cmd *exec.Cmd) error {
	children.mu.Lock()
	children.starting++
	children.mu.Unlock()
	err := cmd.Start()
	children.mu.Lock()
	children.starting--
	if err == nil {
		children.live[cmd.Process.Pid] = true
	}
	children.mu.Unlock()
	return err
}

// exited uncounts a plugin process once it is reaped.
func (c *childSet) exited(pid int) {
	c.mu.Lock()
	delete(c.live, pid)
	c.mu.Unlock()
}

var subreaperOnce sync.Once

// adopt makes this process a child subreaper, once, if the launcher says so.
func (l *Launcher) adopt() {
	if l.Subreaper {
		subreaperOnce.Do(enableSubreaper)
	}
}

// reapWait bounds how long sweepOrphans waits for the orphans it killed to
// be reaped.
const reapWait = 2 * time.Second

// sweepOrphans kills and reaps the orphans plugins left to this process,
// when it is a subreaper and no plugin process runs or is starting.
func (l *Launcher) sweepOrphans() {
	if !l.Subreaper || !subreaper() {
		return
	}
	children.mu.Lock()
	defer children.mu.Unlock()
	if children.starting > 0 || len(children.live) > 0 || children.inproc > 0 {
		return
	}
	self := os.Getpid()
	var orphans []proctree.ID
	for _, p := range proctree.ChildrenOf(self) {
		orphans = append(orphans, p.ID)
	}
	if len(orphans) == 0 {
		return
	}
	proctree.Kill(orphans)
	// What they orphaned in turn was re-parented here too: reap every
	// child until none is left.
	deadline := time.Now().Add(reapWait)
	for time.Now().Before(deadline) {
		left := proctree.ChildrenOf(self)
		if len(left) == 0 {
			return
		}
		for _, p := range left {
			if !p.Zombie {
				proctree.Kill([]proctree.ID{p.ID})
			}
			reap(p.Pid)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ownerFile, in a plugin process's private folder, names the runbook
// process that made it: "PID START\n".
const ownerFile = ".owner"

// privateDirPrefix starts the name of every private folder.
const privateDirPrefix = "runbook-plugin-"

// makePrivateDir makes the private folder of plugin name, with its owner
// recorded, after removing the stale ones in the same place (once per
// process and place).
func (l *Launcher) makePrivateDir(name string) (string, error) {
	base := l.TempDir
	if base == "" {
		base = os.TempDir()
	}
	if _, done := cleaned.LoadOrStore(base, true); !done {
		removeStaleDirs(base)
	}
	dir, err := os.MkdirTemp(base, privateDirPrefix+name+"-")
	if err != nil {
		return "", err
	}
	self, _ := proctree.Lookup(os.Getpid())
	owner := fmt.Sprintf("%d %d\n", os.Getpid(), self.Start)
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(owner), 0o600); err != nil {
		_ = os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

var cleaned sync.Map

// removeStaleDirs removes the private folders in base whose owner has died
// without removing them (kill -9, a crash): each holds a copy of a plugin
// binary, often tens of megabytes. A folder whose owner cannot be told (not
// yet written, or another program's) is left alone.
func removeStaleDirs(base string) {
	entries, err := os.ReadDir(base)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), privateDirPrefix) {
			continue
		}
		dir := filepath.Join(base, e.Name())
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue
		}
		owner, ok := parseOwner(string(b))
		if !ok || ownerAlive(owner) {
			continue
		}
		_ = os.RemoveAll(dir)
	}
}

func parseOwner(s string) (proctree.ID, bool) {
	f := strings.Fields(s)
	if len(f) != 2 || !strings.HasSuffix(s, "\n") {
		return proctree.ID{}, false
	}
	pid, err1 := strconv.Atoi(f[0])
	start, err2 := strconv.ParseUint(f[1], 10, 64)
	if err1 != nil || err2 != nil || pid <= 0 {
		return proctree.ID{}, false
	}
	return proctree.ID{Pid: pid, Start: start}, true
}

// ownerAlive reports whether the owner still runs; a start time of 0 (not
// known when it was written) matches any process with that pid.
func ownerAlive(owner proctree.ID) bool {
	if owner.Start == 0 {
		return proctree.PidExists(owner.Pid)
	}
	return proctree.Alive(owner)
}
