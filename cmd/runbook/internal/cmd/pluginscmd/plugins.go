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
	"github.com/runbookdev/runbook/engine/redact"
	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/schema"
)

// Options are the inputs of `runbook plugins`.
type Options struct {
	*cmdutil.Factory
	// Names restricts the listing; empty lists every plugin.
	Names []string
	// Format is text or json.
	Format string
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
			return cmdutil.Run(opts, runF, runPlugins)
		}),
	}
	cmdutil.AddFormatFlag(cmd, &opts.Format, "text", "json")
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
	if err := cmdutil.CheckFormat(opts.Format, "text", "json"); err != nil {
		return err
	}
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
	var err error
	if opts.Format == "json" {
		err = cmdutil.WriteJSON(opts.IO.Out, pluginsJSONOf(entries))
	} else {
		err = renderPlugins(opts.IO.Out, opts.IO.ColorScheme(), entries)
	}
	if err != nil {
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

// pluginsJSON is `plugins --format json` (docs/commands.md, "JSON output").
type pluginsJSON struct {
	Plugins []pluginJSON `json:"plugins"`
}

type pluginJSON struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	// Kind is "built-in" or "external"; Source, SHA256 and Declared are
	// an external plugin's binary and the place of its plugin block.
	Kind     string `json:"kind"`
	Source   string `json:"source,omitempty"`
	SHA256   string `json:"sha256,omitempty"`
	Declared string `json:"declared,omitempty"`
	// Error is why an external plugin's schema could not be had; the
	// configuration and actions are then empty.
	Error   string          `json:"error,omitempty"`
	Warning string          `json:"warning,omitempty"`
	Config  []attributeJSON `json:"config"`
	Actions []actionJSON    `json:"actions"`
}

type actionJSON struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	ReadOnly    bool   `json:"read_only"`
	// ReadOnlyWhen is the argument values that make a mutating action
	// read-only (HCL literals), when there are such.
	ReadOnlyWhen *readOnlyWhenJSON `json:"read_only_when,omitempty"`
	Args         []attributeJSON   `json:"args"`
	// Output is the type of the action's result, as the language writes it.
	Output string `json:"output"`
}

type readOnlyWhenJSON struct {
	Arg    string   `json:"arg"`
	Values []string `json:"values"`
}

type attributeJSON struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Description string `json:"description"`
	Required    bool   `json:"required"`
	// Default is the default as an HCL literal; the sensitive marker for a
	// sensitive one; absent when there is none.
	Default    *string  `json:"default,omitempty"`
	Sensitive  bool     `json:"sensitive"`
	Path       bool     `json:"path"`
	Validators []string `json:"validators"`
}

func pluginsJSONOf(entries []pluginEntry) pluginsJSON {
	out := pluginsJSON{Plugins: []pluginJSON{}}
	for _, e := range entries {
		j := pluginJSON{Name: e.Name, Version: e.Version, Kind: "built-in", Source: e.Source, SHA256: e.SHA256,
			Declared: e.Declared, Warning: e.Warning, Config: []attributeJSON{}, Actions: []actionJSON{}}
		if e.Source != "" {
			j.Kind = "external"
		}
		if e.Err != nil {
			j.Error = e.Err.Error()
		}
		if e.Schema != nil && e.Err == nil {
			j.Config = attributesJSON(e.Schema.Config)
			for _, name := range e.Schema.ActionNames() {
				j.Actions = append(j.Actions, actionJSONOf(e.Schema.Actions[name]))
			}
		}
		out.Plugins = append(out.Plugins, j)
	}
	return out
}

func actionJSONOf(a *plugins.Action) actionJSON {
	j := actionJSON{Name: a.Name, Description: a.Description, ReadOnly: a.ReadOnly, Args: attributesJSON(a.Args), Output: typeText(a.Output)}
	if r := a.ReadOnlyWhen; r != nil {
		j.ReadOnlyWhen = &readOnlyWhenJSON{Arg: r.Arg, Values: []string{}}
		for _, v := range r.Values {
			j.ReadOnlyWhen.Values = append(j.ReadOnlyWhen.Values, valueText(v))
		}
	}
	return j
}

func attributesJSON(attrs []*plugins.Attribute) []attributeJSON {
	out := []attributeJSON{}
	for _, a := range attrs {
		j := attributeJSON{Name: a.Name, Type: typeText(a.Type), Description: a.Description, Required: a.Required,
			Sensitive: a.Sensitive, Path: a.Path, Validators: []string{}}
		if a.Default != cty.NilVal {
			d := redact.Marker
			if !a.Sensitive {
				d = valueText(a.Default)
			}
			j.Default = &d
		}
		for _, v := range a.Validators {
			j.Validators = append(j.Validators, v.String())
		}
		out = append(out, j)
	}
	return out
}
