// Package fallback is the built-in plugin that switches a model route between
// its primary and fallback variants, in a flagd flag file (OpenFeature). It
// owns the actions' contract, the Backend interface routes are kept behind,
// and the embedded file backend: one flag per route, changed one
// defaultVariant at a time with every other byte kept, validated against
// flagd's own schema before and after, under a lock, written atomically and
// recorded in FILE.history.jsonl. The etcd backend keeps the same flag
// objects one per key and switches them by compare-and-swap (EtcdBackend).
//
// flagd's schema is checked by a validator of the package's own
// (internal/draft07), not by a general JSON Schema library: the one it
// replaces cost every runbook process 16 ms of CPU at start-up, flag file
// or not. It implements exactly the keywords flagd's schema uses, refuses
// to compile any other, and the tests hold its verdicts to that library's.
package fallback

import (
	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/sdk"
)

var routeOutput = cty.Object(map[string]cty.Type{
	"route":    cty.String,
	"active":   cty.String,
	"model":    cty.String,
	"variants": cty.Map(cty.String),
})

func routeArg() *plugins.Attribute {
	return &plugins.Attribute{Name: "route", Type: cty.String, Required: true, Description: "Route (flag) name."}
}

// Schema is the fallback plugin's contract (docs/builtins.md, "fallback").
var Schema = compiled.Schema

// compiled is the fallback plugin as the SDK serves it in process.
var compiled = sdk.Compile(func() sdk.Plugin { return definition(&plugin{}) })

// definition declares the fallback plugin's configuration and actions on
// the SDK's action table, their handlers bound to p.
func definition(p *plugin) sdk.Plugin {
	return sdk.Plugin{
		Name:        "fallback",
		Configure:   p.configure,
		Close:       p.close,
		Predicts:    true,
		ChecksPlans: true,
		Config: []*plugins.Attribute{
			{Name: "backend", Type: cty.String, Default: cty.StringVal("file"), Description: "Where routes live: \"file\" (a flagd flag file) or \"etcd\" (one key per route)."},
			{Name: "path", Type: cty.String, Path: true, Description: "The flagd flag file, for the file backend."},
			{Name: "endpoints", Type: cty.List(cty.String), Description: "etcd client endpoints (HOST:PORT or http(s)://HOST:PORT), for the etcd backend."},
			{Name: "prefix", Type: cty.String, Description: "etcd key prefix, for the etcd backend: route R is the key PREFIX/R, holding the flag object flagd has under flags.R."},
			{Name: "ca_file", Type: cty.String, Path: true, Description: "PEM CA bundle that verifies the etcd servers (TLS), for the etcd backend."},
			{Name: "cert_file", Type: cty.String, Path: true, Description: "PEM client certificate for etcd (TLS), with key_file."},
			{Name: "key_file", Type: cty.String, Path: true, Description: "PEM private key of cert_file."},
			{Name: "username", Type: cty.String, Description: "etcd user (etcd auth), for the etcd backend."},
			{Name: "password", Type: cty.String, Sensitive: true, Description: "Password of the etcd user."},
			{Name: "dial_timeout", Type: cty.String, Description: "How long to wait for the etcd cluster to answer when connecting (default \"5s\")."},
		},
		Actions: []*sdk.Action{
			{
				Name:        "status",
				Description: "Read which variant a route serves.",
				ReadOnly:    true,
				Args:        []*plugins.Attribute{routeArg()},
				Output:      routeOutput,
				Plan:        p.planStatus,
				Apply:       p.applyStatus,
			},
			{
				Name:        "activate",
				Description: "Switch a route to its fallback (or another) variant.",
				Args: []*plugins.Attribute{
					routeArg(),
					{Name: "target", Type: cty.String, Default: cty.StringVal(""), Description: "Variant to activate; empty = \"fallback\"."},
				},
				Output: routeOutput,
				Plan:   p.planSwitch(activateTarget),
				Apply:  p.applySwitch(activateTarget),
			},
			{
				Name:        "deactivate",
				Description: "Switch a route back to its primary variant.",
				Args:        []*plugins.Attribute{routeArg()},
				Output:      routeOutput,
				Plan:        p.planSwitch(primaryTarget),
				Apply:       p.applySwitch(primaryTarget),
			},
		},
	}
}
