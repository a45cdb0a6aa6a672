package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/spf13/cobra"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/schema"
)

// pluginsOptions are the inputs of `runbook plugins`.
type pluginsOptions struct {
	// Names restricts the listing; empty lists every plugin.
	Names []string
}

func (a *app) pluginsCmd() *cobra.Command {
	opts := &pluginsOptions{}
	cmd := &cobra.Command{
		Use:   "plugins [NAME...]",
		Short: "List installed plugins, their actions and argument schemas",
		Long: `List the plugins runbooks can use: the built-in ones, and the external ones
that --dir declares with plugin "NAME" { source = "…", sha256 = "…" } blocks,
as the directory's lock file (runbook.lock.hcl) records them: this command
runs no plugin binary (see 'runbook plugins lock').
For each: its version, configuration attributes, and every action with
whether it is read-only, its arguments and its output.`,
		Args: usageArgs(cobra.ArbitraryArgs),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			opts.Names = args
			return a.runPlugins(opts)
		}),
	}
	cmd.AddCommand(a.pluginsLockCmd(), a.pluginsPinCmd())
	return cmd
}

// pluginEntry is one plugin of the listing.
type pluginEntry struct {
	Name    string
	Version string
	// Source is the binary of an external plugin; "" for a built-in.
	Source string
	SHA256 string
	// Declared is where the plugin block is, "FILE:LINE".
	Declared string
	Schema   *plugins.Schema
	// Err is why an external plugin's schema could not be had.
	Err error
	// Warning is what is worth knowing about a plugin whose schema was had.
	Warning string
}

func (a *app) runPlugins(opts *pluginsOptions) error {
	entries := a.collectPlugins()
	if len(opts.Names) > 0 {
		byName := map[string][]pluginEntry{}
		var names []string
		for _, e := range entries {
			if _, seen := byName[e.Name]; !seen {
				names = append(names, e.Name)
			}
			byName[e.Name] = append(byName[e.Name], e)
		}
		var picked []pluginEntry
		for _, n := range opts.Names {
			if byName[n] == nil {
				return exitf(ExitBadInput, "no plugin named %q%s", n, pluginSuggestion(n, names))
			}
			picked = append(picked, byName[n]...)
		}
		entries = picked
	}
	if err := renderPlugins(a.io.Out, entries); err != nil {
		return err
	}
	failed := 0
	for _, e := range entries {
		if e.Err != nil {
			failed++
		}
	}
	if failed > 0 {
		return exitf(ExitBadInput, "%d external plugin(s) could not be loaded; see above", failed)
	}
	return nil
}

// collectPlugins lists the built-in plugins, then the external ones --dir
// declares, each group by name.
func (a *app) collectPlugins() []pluginEntry {
	var entries []pluginEntry
	for _, name := range a.registry.Names() {
		entries = append(entries, pluginEntry{Name: name, Version: Version(), Schema: a.registry.Builtin(name).Schema})
	}
	if fi, err := os.Stat(a.opts.Dir); err != nil || !fi.IsDir() {
		return entries
	}
	// Only the plugin blocks matter here: problems elsewhere in the
	// directory are validate's to report.
	cfg, _ := schema.LoadDir(a.opts.Dir, schema.Options{})
	if cfg == nil {
		return entries
	}
	src := newPluginSchemas(a.registry, lockedSchemas)
	names := make([]string, 0, len(cfg.Plugins))
	for name, decl := range cfg.Plugins {
		if decl.External() {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		decl := cfg.Plugins[name]
		ext := src.describe(name, decl)
		err, warning := ext.err, ""
		if ds, ok := err.(hcl.Diagnostics); ok && !ds.HasErrors() && ext.schema != nil {
			err, warning = nil, ds[0].Summary+": "+ds[0].Detail
		}
		entries = append(entries, pluginEntry{
			Name:     name,
			Version:  ext.version,
			Source:   decl.Source,
			SHA256:   decl.SHA256,
			Declared: fmt.Sprintf("%s:%d", decl.DeclRange.Filename, decl.DeclRange.Start.Line),
			Schema:   ext.schema,
			Err:      err,
			Warning:  warning,
		})
	}
	return entries
}

// pluginsWriter renders the listing.
type pluginsWriter struct {
	w   io.Writer
	err error
}

func (p *pluginsWriter) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

func renderPlugins(w io.Writer, entries []pluginEntry) error {
	p := &pluginsWriter{w: w}
	for i, e := range entries {
		if i > 0 {
			p.printf("\n")
		}
		p.plugin(e)
	}
	return p.err
}

func (p *pluginsWriter) plugin(e pluginEntry) {
	version := e.Version
	if version == "" {
		version = "(no version)"
	}
	if e.Source == "" {
		p.printf("%s %s, built-in\n", bold(e.Name), version)
	} else {
		sum := e.SHA256
		if sum == "" {
			sum = "(none)"
		}
		p.printf("%s %s, external\n", bold(e.Name), version)
		p.table("  ", [][]string{
			{faint("source"), e.Source},
			{faint("sha256"), sum},
			{faint("declared"), e.Declared},
		})
	}
	if e.Err != nil {
		p.printf("  %s %s\n", red("error:"), indentLines(e.Err.Error(), "    "))
		return
	}
	if e.Warning != "" {
		p.printf("  %s %s\n", yellow("warning:"), indentLines(e.Warning, "    "))
	}
	s := e.Schema
	if len(s.Config) > 0 {
		p.printf("  %s\n", bold("Configuration"))
		p.attributes("    ", s.Config)
	}
	for _, name := range s.ActionNames() {
		p.action(e.Name, s.Actions[name])
	}
}

func (p *pluginsWriter) action(plugin string, a *plugins.Action) {
	mode := ""
	switch {
	case a.ReadOnly:
		mode = "  " + green("read-only")
	case a.ReadOnlyWhen != nil:
		mode = "  " + yellow(fmt.Sprintf("read-only when %s is %s", a.ReadOnlyWhen.Arg, valuesText(a.ReadOnlyWhen.Values)))
	default:
		mode = "  " + yellow("mutating")
	}
	p.printf("  %s%s\n", bold(plugin+"."+a.Name), mode)
	if a.Description != "" {
		p.printf("    %s\n", a.Description)
	}
	if len(a.Args) > 0 {
		p.printf("    %s\n", faint("arguments"))
		p.attributes("      ", a.Args)
	} else {
		p.printf("    %s\n", faint("no arguments"))
	}
	p.printf("    %s\n", faint("output"))
	p.output("      ", a.Output)
}

// attributes prints one line per attribute: name, type and properties,
// description.
func (p *pluginsWriter) attributes(indent string, attrs []*plugins.Attribute) {
	rows := make([][]string, 0, len(attrs))
	for _, a := range attrs {
		props := []string{typeText(a.Type)}
		switch {
		case a.Required:
			props = append(props, "required")
		case a.Default != cty.NilVal && !a.Sensitive:
			props = append(props, "default "+valueText(a.Default))
		case a.Default != cty.NilVal:
			props = append(props, "has a default")
		default:
			props = append(props, "optional")
		}
		if a.Sensitive {
			props = append(props, "sensitive")
		}
		if a.Path {
			props = append(props, "path")
		}
		for _, v := range a.Validators {
			props = append(props, v.String())
		}
		rows = append(rows, []string{a.Name, strings.Join(props, ", "), a.Description})
	}
	p.table(indent, rows)
}

// output prints an action's output type: an object attribute by attribute.
func (p *pluginsWriter) output(indent string, t cty.Type) {
	if !t.IsObjectType() || len(t.AttributeTypes()) == 0 {
		p.printf("%s%s\n", indent, typeText(t))
		return
	}
	names := make([]string, 0, len(t.AttributeTypes()))
	for n := range t.AttributeTypes() {
		names = append(names, n)
	}
	sort.Strings(names)
	rows := make([][]string, 0, len(names))
	for _, n := range names {
		rows = append(rows, []string{n, typeText(t.AttributeType(n))})
	}
	p.table(indent, rows)
}

// table prints aligned columns; empty trailing cells are dropped.
func (p *pluginsWriter) table(indent string, rows [][]string) {
	var t table
	for _, row := range rows {
		t.row(row...)
	}
	var buf bytes.Buffer
	_ = t.write(&buf, indent)
	p.printf("%s", buf.String())
}

// typeText is a type as the language writes it: list(string),
// object({name=string}), any.
func typeText(t cty.Type) string {
	return typeexpr.TypeString(t)
}

// valueText is a value as HCL writes it.
func valueText(v cty.Value) string {
	if v.IsNull() {
		return "null"
	}
	return strings.TrimSpace(string(hclwrite.TokensForValue(v).Bytes()))
}

func indentLines(s, indent string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+indent)
}

// pluginSuggestion is suggestion for plugin names.
func pluginSuggestion(name string, names []string) string {
	if s := suggestion(name, names); s == "" || strings.HasPrefix(s, "; did you mean") {
		return s
	}
	return "; plugins: " + joinMax(names, 10)
}
