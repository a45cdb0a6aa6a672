// Package resolver decides, for every command, where each plugin comes
// from and how it runs: built-ins in the host process, external plugins as
// verified go-plugin processes, development overrides from the user's
// configuration. See docs/plugins.md.
package resolver
