// Package engine runs decoded runbooks: it resolves variables, evaluates
// expressions, drives each step through its lifecycle (when, preconditions,
// confirmation, action, expectations), rehearses runs as dry-runs, takes
// locks, and records transcripts. It never prints: it reports through hooks.
package engine
