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
	exe, err := exec.LookPath(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "rsstree:", err)
		os.Exit(2)
	}
	exe, _ = filepath.Abs(exe)
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		exe = real
	}
	cmd := exec.Command(exe, flag.Args()[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "rsstree:", err)
		os.Exit(2)
	}
	root := cmd.Process.Pid
	rootCmdline := strings.Join(append([]string{exe}, flag.Args()[1:]...), "\x00") + "\x00"

	// Peaks by pid and by whether the process ran the command's binary
	// then: a child forked to run a shell command runs it until its execve.
	// A process is classified by its last sample.
	peaks := map[int]*[2]int64{} // pid -> VmHWM KiB: [other, same exe]
	sameExe := map[int]bool{}
	var maxPSS int64
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
			pss, _ := pssOf(root)
			for _, pid := range descendants(root) {
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
				same := link == exe && string(cl) != rootCmdline
				sameExe[pid] = same
				p := peaks[pid]
				if p == nil {
					p = new([2]int64)
					peaks[pid] = p
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
			maxPSS = max(maxPSS, pss)
		}
	}
	var host int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		host = ru.Maxrss
	}
	var plugins, others int64
	n := 0
	for pid, p := range peaks {
		if sameExe[pid] {
			plugins += p[1]
			n++
		} else {
			others += p[0]
		}
	}
	line := fmt.Sprintf("%d %d %d %d %d %d\n", host+plugins, host, plugins, n, others, maxPSS)
	if *out != "" {
		if err := os.WriteFile(*out, []byte(line), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "rsstree:", err)
			os.Exit(2)
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
