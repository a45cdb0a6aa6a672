// Package mcpcmd is `runbook mcp`: a Model Context Protocol server through
// which an AI agent reads, validates and rehearses runbooks, and requests
// runs that people approve (docs/agents.md).
//
// Every tool but the resources runs the runbook command itself, as a child
// process with the server's directories and store, so that an agent sees
// exactly what a person at a terminal sees, errors included.
package mcpcmd
