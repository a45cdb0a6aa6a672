//go:build linux

// Command rsstree runs a command and reports the peak resident memory of it
// and of the plugin processes it starts, in total: GNU time's max RSS
// covers only the process it waits for, and the rusage of reaped children
// is their maximum, not their sum.
//
//	rsstree [-every 1ms] [-o FILE] -- COMMAND [ARG...]
//
// While the command runs, rsstree walks its process tree every -every
// (through /proc/PID/task/TID/children) and reads VmHWM, the peak resident
// set, from /proc/PID/status of each descendant whose executable is the
// command's own with another command line: runbook's built-in plugins
// re-execute its binary. VmHWM
// only grows, so the last sample before a plugin exits is its peak within
// one sampling interval. The host's peak is its rusage max RSS after it
// exits. Other descendants (the shell commands actions run) are counted
// apart, as the actions' work. It writes one line, in KiB:
//
//	total host plugins plugin_count others pss
//
// Resident sets of the re-executed binary share its text pages, so the
// total over-counts what the machine really spends: it is an upper bound.
// pss is the largest simultaneous sum of the host's and plugins'
// proportional set sizes (/proc/PID/smaps_rollup, shared pages divided
// among the processes sharing them) seen in one sample.
package main
