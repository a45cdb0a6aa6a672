// Package text formats what the command line shows: text made safe for a
// terminal (Visible), tables aligned by displayed width, counts, durations,
// times and hashes written the same way by every command.
package text
