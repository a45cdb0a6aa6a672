//go:build linux

package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	every := flag.Duration("every", time.Millisecond, "sampling interval")
	out := flag.String("o", "", "write the figures to this file instead of stderr")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: rsstree [-every D] [-o FILE] -- COMMAND [ARG...]")
		os.Exit(2)
	}
	exe := binary(flag.Arg(0))
	cmd := exec.Command(exe, flag.Args()[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		fail(err)
	}
	s := &sampler{
		exe:         exe,
		root:        cmd.Process.Pid,
		rootCmdline: strings.Join(append([]string{exe}, flag.Args()[1:]...), "\x00") + "\x00",
		peaks:       map[int]*[2]int64{},
		sameExe:     map[int]bool{},
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(*every)
	defer tick.Stop()
	var werr error
loop:
	for {
		select {
		case werr = <-done:
			break loop
		case <-tick.C:
			s.sample()
		}
	}
	var host int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		host = ru.Maxrss
	}
	line := s.figures(host)
	if *out != "" {
		if err := os.WriteFile(*out, []byte(line), 0o644); err != nil {
			fail(err)
		}
	} else {
		fmt.Fprint(os.Stderr, line)
	}
	if werr != nil {
		if ee, ok := werr.(*exec.ExitError); ok {
			os.Exit(ee.ExitCode())
		}
		os.Exit(1)
	}
}

// binary is the file the command name runs, absolute, links resolved.
func binary(name string) string {
	exe, err := exec.LookPath(name)
	if err != nil {
		fail(err)
	}
	exe, _ = filepath.Abs(exe)
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		exe = real
	}
	return exe
}

// fail reports err and exits with status 2.
func fail(err error) {
	fmt.Fprintln(os.Stderr, "rsstree:", err)
	os.Exit(2)
}

// sampler samples the memory of the process tree under root.
type sampler struct {
	exe         string // the command's binary
	root        int
	rootCmdline string // the command's /proc/PID/cmdline

	// Peaks by pid and by whether the process ran the command's binary
	// then: a child forked to run a shell command runs it until its execve.
	// A process is classified by its last sample.
	peaks   map[int]*[2]int64 // pid -> VmHWM KiB: [other, same exe]
	sameExe map[int]bool
	maxPSS  int64
}

// sample reads the peaks of every process in the tree, and the tree's
// proportional set size.
func (s *sampler) sample() {
	pss, _ := pssOf(s.root)
	for _, pid := range descendants(s.root) {
		hwm, ok := vmHWM(pid)
		if !ok {
			continue
		}
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		if err != nil {
			continue
		}
		// A child forked to exec something else still shows the
		// host's binary and command line until its execve.
		cl, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		same := link == s.exe && string(cl) != s.rootCmdline
		s.sameExe[pid] = same
		p := s.peaks[pid]
		if p == nil {
			p = new([2]int64)
			s.peaks[pid] = p
		}
		i := 0
		if same {
			i = 1
		}
		p[i] = max(p[i], hwm)
		if same {
			v, _ := pssOf(pid)
			pss += v
		}
	}
	s.maxPSS = max(s.maxPSS, pss)
}

// figures is the line rsstree writes, host being the command's own peak
// in KiB: the total of the host and the processes running its binary, the
// host, those processes, their number, the other processes, and the peak
// proportional set size.
func (s *sampler) figures(host int64) string {
	var plugins, others int64
	n := 0
	for pid, p := range s.peaks {
		if s.sameExe[pid] {
			plugins += p[1]
			n++
		} else {
			others += p[0]
		}
	}
	return fmt.Sprintf("%d %d %d %d %d %d\n", host+plugins, host, plugins, n, others, s.maxPSS)
}

// descendants lists the processes under pid, depth first.
func descendants(pid int) []int {
	var out []int
	stack := []int{pid}
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", p))
		for _, t := range tasks {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", p, t.Name()))
			if err != nil {
				continue
			}
			for _, f := range strings.Fields(string(b)) {
				if c, err := strconv.Atoi(f); err == nil {
					out = append(out, c)
					stack = append(stack, c)
				}
			}
		}
	}
	return out
}

// vmHWM reads a process's peak resident set in KiB.
func vmHWM(pid int) (int64, bool) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			v, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return v, err == nil
		}
	}
	return 0, false
}

// pssOf reads a process's proportional set size in KiB.
func pssOf(pid int) (int64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0, false
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "Pss:"); ok {
			v, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return v, err == nil
		}
	}
	return 0, false
}
