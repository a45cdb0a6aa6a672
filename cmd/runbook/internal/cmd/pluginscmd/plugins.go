package pluginscmd

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

	"github.com/runbookdev/runbook/cmd/runbook/internal/build"
	"github.com/runbookdev/runbook/cmd/runbook/internal/cmdutil"
	"github.com/runbookdev/runbook/cmd/runbook/internal/iostreams"
	"github.com/runbookdev/runbook/cmd/runbook/internal/resolver"
	"github.com/runbookdev/runbook/cmd/runbook/internal/text"
	"github.com/runbookdev/runbook/engine/exitcode"
	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/schema"
)

// Options are the inputs of `runbook plugins`.
type Options struct {
	*cmdutil.Factory
	// Names restricts the listing; empty lists every plugin.
	Names []string
}

// NewCmdPlugins makes `runbook plugins` and its subcommands; runF, when not
// nil, runs instead of the command (for tests of the flags).
func NewCmdPlugins(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "plugins [NAME...]",
		Short: "List installed plugins, their actions and argument schemas",
		Long: `List the plugins runbooks can use: the built-in ones, and the external ones
that --dir declares with plugin "NAME" { source = "…", sha256 = "…" } blocks,
as the directory's lock file (runbook.lock.hcl) records them: this command
runs no plugin binary (see 'runbook plugins lock').
For each: its version, configuration attributes, and every action with
whether it is read-only, its arguments and its output.`,
		Args: cmdutil.UsageArgs(cobra.ArbitraryArgs),
		RunE: cmdutil.RunE(func(cmd *cobra.Command, args []string) error {
			opts.Names = args
			if runF != nil {
				return runF(opts)
			}
			return runPlugins(opts)
		}),
	}
	cmd.AddCommand(NewCmdLock(f, nil), NewCmdPin(f, nil))
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

func runPlugins(opts *Options) error {
	entries := collectPlugins(opts.Factory)
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
				return cmdutil.Exitf(exitcode.BadInput, "no plugin named %q%s", n, pluginSuggestion(n, names))
			}
			picked = append(picked, byName[n]...)
		}
		entries = picked
	}
	if err := renderPlugins(opts.IO.Out, opts.IO.ColorScheme(), entries); err != nil {
		return err
	}
	failed := 0
	for _, e := range entries {
		if e.Err != nil {
			failed++
		}
	}
	if failed > 0 {
		return cmdutil.Exitf(exitcode.BadInput, "%d external plugin(s) could not be loaded; see above", failed)
	}
	return nil
}

// collectPlugins lists the built-in plugins, then the external ones --dir
// declares, each group by name.
func collectPlugins(opts *cmdutil.Factory) []pluginEntry {
	var entries []pluginEntry
	for _, name := range opts.Resolver.Registry.Names() {
		entries = append(entries, pluginEntry{Name: name, Version: build.Version(), Schema: opts.Resolver.Registry.Builtin(name).Schema})
	}
	if fi, err := os.Stat(opts.Global.Dir); err != nil || !fi.IsDir() {
		return entries
	}
	// Only the plugin blocks matter here: problems elsewhere in the
	// directory are validate's to report.
	cfg, _ := schema.LoadDir(opts.Global.Dir, schema.Options{})
	if cfg == nil {
		return entries
	}
	src := opts.Resolver.Schemas(resolver.Locked)
	names := make([]string, 0, len(cfg.Plugins))
	for name, decl := range cfg.Plugins {
		if decl.External() {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		decl := cfg.Plugins[name]
		ext := src.Describe(name, decl)
		err, warning := ext.Err, ""
		if ds, ok := err.(hcl.Diagnostics); ok && !ds.HasErrors() && ext.Schema != nil {
			err, warning = nil, ds[0].Summary+": "+ds[0].Detail
		}
		entries = append(entries, pluginEntry{
			Name:     name,
			Version:  ext.Version,
			Source:   decl.Source,
			SHA256:   decl.SHA256,
			Declared: fmt.Sprintf("%s:%d", decl.DeclRange.Filename, decl.DeclRange.Start.Line),
			Schema:   ext.Schema,
			Err:      err,
			Warning:  warning,
		})
	}
	return entries
}

// pluginsWriter renders the listing.
type pluginsWriter struct {
	w   io.Writer
	cs  *iostreams.ColorScheme
	err error
}

func (p *pluginsWriter) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

func renderPlugins(w io.Writer, cs *iostreams.ColorScheme, entries []pluginEntry) error {
	p := &pluginsWriter{w: w, cs: cs}
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
		p.printf("%s %s, built-in\n", p.cs.Bold(e.Name), version)
	} else {
		sum := e.SHA256
		if sum == "" {
			sum = "(none)"
		}
		p.printf("%s %s, external\n", p.cs.Bold(e.Name), version)
		p.table("  ", [][]string{
			{p.cs.Faint("source"), e.Source},
			{p.cs.Faint("sha256"), sum},
			{p.cs.Faint("declared"), e.Declared},
		})
	}
	if e.Err != nil {
		p.printf("  %s %s\n", p.cs.Red("error:"), indentLines(e.Err.Error(), "    "))
		return
	}
	if e.Warning != "" {
		p.printf("  %s %s\n", p.cs.Yellow("warning:"), indentLines(e.Warning, "    "))
	}
	s := e.Schema
	if len(s.Config) > 0 {
		p.printf("  %s\n", p.cs.Bold("Configuration"))
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
		mode = "  " + p.cs.Green("read-only")
	case a.ReadOnlyWhen != nil:
		mode = "  " + p.cs.Yellow(fmt.Sprintf("read-only when %s is %s", a.ReadOnlyWhen.Arg, text.ValuesText(a.ReadOnlyWhen.Values)))
	default:
		mode = "  " + p.cs.Yellow("mutating")
	}
	p.printf("  %s%s\n", p.cs.Bold(plugin+"."+a.Name), mode)
	if a.Description != "" {
		p.printf("    %s\n", a.Description)
	}
	if len(a.Args) > 0 {
		p.printf("    %s\n", p.cs.Faint("arguments"))
		p.attributes("      ", a.Args)
	} else {
		p.printf("    %s\n", p.cs.Faint("no arguments"))
	}
	p.printf("    %s\n", p.cs.Faint("output"))
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
	var t text.Table
	for _, row := range rows {
		t.Row(row...)
	}
	var buf bytes.Buffer
	_ = t.Write(&buf, indent)
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
	if s := cmdutil.Suggestion(name, names); s == "" || strings.HasPrefix(s, "; did you mean") {
		return s
	}
	return "; plugins: " + cmdutil.JoinMax(names, 10)
}
