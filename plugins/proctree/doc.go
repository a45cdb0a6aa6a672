// Package proctree finds and ends the whole tree of processes below a
// process, whatever sessions and process groups they moved to: a daemon that
// called setsid is out of its parent's process group, so signalling the group
// misses it, but it is still its parent's child (and, once orphaned, the child
// of the nearest subreaper). It reads the process table from /proc (Linux;
// elsewhere it finds nothing) and names each process by its pid and start
// time, so that a pid reused by an unrelated process is never signalled.
package proctree
