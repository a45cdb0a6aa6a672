// Package prompt is the built-in plugin that manages versioned prompts in a
// prompt registry: it reads which version a label serves, publishes new
// versions, rolls a label back and promotes a version. It owns the rules of
// those actions and, behind the Backend interface, two backends: the
// embedded file backend, a folder per prompt with immutable version files,
// labels.json and history.jsonl (docs/builtins.md, "File backend: prompts"), the format the AI application
// reads; and the langfuse backend, a Langfuse project through its public API.
package prompt

import (
	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/sdk"
)

var rollbackOutput = cty.Object(map[string]cty.Type{
	"name":             cty.String,
	"label":            cty.String,
	"version":          cty.Number,
	"previous_version": cty.Number,
})

// Schema is the prompt plugin's contract (docs/builtins.md, "prompt").
var Schema = compiled.Schema

// compiled is the prompt plugin as the SDK serves it in process.
var compiled = sdk.Compile(func() sdk.Plugin { return definition(&plugin{}) })

// definition declares the prompt plugin's configuration and actions on the
// SDK's action table, their handlers bound to p.
// It stays one long literal: a declaration reads best whole.
func definition(p *plugin) sdk.Plugin {
	return sdk.Plugin{
		Name:        "prompt",
		Configure:   p.configure,
		Close:       p.close,
		Predicts:    true,
		ChecksPlans: true,
		Config: []*plugins.Attribute{
			{Name: "backend", Type: cty.String, Default: cty.StringVal("file"), Description: "Where prompts live: \"file\" (a folder per prompt) or \"langfuse\" (a Langfuse project).", Validators: []*plugins.Validator{plugins.OneOfStrings("file", "langfuse")}},
			{Name: "path", Type: cty.String, Path: true, Description: "The registry folder, for the file backend."},
			{Name: "url", Type: cty.String, Description: "Base URL of Langfuse (\"https://cloud.langfuse.com\"), for the langfuse backend.", Validators: []*plugins.Validator{plugins.URLWithScheme("http", "https")}},
			{Name: "public_key", Type: cty.String, Description: "Langfuse public key (pk-lf-…), the user of HTTP basic auth, for the langfuse backend."},
			{Name: "secret_key", Type: cty.String, Sensitive: true, Description: "Langfuse secret key (sk-lf-…), the password of HTTP basic auth, for the langfuse backend."},
			{Name: "timeout", Type: cty.String, Description: "How long one request to Langfuse may take, as a duration; \"30s\" when unset. The step's timeout applies too.", Validators: []*plugins.Validator{plugins.PositiveDuration()}},
		},
		Actions: []*sdk.Action{
			{
				Name:        "status",
				Description: "Read which version a label serves, and the versions that exist.",
				ReadOnly:    true,
				Args: []*plugins.Attribute{
					{Name: "name", Type: cty.String, Required: true, Description: "Prompt name."},
					{Name: "label", Type: cty.String, Default: cty.StringVal("production"), Description: "Label to read."},
				},
				Output: cty.Object(map[string]cty.Type{
					"name":     cty.String,
					"label":    cty.String,
					"version":  cty.Number,
					"versions": cty.List(cty.Number),
				}),
				Plan:  p.planStatus,
				Apply: p.applyStatus,
			},
			{
				Name:        "publish",
				Description: "Publish a new immutable version, labelled when label is set.",
				Args: []*plugins.Attribute{
					{Name: "name", Type: cty.String, Required: true, Description: "Prompt name."},
					{Name: "text", Type: cty.String, Required: true, Description: "The prompt text."},
					{Name: "label", Type: cty.String, Default: cty.StringVal(""), Description: "Label to point at the new version; empty for none."},
				},
				Output: cty.Object(map[string]cty.Type{"name": cty.String, "version": cty.Number}),
				Plan:   p.planPublish,
				Apply:  p.applyPublish,
			},
			{
				Name:        "rollback",
				Description: "Move a label back to an earlier version.",
				Args: []*plugins.Attribute{
					{Name: "name", Type: cty.String, Required: true, Description: "Prompt name."},
					{Name: "label", Type: cty.String, Default: cty.StringVal("production"), Description: "Label to move."},
					{Name: "to_version", Type: cty.Number, Default: cty.Zero, Description: "Version to roll back to; 0 = the highest version below the live one."},
				},
				Output: rollbackOutput,
				Plan:   p.planRollback,
				Apply:  p.applyMove(rollbackTarget),
			},
			{
				Name:        "promote",
				Description: "Point a label at a given version.",
				Args: []*plugins.Attribute{
					{Name: "name", Type: cty.String, Required: true, Description: "Prompt name."},
					{Name: "label", Type: cty.String, Default: cty.StringVal("production"), Description: "Label to move."},
					{Name: "version", Type: cty.Number, Required: true, Description: "Version the label will serve."},
				},
				Output: rollbackOutput,
				Plan:   p.planPromote,
				Apply:  p.applyMove(promoteTarget),
			},
		},
	}
}
