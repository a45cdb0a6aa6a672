// Package procgroup owns running a bash command in a process group of its
// own and making sure that group ends: when the command's context is done
// (SIGTERM to the whole group, then SIGKILL once a grace period has passed
// with any of it still running), when the command exits if the caller wants
// nothing it started to outlive it, and when this process dies first
// (kill -9, a crash). For the last, a process that runs commands has one
// watchdog, a shell in a process group of its own, started with the first
// command, that reads a pipe only this process holds. It is told each
// group as its command starts and again once Wait is done with it; when
// the pipe closes because this process died, it kills with SIGKILL every
// group it still knows. bash runs the command's script only once the
// watchdog knows its group (a gate on a pipe of its own), so a death of
// this process at the command's first instant leaves nothing running
// either. The package also reads the command's output through pipes, so
// that waiting ends when bash exits, not when the last process holding its
// output does.
package procgroup
