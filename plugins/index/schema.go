package index

import (
	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/sdk"
)

var buildOutput = cty.Object(map[string]cty.Type{
	"name":             cty.String,
	"version":          cty.String,
	"doc_count":        cty.Number,
	"previous_version": cty.String,
})

func nameArg() *plugins.Attribute {
	return &plugins.Attribute{Name: "name", Type: cty.String, Required: true, Description: "Index name."}
}

// Schema is the index plugin's contract (docs/builtins.md, "index").
var Schema = compiled.Schema

// compiled is the index plugin as the SDK serves it in process.
var compiled = sdk.Compile(func() sdk.Plugin { return definition(&plugin{}) })

// definition declares the index plugin's configuration and actions on the
// SDK's action table, their handlers bound to p.
func definition(p *plugin) sdk.Plugin {
	return sdk.Plugin{
		Name:        "index",
		Configure:   p.configure,
		Close:       p.close,
		Predicts:    true,
		ChecksPlans: true,
		Config: []*plugins.Attribute{
			{Name: "backend", Type: cty.String, Default: cty.StringVal("file"), Description: "Where indexes live: \"file\" (a folder of builds) or \"postgres\" (a table per build behind a view)."},
			{Name: "path", Type: cty.String, Path: true, Description: "The index folder, for the file backend."},
			{Name: "dsn", Type: cty.String, Sensitive: true, Description: "PostgreSQL connection string (URL or key=value), for the postgres backend."},
			{Name: "schema", Type: cty.String, Default: cty.StringVal(defaultPGSchema), Description: "PostgreSQL schema that holds the indexes' views, build tables and metadata, for the postgres backend."},
			{Name: "build_command", Type: cty.String, Description: "A command that builds an index from a source into an empty folder, writing manifest.json."},
			{Name: "keep", Type: cty.Number, Default: cty.NumberIntVal(5), Description: "How many builds to keep."},
		},
		Actions: []*sdk.Action{
			{
				Name:        "status",
				Description: "Read the live build and the builds kept.",
				ReadOnly:    true,
				Args:        []*plugins.Attribute{nameArg()},
				Output: cty.Object(map[string]cty.Type{
					"name":           cty.String,
					"active_version": cty.String,
					"doc_count":      cty.Number,
					"versions":       cty.List(cty.String),
				}),
				Apply: p.apply(p.readStatus),
			},
			{
				Name:        "rebuild",
				Description: "Build a new version from a source, verify it, and make it live.",
				Args: []*plugins.Attribute{
					nameArg(),
					{Name: "source", Type: cty.String, Required: true, Path: true, Description: "Folder of .txt, .md and .jsonl documents."},
					{Name: "min_docs", Type: cty.Number, Default: cty.NumberIntVal(1), Description: "Refuse a build with fewer documents."},
					{Name: "max_shrink", Type: cty.Number, Default: cty.NumberFloatVal(0.5), Description: "Refuse a build that loses more than this fraction of the live build's documents."},
				},
				Output: buildOutput,
				Plan:   p.planRebuild,
				Apply:  p.apply(p.rebuild),
			},
			{
				Name:        "rollback",
				Description: "Make the previous build live again.",
				Args:        []*plugins.Attribute{nameArg()},
				Output:      buildOutput,
				Plan:        p.planRollback,
				Apply:       p.apply(p.rollback),
			},
		},
	}
}
