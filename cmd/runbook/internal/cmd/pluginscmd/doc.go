// Package pluginscmd is `runbook plugins`: the plugins runbooks can use and
// their schemas; `plugins lock` records external plugins' schemas in the
// lock file, `plugins pin` writes a binary's sha256 into its plugin block.
package pluginscmd
