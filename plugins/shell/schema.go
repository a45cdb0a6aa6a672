// Package shell is the built-in plugin that runs shell commands: shell.run
// runs `bash -c COMMAND` in its own process group, streams its output line by
// line as progress, and returns { exit_code, stdout, stderr }.
//
// A non-zero exit is output, not an error: the runbook's expect decides. The
// command's environment holds only the variables of its `env` argument plus
// PATH, HOME and LANG (taken from the host, with fallbacks), so credentials
// and other variables of the operator's shell never leak into a command by
// accident; pass what a command needs explicitly, e.g. env = { KUBECONFIG =
// env("KUBECONFIG") }. When the context holds a span (the action's attempt
// in a traced run), TRACEPARENT and TRACESTATE carry its trace context,
// unless env sets either. Stdin is /dev/null. Each of stdout and stderr keeps its
// first MaxOutput bytes (1 MiB), with a note saying how much was cut. When
// the context ends (step timeout, Ctrl-C) the whole process group gets
// SIGTERM, then SIGKILL after a few seconds, and the action fails. A
// background process that outlives bash is left running, but its hold on the
// output pipes is cut a moment after bash exits: redirect its output
// (`nohup daemon >log 2>&1 &`).
package shell

import (
	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/sdk"
)

// Schema is the shell plugin's contract (docs/builtins.md, "shell").
var Schema = compiled.Schema

// compiled is the shell plugin as the SDK serves it in process.
var compiled = sdk.Compile(func() sdk.Plugin { return definition })

// readOnly makes shell.run read-only when its read_only argument is true.
var readOnly = &plugins.ReadOnlyRule{Arg: "read_only", Values: []cty.Value{cty.True}}

// definition declares the shell plugin's action on the SDK's action table.
var definition = sdk.Plugin{
	Name: "shell",
	Actions: []*sdk.Action{{
		Name:         "run",
		Description:  "Run a command with bash -c; a non-zero exit is reported in the output, not as a failure.",
		ReadOnlyWhen: readOnly,
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
		Plan:  planRun,
		Apply: applyRun,
	}},
}
