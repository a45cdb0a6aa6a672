// Package schema owns the runbook language: it decodes a directory of HCL
// files into typed runbooks and plugin declarations, parses the references
// their expressions make, checks everything that can be checked without
// running an action (including action arguments against the schemas plugins
// report), and converts the resulting diagnostics to their one JSON shape.
// Expressions stay hcl.Expression and action bodies stay hcl.Body: the engine
// evaluates them later, with real values.
package schema
