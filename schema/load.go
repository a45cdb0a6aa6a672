package schema

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/runbookdev/runbook/plugins"
)

// SchemaSource finds the schema of a plugin by name. decl is the directory's
// `plugin` block for that name, or nil when there is none.
type SchemaSource interface {
	PluginSchema(name string, decl *PluginDecl) (*plugins.Schema, error)
}

// ErrUnknownPlugin is returned by a SchemaSource for a name it does not know.
var ErrUnknownPlugin = errors.New("unknown plugin")

// RegistrySource serves the schemas of built-in plugins.
type RegistrySource struct {
	Registry *plugins.Registry
}

// PluginSchema implements SchemaSource.
func (s RegistrySource) PluginSchema(name string, decl *PluginDecl) (*plugins.Schema, error) {
	if decl != nil && decl.Source != "" {
		return nil, fmt.Errorf("external plugin %q (source %s): external plugins are not supported by this build", name, decl.Source)
	}
	if b := s.Registry.Builtin(name); b != nil {
		return b.Schema, nil
	}
	return nil, ErrUnknownPlugin
}

// PluginNames lists the built-in plugins, for suggestions.
func (s RegistrySource) PluginNames() []string { return s.Registry.Names() }

// Options configure loading.
type Options struct {
	// Schemas resolves plugin schemas; nil checks no action arguments and
	// reports every action as unknown.
	Schemas SchemaSource
}

// IsTestFile reports whether a file holds `test` blocks rather than runbooks.
func IsTestFile(name string) bool { return strings.HasSuffix(name, ".test.hcl") }

// LoadDir loads every *.hcl file directly inside dir.
func LoadDir(dir string, opts Options) (*Config, hcl.Diagnostics) {
	names, err := ListFiles(dir)
	if err != nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read runbook directory",
			Detail:   err.Error(),
		}}
	}
	if len(names) == 0 {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "No runbooks found",
			Detail:   fmt.Sprintf("%s holds no *.hcl files. Point --dir (or RUNBOOK_DIR) at the folder of your runbooks.", dir),
		}}
	}
	return LoadPaths(names, opts)
}

// ListFiles returns the *.hcl files directly inside dir, sorted.
func ListFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".hcl") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		names = append(names, filepath.Join(dir, e.Name()))
	}
	return names, nil
}

// LoadPaths reads and loads the named files as one set.
func LoadPaths(names []string, opts Options) (*Config, hcl.Diagnostics) {
	srcs := make([]Source, len(names))
	var diags hcl.Diagnostics
	var wg sync.WaitGroup
	errs := make([]error, len(names))
	for i, name := range names {
		wg.Go(func() {
			b, err := os.ReadFile(name)
			srcs[i] = Source{Name: name, Bytes: b}
			errs[i] = err
		})
	}
	wg.Wait()
	kept := srcs[:0]
	for i, err := range errs {
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Cannot read file",
				Detail:   err.Error(),
			})
			continue
		}
		kept = append(kept, srcs[i])
	}
	cfg, d := Load(kept, opts)
	return cfg, append(diags, d...)
}

// Source is one file's name and content.
type Source struct {
	Name  string
	Bytes []byte
}

// Load parses and checks a set of files. The Config is returned even when
// there are errors, holding whatever could be decoded, so that diagnostics
// can be rendered with snippets.
func Load(srcs []Source, opts Options) (*Config, hcl.Diagnostics) {
	cfg := &Config{
		Files:   make(map[string]*hcl.File, len(srcs)),
		Plugins: map[string]*PluginDecl{},
		Schemas: map[string]*plugins.Schema{},
	}
	type parsed struct {
		file  *hcl.File
		decl  *fileDecl
		diags hcl.Diagnostics
	}
	results := make([]parsed, len(srcs))
	parallel(len(srcs), func(i int) {
		src := srcs[i]
		defer recoverDiag(src.Name, &results[i].diags)
		file, diags := hclsyntax.ParseConfig(src.Bytes, src.Name, hcl.InitialPos)
		results[i].file = file
		if diags.HasErrors() {
			results[i].diags = diags
			return
		}
		if IsTestFile(src.Name) {
			// Test files are parsed for syntax here; their blocks are
			// checked by the test runner.
			results[i].diags = diags
			return
		}
		decl, d := decodeFile(file, src.Name)
		results[i].decl = decl
		results[i].diags = append(diags, d...)
	})

	var diags hcl.Diagnostics
	runbookRanges := map[string]hcl.Range{}
	for i, r := range results {
		if r.file != nil {
			cfg.Files[srcs[i].Name] = r.file
		}
		diags = append(diags, r.diags...)
		if r.decl == nil {
			continue
		}
		for _, p := range r.decl.plugins {
			if prev, dup := cfg.Plugins[p.Name]; dup {
				diags = append(diags, duplicate("plugin", p.Name, prev.DeclRange, p.DeclRange))
				continue
			}
			cfg.Plugins[p.Name] = p
		}
		for _, rb := range r.decl.runbooks {
			if prev, dup := runbookRanges[rb.Name]; dup {
				diags = append(diags, duplicate("runbook", rb.Name, prev, rb.DeclRange))
				continue
			}
			runbookRanges[rb.Name] = rb.DeclRange
			cfg.Runbooks = append(cfg.Runbooks, rb)
		}
	}
	sort.Slice(cfg.Runbooks, func(i, j int) bool { return cfg.Runbooks[i].Name < cfg.Runbooks[j].Name })

	failed, schemaDiags := resolveSchemas(cfg, opts.Schemas)
	diags = append(diags, schemaDiags...)
	var known []string
	if n, ok := opts.Schemas.(interface{ PluginNames() []string }); ok {
		known = n.PluginNames()
	}
	c := newChecker(cfg, append(known, sortedKeys(cfg.Plugins)...), failed)
	for _, name := range sortedKeys(cfg.Plugins) {
		diags = append(diags, checkPluginConfig(cfg.Plugins[name], cfg.Schemas[name])...)
	}

	checked := make([]hcl.Diagnostics, len(cfg.Runbooks))
	parallel(len(cfg.Runbooks), func(i int) {
		defer recoverDiag(cfg.Runbooks[i].Filename, &checked[i])
		checked[i] = c.checkRunbook(cfg.Runbooks[i])
	})
	for _, d := range checked {
		diags = append(diags, d...)
	}
	SortDiagnostics(diags)
	return cfg, diags
}

// resolveSchemas finds the schema of every plugin that an action names or a
// plugin block declares, once per name.
func resolveSchemas(cfg *Config, src SchemaSource) (map[string]bool, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	failed := map[string]bool{}
	tried := map[string]bool{}
	resolve := func(name string) {
		if tried[name] {
			return
		}
		tried[name] = true
		decl := cfg.Plugins[name]
		var s *plugins.Schema
		err := ErrUnknownPlugin
		if src != nil {
			s, err = src.PluginSchema(name, decl)
		}
		if err == nil {
			cfg.Schemas[name] = s
			return
		}
		if errors.Is(err, ErrUnknownPlugin) && decl == nil {
			// Reported per action, where the name is used.
			return
		}
		failed[name] = true
		summary, detail := "Cannot load plugin", err.Error()
		if errors.Is(err, ErrUnknownPlugin) {
			summary = "Unknown plugin"
			detail = fmt.Sprintf("No built-in plugin is named %q. For an external plugin, give its binary: source = \"PATH\", sha256 = \"…\".", name)
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  summary,
			Detail:   detail,
			Subject:  decl.DeclRange.Ptr(),
		})
	}
	for _, name := range sortedKeys(cfg.Plugins) {
		resolve(name)
	}
	firstUse := map[string]hcl.Range{}
	for _, rb := range cfg.Runbooks {
		for _, s := range rb.Steps {
			if s.Action == nil {
				continue
			}
			resolve(s.Action.Plugin)
			if _, seen := firstUse[s.Action.Plugin]; !seen {
				firstUse[s.Action.Plugin] = s.Action.LabelRange
			}
		}
	}
	// A plugin that needs configuration must have a plugin block.
	for _, name := range sortedKeys(firstUse) {
		schema := cfg.Schemas[name]
		if schema == nil || cfg.Plugins[name] != nil {
			continue
		}
		var required []string
		for _, a := range schema.Config {
			if a.Required {
				required = append(required, a.Name)
			}
		}
		if len(required) > 0 {
			rng := firstUse[name]
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Missing plugin configuration",
				Detail:   fmt.Sprintf("Plugin %q needs %s; add a plugin %q { … } block to a file in this directory.", name, strings.Join(required, ", "), name),
				Subject:  &rng,
			})
		}
	}
	return failed, diags
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// parallel runs fn(0..n-1) on GOMAXPROCS goroutines and waits for them.
func parallel(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var next int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= n {
					return
				}
				fn(i)
			}
		})
	}
	wg.Wait()
}

// recoverDiag turns a panic while loading into an error diagnostic, so that
// no input, however malformed, crashes the binary.
func recoverDiag(filename string, diags *hcl.Diagnostics) {
	if r := recover(); r != nil {
		*diags = append(*diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Internal error",
			Detail:   fmt.Sprintf("runbook failed while reading %s: %v. This is a bug; please report it with the file.", filename, r),
			Subject:  &hcl.Range{Filename: filename, Start: hcl.InitialPos, End: hcl.InitialPos},
		})
	}
}

// SortDiagnostics orders diagnostics by file and position, those without a
// position first, keeping the order of equal ones.
func SortDiagnostics(diags hcl.Diagnostics) {
	sort.SliceStable(diags, func(i, j int) bool {
		a, b := diags[i].Subject, diags[j].Subject
		switch {
		case a == nil || b == nil:
			return a == nil && b != nil
		case a.Filename != b.Filename:
			return a.Filename < b.Filename
		default:
			return a.Start.Byte < b.Start.Byte
		}
	})
}
