// Package builtin lists the plugins compiled into the runbook binary, in one
// place, so that every command sees the same set.
package builtin

import (
	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/fallback"
	"github.com/runbookdev/runbook/plugins/http"
	"github.com/runbookdev/runbook/plugins/index"
	"github.com/runbookdev/runbook/plugins/prometheus"
	"github.com/runbookdev/runbook/plugins/prompt"
	"github.com/runbookdev/runbook/plugins/shell"
)

// Plugins returns the built-in plugins.
func Plugins() []*plugins.Builtin {
	return []*plugins.Builtin{
		{Name: "fallback", Schema: fallback.Schema, New: fallback.New},
		{Name: "http", Schema: http.Schema, New: http.New},
		{Name: "index", Schema: index.Schema, New: index.New},
		{Name: "prometheus", Schema: prometheus.Schema, New: prometheus.New},
		{Name: "prompt", Schema: prompt.Schema, New: prompt.New},
		{Name: "shell", Schema: shell.Schema, New: shell.New},
	}
}

// Registry returns a registry of the built-in plugins.
func Registry() *plugins.Registry {
	r, err := plugins.NewRegistry(Plugins()...)
	if err != nil {
		// The built-in schemas are part of the binary; a bad one is a bug
		// that the tests catch.
		panic(err)
	}
	return r
}
