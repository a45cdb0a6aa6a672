// Package shell is the built-in plugin that runs shell commands.
package shell

import (
	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
)

// Schema is the shell plugin's contract (SPEC §5).
var Schema = &plugins.Schema{
	Actions: map[string]*plugins.Action{
		"run": {
			Name:         "run",
			Description:  "Run a command with bash -c; a non-zero exit is reported in the output, not as a failure.",
			ReadOnlyWhen: &plugins.ReadOnlyRule{Arg: "read_only", Values: []cty.Value{cty.True}},
			Args: []*plugins.Attribute{
				{Name: "command", Type: cty.String, Required: true, Description: "The command, run with bash -c."},
				{Name: "dir", Type: cty.String, Path: true, Description: "Working directory."},
				{Name: "env", Type: cty.Map(cty.String), Description: "Environment variables for the command."},
				{Name: "read_only", Type: cty.Bool, Default: cty.False, Description: "Declare that the command changes nothing, so dry-runs run it."},
			},
			Output: cty.Object(map[string]cty.Type{
				"exit_code": cty.Number,
				"stdout":    cty.String,
				"stderr":    cty.String,
			}),
		},
	},
}
