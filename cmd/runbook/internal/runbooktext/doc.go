// Package runbooktext says a decoded runbook in words, the same for every
// command that describes one (`show` on a terminal, `docs` in Markdown):
// an expression's source on one line, a variable's default, whether an
// action changes state, its arguments with sensitive literals hidden, and
// the limits of a step. It decides what is said, never how it looks.
package runbooktext
