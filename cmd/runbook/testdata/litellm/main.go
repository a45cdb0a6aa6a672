// Command litellm is a small external plugin written with the SDK for the
// scripts (sdk_plugin.txtar): a model gateway's status and a mutating
// block, with a mode argument that makes the status handler return each
// mistake a plugin author can make, so the scripts show how runbook
// reports it.
package main

import (
	"context"
	"fmt"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins/sdk"
)

var modelOut = cty.Object(map[string]cty.Type{"model": cty.String, "blocked": cty.Bool, "deployments": cty.Number})

func main() {
	model := func(req *sdk.Request) string { return "openai/" + req.Args.String("model") }
	sdk.Serve(sdk.Plugin{
		Name:    "litellm",
		Version: "0.3.0",
		Config: []*sdk.Attribute{
			{Name: "url", Type: cty.String, Required: true, Validators: []*sdk.Validator{sdk.URLWithScheme("http", "https")}},
			{Name: "api_key", Type: cty.String, Sensitive: true},
		},
		Actions: []*sdk.Action{
			{
				Name: "status", ReadOnly: true, Output: modelOut,
				Args: []*sdk.Attribute{
					{Name: "model", Type: cty.String, Required: true},
					{Name: "mode", Type: cty.String, Default: cty.StringVal("ok")},
				},
				Apply: func(_ context.Context, req *sdk.Request) (any, error) {
					switch req.Args.String("mode") {
					case "missing":
						return map[string]any{"model": model(req), "deployments": 3}, nil
					case "extra":
						return map[string]any{"model": model(req), "blocked": false, "deployments": 3, "region": "eu"}, nil
					case "mistyped":
						return map[string]any{"model": model(req), "blocked": false, "deployments": "3"}, nil
					case "nil":
						return nil, nil
					case "modle":
						return nil, sdk.ArgError("modle", "No such model", "")
					case "api_key":
						return nil, sdk.ArgError("api_key", "Key rejected", "the gateway answered 401")
					}
					return map[string]any{"model": model(req), "blocked": false, "deployments": 3}, nil
				},
			},
			{
				Name: "block_model", Output: modelOut,
				Args: []*sdk.Attribute{{Name: "model", Type: cty.String, Required: true}},
				Plan: func(_ context.Context, req *sdk.Request) (*sdk.Plan, error) {
					if req.Args.String("model") == "crash" {
						// An author's bug: a nil map written to.
						var deployments map[string]int
						deployments[model(req)]++
					}
					return &sdk.Plan{Changes: []string{fmt.Sprintf("block %s (3 deployments)", model(req))}}, nil
				},
				Apply: func(_ context.Context, req *sdk.Request) (any, error) {
					return map[string]any{"model": model(req), "blocked": true, "deployments": 3}, nil
				},
			},
		},
	})
}
