// Package pluginlock owns runbook.lock.hcl, the file in a runbook directory
// that records, for each external plugin, the version, the SHA-256 of its
// binary and its whole schema, as `runbook plugins lock` learned them by
// running the plugin once. Like Terraform's .terraform.lock.hcl it is
// reviewed and committed with the runbooks; unlike it, it holds the schema
// too, so that every command but exec (validate, list, show, test,
// plugins) checks runbooks against external plugins without starting a
// binary that the tree under review brought along. The file is plain HCL,
// readable in a diff; sensitive defaults are never written to it.
package pluginlock
