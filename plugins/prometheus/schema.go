// Package prometheus is the built-in plugin that runs PromQL instant queries.
package prometheus

import (
	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
)

// Schema is the prometheus plugin's contract (SPEC §5).
var Schema = &plugins.Schema{
	Config: []*plugins.Attribute{
		{Name: "url", Type: cty.String, Required: true, Description: "Base URL of the Prometheus server."},
		{Name: "bearer_token", Type: cty.String, Sensitive: true, Description: "Token sent as Authorization: Bearer."},
	},
	Actions: map[string]*plugins.Action{
		"query": {
			Name:        "query",
			Description: "Run an instant query; value is the first sample's value.",
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
		},
	},
}
