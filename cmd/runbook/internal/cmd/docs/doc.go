// Package docs is `runbook docs`: one Markdown page per runbook, saying
// what `show` says of it and when it last ran and was rehearsed, and an
// index that links them, for a wiki or Backstage TechDocs
// (docs/commands.md, "runbook docs").
package docs
