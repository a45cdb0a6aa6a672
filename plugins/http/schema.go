// Package http is the built-in plugin that makes HTTP requests: http.request
// returns { status, headers, body, json }.
//
// Any status is output, not an error (the runbook's expect decides); a request
// that gets no response (connection refused, DNS, TLS, timeout) is an error.
// Response headers are keyed by their canonical name ("Content-Type"), several
// values joined with ", ". The body keeps its first MaxBody bytes (10 MiB);
// json is the body decoded when the response says it is JSON
// (application/json or any +json type), else null. GET and HEAD follow up to
// 10 redirects; a mutating method is sent once, to the URL given, and a
// redirect answering it is returned as is. No redirect may go from https to
// plain http. Proxies come from the usual HTTPS_PROXY/NO_PROXY variables.
// A request made under a span (the action's attempt in a traced run)
// carries its traceparent and tracestate headers, unless the action's
// headers set either.
package http

import (
	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/sdk"
)

// Schema is the http plugin's contract (docs/builtins.md, "http").
var Schema = compiled.Schema

// compiled is the http plugin as the SDK serves it in process.
var compiled = sdk.Compile(func() sdk.Plugin { return definition(newPlugin()) })

// definition declares the http plugin's action on the SDK's action table,
// its handlers bound to p.
func definition(p *plugin) sdk.Plugin {
	return sdk.Plugin{
		Name:  "http",
		Close: p.close,
		Actions: []*sdk.Action{{
			Name:         "request",
			Description:  "Make an HTTP request; GET and HEAD are read-only.",
			ReadOnlyWhen: &plugins.ReadOnlyRule{Arg: "method", Values: []cty.Value{cty.StringVal("GET"), cty.StringVal("HEAD")}},
			Args: []*plugins.Attribute{
				{Name: "url", Type: cty.String, Required: true, Description: "The URL.", Validators: []*plugins.Validator{plugins.URLWithScheme("http", "https")}},
				{Name: "method", Type: cty.String, Default: cty.StringVal("GET"), Description: "The HTTP method."},
				{Name: "headers", Type: cty.Map(cty.String), Description: "Request headers."},
				{Name: "body", Type: cty.String, Description: "Request body."},
				{Name: "timeout", Type: cty.String, Default: cty.StringVal("30s"), Description: "How long the whole request may take, as a duration (\"30s\"); the step's timeout applies too.", Validators: []*plugins.Validator{plugins.PositiveDuration()}},
			},
			Output: cty.Object(map[string]cty.Type{
				"status":  cty.Number,
				"headers": cty.Map(cty.String),
				"body":    cty.String,
				"json":    cty.DynamicPseudoType,
			}),
			Plan:  p.plan,
			Apply: p.apply,
		}},
	}
}
