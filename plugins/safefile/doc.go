// Package safefile reads files that runbook does not control: runbook and
// var files, and the state files of plugin backends. A file that is not a
// regular file (a named pipe, a device such as /dev/zero, a socket) is
// refused before a read can block or stream forever, and a file larger than
// the limit its caller sets is refused rather than read into memory. State
// files are opened without following a symbolic link, so that a link
// planted in a state folder cannot redirect a read or a write elsewhere.
package safefile
