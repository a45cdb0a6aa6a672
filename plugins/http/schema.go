// Package http is the built-in plugin that makes HTTP requests.
package http

import (
	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
)

// Schema is the http plugin's contract (SPEC §5).
var Schema = &plugins.Schema{
	Actions: map[string]*plugins.Action{
		"request": {
			Name:         "request",
			Description:  "Make an HTTP request; GET and HEAD are read-only.",
			ReadOnlyWhen: &plugins.ReadOnlyRule{Arg: "method", Values: []cty.Value{cty.StringVal("GET"), cty.StringVal("HEAD")}},
			Args: []*plugins.Attribute{
				{Name: "url", Type: cty.String, Required: true, Description: "The URL."},
				{Name: "method", Type: cty.String, Default: cty.StringVal("GET"), Description: "The HTTP method."},
				{Name: "headers", Type: cty.Map(cty.String), Description: "Request headers."},
				{Name: "body", Type: cty.String, Description: "Request body."},
			},
			Output: cty.Object(map[string]cty.Type{
				"status":  cty.Number,
				"headers": cty.Map(cty.String),
				"body":    cty.String,
				"json":    cty.DynamicPseudoType,
			}),
		},
	},
}
