// Package view renders runs for people: the live view of `exec` and the
// replay of `transcript show` share one renderer of the typed transcript
// records (eventLines), so that a record reads the same during the run and
// afterwards. Every string that came from outside (a command's output, a
// server's reply) is made safe for the terminal before it is shown.
package view
