//go:build unix

package procgroup

import (
	"errors"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// watchdogScript is the watchdog: a POSIX shell that reads, from a pipe only
// this process holds, "+PGID" when a command's group starts and "-PGID" once
// it is finished with, keeping the set of groups in pgs (" 12 34 "). When
// this process dies, however it dies, the kernel closes the pipe's write
// end: read sees the end of the input and every group still in the set is
// killed. It uses builtins only, so a line costs no fork. Other lines are
// ignored: a PGID must be a plain process id (digits, no leading zero, at
// most 7 digits as pid_max is at most 4194304, not 1), for "kill -KILL -1"
// would signal every process there is and "-0" the watchdog's own group.
const watchdogScript = `pgs=' '
while read -r line; do
	pg=${line#?}
	case $pg in
	'' | 0* | 1 | *[!0-9]* | ????????*) continue ;;
	esac
	case $line in
	+*) case $pgs in *" $pg "*) ;; *) pgs="$pgs$pg " ;; esac ;;
	-*) case $pgs in *" $pg "*) pgs="${pgs%% $pg *} ${pgs#* $pg }" ;; esac ;;
	esac
done
for pg in $pgs; do kill -KILL -"$pg" 2>/dev/null; done
`

// watchdogShell runs the watchdog script (a variable for tests).
var watchdogShell = "/bin/sh"

// watchdogWriteTimeout bounds a write to the watchdog. The pipe holds
// thousands of lines, so a write only waits when the watchdog has stopped
// reading (stopped or wedged); it is then replaced.
var watchdogWriteTimeout = 2 * time.Second

// groupSet is what the watchdog must know: the process groups of the
// commands that run, each with how many commands use it. A group id is
// reused only once its group is gone, but that may happen between Wait
// reaping bash and taking the group back from the watchdog, so a new
// command may register an id that is still registered.
type groupSet map[int]int

// add counts a command in group pgid and returns the line that tells the
// watchdog, or "" if it knows the group already.
func (s groupSet) add(pgid int) string {
	s[pgid]++
	if s[pgid] > 1 {
		return ""
	}
	return "+" + strconv.Itoa(pgid) + "\n"
}

// remove uncounts a command in group pgid and returns the line that tells
// the watchdog, or "" if the group still has commands or was never added.
func (s groupSet) remove(pgid int) string {
	switch n := s[pgid]; {
	case n == 0:
		return ""
	case n > 1:
		s[pgid] = n - 1
		return ""
	}
	delete(s, pgid)
	return "-" + strconv.Itoa(pgid) + "\n"
}

// lines returns the lines that tell a new watchdog every group, in order.
func (s groupSet) lines() string {
	var b strings.Builder
	for _, pgid := range slices.Sorted(maps.Keys(s)) {
		b.WriteString("+" + strconv.Itoa(pgid) + "\n")
	}
	return b.String()
}

// watchdog is this process's one watchdog process and what it has been told.
// It is started with the first command and runs until this process exits;
// a normal exit closes the pipe too, so the groups of commands still
// running then are killed as well.
//
// Whenever the set of groups changes and is not empty, a watchdog that knows
// it must run: one that died (something killed it) or stopped reading is
// killed and reaped, and a new one is started and told every group. A
// watchdog that could not be started is not an error for the command; the
// start is retried when the next command starts or ends, and meanwhile the
// groups are not guarded against this process's death.
type watchdog struct {
	mu     sync.Mutex
	groups groupSet
	proc   *exec.Cmd // the running watchdog; nil when none runs
	w      *os.File  // the write end of its stdin
}

var dog = watchdog{groups: groupSet{}}

// errNoWatchdog is Start's error when no watchdog could be told of the
// command's group: nothing would end the command should this process die,
// so it does not run.
var errNoWatchdog = errors.New("no watchdog to end the command should runbook die (could not start /bin/sh); the command did not run")

// watch has the watchdog kill group pgid should this process die. It
// fails, and forgets the group, when no watchdog knows it.
func (d *watchdog) watch(pgid int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.update(d.groups.add(pgid))
	if d.proc == nil {
		d.groups.remove(pgid)
		return errNoWatchdog
	}
	return nil
}

// ready starts the watchdog if none runs, so that telling it of a command's
// group right after the command starts is one write to a pipe rather than
// the start of a process: the moment in which this process could die with
// the command's group unknown to the watchdog stays as short as it can be.
func (d *watchdog) ready() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.proc != nil || d.start() != nil {
		return
	}
	if len(d.groups) > 0 && d.send(d.groups.lines()) != nil {
		d.stop()
	}
}

// forget takes group pgid back from the watchdog: this process deals with
// it, or has let it be.
func (d *watchdog) forget(pgid int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.update(d.groups.remove(pgid))
}

// update sends line, a change to the set of groups, to the watchdog, and
// makes sure one runs that knows the whole set. d.mu must be held.
func (d *watchdog) update(line string) {
	if d.proc != nil {
		if line == "" || d.send(line) == nil {
			return
		}
		d.stop()
	}
	if len(d.groups) == 0 || d.start() != nil {
		return
	}
	if d.send(d.groups.lines()) != nil {
		d.stop()
	}
}

// start starts a watchdog, reading a new pipe whose write end only this
// process holds: it is close-on-exec, so commands do not inherit it.
func (d *watchdog) start() error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	proc := exec.Command(watchdogShell, "-c", watchdogScript)
	proc.Stdin = r
	// It outlives commands and their directories: it must not keep one
	// busy, and needs no environment.
	proc.Dir = "/"
	proc.Env = []string{}
	// Its own group, so that a Ctrl-C to the caller's group does not end
	// the watchdog while the caller still cleans up.
	proc.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = proc.Start()
	r.Close()
	if err != nil {
		w.Close()
		return err
	}
	d.proc, d.w = proc, w
	return nil
}

// stop kills and reaps the watchdog, without touching the groups: it is
// killed before its pipe is closed, so it never takes that for this
// process's death.
func (d *watchdog) stop() {
	_ = d.proc.Process.Kill()
	_ = d.proc.Wait()
	d.w.Close()
	d.proc, d.w = nil, nil
}

// send writes msg to the watchdog within watchdogWriteTimeout. A dead
// watchdog makes it fail with EPIPE; Go's runtime ignores the SIGPIPE the
// kernel raises with it, but os.File's Write raises a fatal one of its own
// on descriptors 1 and 2, which the pipe could get had this process closed
// its stdout or stderr: so send writes through the raw descriptor.
func (d *watchdog) send(msg string) error {
	// A file that cannot take a deadline is still written to: the pipe
	// only fills up if the watchdog stops reading.
	_ = d.w.SetWriteDeadline(time.Now().Add(watchdogWriteTimeout))
	rc, err := d.w.SyscallConn()
	if err != nil {
		return err
	}
	b := []byte(msg)
	var werr error
	err = rc.Write(func(fd uintptr) bool {
		for len(b) > 0 {
			n, err := syscall.Write(int(fd), b)
			switch {
			case err == syscall.EINTR:
				continue
			case err == syscall.EAGAIN:
				return false // wait until the pipe has room
			case err != nil:
				werr = err
				return true
			case n <= 0:
				werr = errors.New("watchdog pipe: short write")
				return true
			}
			b = b[n:]
		}
		return true
	})
	if err != nil {
		return err
	}
	return werr
}
