// Package prometheus is the built-in plugin that runs PromQL instant queries:
// prometheus.query returns { value, series } for the server's current time.
//
// value is the one number the query yields, so a runbook can write
// `expect { condition = output.value < 0.01 }`. Anything that leaves no single
// number is an error with a message that says what to change, never a silent
// 0: an empty result (append `or vector(0)` where "no data" means zero), more
// than one series (aggregate with sum, max, …), NaN or ±Inf (typically a
// division by zero over a window without traffic), a range vector, a string,
// a native histogram, an HTTP or API error, or a body that is not a
// Prometheus API response. series is the result as [{labels, value}]: the one
// series with its labels (a scalar has none). Warnings and infos from
// Prometheus go to the action's progress.
package prometheus

import (
	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/sdk"
)

// Schema is the prometheus plugin's contract (docs/builtins.md, "prometheus").
var Schema = compiled.Schema

// compiled is the prometheus plugin as the SDK serves it in process.
var compiled = sdk.Compile(func() sdk.Plugin { return definition(&plugin{}) })

// definition declares the prometheus plugin's configuration and action on
// the SDK's action table, its handlers bound to p.
func definition(p *plugin) sdk.Plugin {
	return sdk.Plugin{
		Name:      "prometheus",
		Configure: p.configure,
		Close:     p.close,
		Config: []*plugins.Attribute{
			{Name: "url", Type: cty.String, Required: true, Description: "Base URL of the Prometheus server.", Validators: []*plugins.Validator{plugins.URLWithScheme("http", "https")}},
			{Name: "bearer_token", Type: cty.String, Sensitive: true, Description: "Token sent as Authorization: Bearer."},
			{Name: "timeout", Type: cty.String, Default: cty.StringVal("30s"), Description: "How long one query may take, as a duration (\"30s\"); the step's timeout applies too.", Validators: []*plugins.Validator{plugins.PositiveDuration()}},
		},
		Actions: []*sdk.Action{
			{
				Name:        "query",
				Description: "Run an instant query; value is its single sample's value (several series are an error: aggregate them).",
				ReadOnly:    true,
				Args: []*plugins.Attribute{
					{Name: "query", Type: cty.String, Required: true, Description: "The PromQL expression."},
				},
				Output: cty.Object(map[string]cty.Type{
					"value": cty.Number,
					"series": cty.List(cty.Object(map[string]cty.Type{
						"labels": cty.Map(cty.String),
						"value":  cty.Number,
					})),
				}),
				Apply: p.query,
			},
		},
	}
}
