package schema

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/pluginlock"
	"github.com/runbookdev/runbook/plugins/pluginversion"
	"github.com/runbookdev/runbook/plugins/safefile"
	"github.com/runbookdev/runbook/schema/signers"
)

// SchemaSource finds the schema of a plugin by name. decl is the directory's
// `plugin` block for that name, or nil when there is none. An error that is
// an hcl.Diagnostics is reported as it is (it says where the problem is),
// and when it holds only warnings the schema returned with it is used; any
// other error is reported at the plugin block.
type SchemaSource interface {
	PluginSchema(name string, decl *PluginDecl) (*plugins.Schema, error)
}

// VersionSource is a SchemaSource that also knows the version of an
// external plugin: the one it reported when launched, or the one its lock
// file recorded; "" when it does not know. The loader checks it against
// the plugin block's version constraint and records it in Config.Versions.
type VersionSource interface {
	PluginVersion(name string, decl *PluginDecl) string
}

// ErrUnknownPlugin is returned by a SchemaSource for a name it does not know.
var ErrUnknownPlugin = errors.New("unknown plugin")

// RegistrySource serves the schemas of built-in plugins.
type RegistrySource struct {
	Registry *plugins.Registry
}

// PluginSchema implements SchemaSource.
func (s RegistrySource) PluginSchema(name string, decl *PluginDecl) (*plugins.Schema, error) {
	if decl.External() {
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
	// DevOverrides replace the binary of external plugins by name, for a
	// plugin author's development loop (docs/plugins.md, "Development
	// overrides"): the plugin block's source and sha256 give way to these.
	DevOverrides map[string]DevOverride
}

// DevOverride is a local binary that stands in for an external plugin's.
type DevOverride struct {
	Path   string
	SHA256 string // of Path, as read when the override was loaded
}

// IsTestFile reports whether a file holds `test` blocks rather than runbooks.
func IsTestFile(name string) bool { return strings.HasSuffix(name, ".test.hcl") }

// LoadDir loads every *.hcl file directly inside dir.
func LoadDir(dir string, opts Options) (*Config, hcl.Diagnostics) {
	names, diags := listDir(dir)
	if diags != nil {
		return nil, diags
	}
	return LoadPaths(names, opts)
}

func listDir(dir string) ([]string, hcl.Diagnostics) {
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
	return names, nil
}

// ListFiles returns the *.hcl files directly inside dir, sorted, but not the
// plugin lock file (runbook.lock.hcl), which holds no runbooks.
func ListFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".hcl") || strings.HasPrefix(e.Name(), ".") || e.Name() == pluginlock.FileName {
			continue
		}
		names = append(names, filepath.Join(dir, e.Name()))
	}
	return names, nil
}

// LoadPaths reads and loads the named files as one set.
func LoadPaths(names []string, opts Options) (*Config, hcl.Diagnostics) {
	srcs := make([]Source, len(names))
	for i, name := range names {
		srcs[i] = Source{Name: name}
	}
	return newLoader(opts, true, true).load(srcs)
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
	return newLoader(opts, false, true).load(srcs)
}

// Validate checks a set of files like Load, but keeps no more than it needs
// to report: each file is parsed, decoded and checked by one worker, and its
// syntax tree is dropped unless the file has diagnostics (kept for their
// snippets) or declares plugins, so memory stays flat however many runbooks
// there are. The Config holds those files and the plugin declarations, and
// no runbooks; Validated counts them.
func Validate(srcs []Source, opts Options) (*Config, hcl.Diagnostics) {
	return newLoader(opts, false, false).load(srcs)
}

// ValidatePaths is Validate of the named files, each read by its worker.
func ValidatePaths(names []string, opts Options) (*Config, hcl.Diagnostics) {
	srcs := make([]Source, len(names))
	for i, name := range names {
		srcs[i] = Source{Name: name}
	}
	return newLoader(opts, true, false).load(srcs)
}

// ValidateDir is Validate of every *.hcl file directly inside dir.
func ValidateDir(dir string, opts Options) (*Config, hcl.Diagnostics) {
	names, diags := listDir(dir)
	if diags != nil {
		return nil, diags
	}
	return ValidatePaths(names, opts)
}

// loader runs the pipeline shared by Load and Validate.
type loader struct {
	opts     Options
	fromDisk bool // Sources name files to read
	keep     bool // keep every tree and runbook (Load), or only what is needed (Validate)

	mu       sync.Mutex
	builtins map[string]*plugins.Schema // by name; nil = not resolvable without a plugin block
	bodies   sync.Map                   // *plugins.Action → *hcl.BodySchema
}

func newLoader(opts Options, fromDisk, keep bool) *loader {
	return &loader{opts: opts, fromDisk: fromDisk, keep: keep, builtins: map[string]*plugins.Schema{}}
}

// builtin returns the schema a plugin has when no plugin block declares it,
// or nil.
func (l *loader) builtin(name string) *plugins.Schema {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ok := l.builtins[name]
	if !ok {
		if l.opts.Schemas != nil {
			s, _ = l.opts.Schemas.PluginSchema(name, nil)
		}
		l.builtins[name] = s
	}
	return s
}

// bodySchema returns the body schema of an action's arguments, built once.
func (l *loader) bodySchema(a *plugins.Action) *hcl.BodySchema {
	if bs, ok := l.bodies.Load(a); ok {
		return bs.(*hcl.BodySchema)
	}
	bs, _ := l.bodies.LoadOrStore(a, AttributesBodySchema(a.Args))
	return bs.(*hcl.BodySchema)
}

// fileResult is what the pipeline keeps of one file.
type fileResult struct {
	file  *hcl.File // nil once dropped
	decl  *fileDecl // nil once dropped; plugin blocks are always kept
	names []namedRange
	// uses holds the first use of each plugin an action names.
	uses map[string]hcl.Range
	// checked is set when the runbooks were checked against the plugins'
	// block-less schemas; deferred runbooks wait for every plugin block.
	checked bool
	diags   hcl.Diagnostics
	// tests are the test blocks of a *.test.hcl file.
	tests []*TestCase
	// infos summarize the file's runbooks for checking tests.
	infos map[string]*runbookInfo
}

type namedRange struct {
	name string
	rng  hcl.Range
}

// loadFile parses, decodes and, when every plugin its actions use is known
// without a plugin block, checks one file.
func (l *loader) loadFile(src Source) (res fileResult) {
	defer recoverDiag(src.Name, &res.diags)
	if filepath.Base(src.Name) == SignersFileName {
		return res // not HCL: loadSigners reads it
	}
	if l.fromDisk {
		b, diags := readSource(src.Name)
		if diags != nil {
			res.diags = diags
			return res
		}
		src.Bytes = b
	}
	file, diags := ParseHCL(src.Bytes, src.Name)
	res.file, res.diags = file, diags
	if diags.HasErrors() {
		return res
	}
	if IsTestFile(src.Name) {
		// Tests are checked once every runbook is known.
		tests, d := decodeTestFile(file, src.Name)
		res.tests = tests
		res.diags = append(res.diags, d...)
		return res
	}
	decl, d := decodeFile(file, src.Name)
	res.decl = decl
	res.diags = append(res.diags, d...)
	if l.noteUses(&res, decl) {
		c := l.checker(l.builtin, nil)
		for _, rb := range decl.runbooks {
			res.diags = append(res.diags, c.checkRunbook(rb)...)
		}
		res.checked = true
		res.infos = map[string]*runbookInfo{}
		for _, rb := range decl.runbooks {
			res.infos[rb.Name] = infoOf(rb)
		}
	}
	if !l.keep && res.checked {
		if len(res.diags) == 0 && len(decl.plugins) == 0 {
			res.file = nil
		}
		res.decl = &fileDecl{plugins: decl.plugins, teams: decl.teams, notify: decl.notify}
	}
	return res
}

// collectTeams gathers the team blocks of every file, each name once.
func collectTeams(cfg *Config, results []fileResult) hcl.Diagnostics {
	var diags hcl.Diagnostics
	cfg.Teams = map[string]*Team{}
	for _, r := range results {
		if r.decl == nil {
			continue
		}
		for _, t := range r.decl.teams {
			if prev, dup := cfg.Teams[t.Name]; dup {
				diags = append(diags, duplicate("team", t.Name, prev.DeclRange, t.DeclRange))
				continue
			}
			cfg.Teams[t.Name] = t
		}
	}
	return diags
}

// readSource reads a source file, at most MaxSourceSize bytes.
func readSource(name string) ([]byte, hcl.Diagnostics) {
	return readBounded(name, MaxSourceSize, "Cannot read file")
}

// readSigners reads an allowed_signers file, at most signers.MaxSize bytes.
func readSigners(name string) ([]byte, hcl.Diagnostics) {
	return readBounded(name, signers.MaxSize, "Cannot read allowed_signers")
}

// readBounded reads a file of at most max bytes; summary heads the
// diagnostic of one that cannot be read.
func readBounded(name string, max int64, summary string) ([]byte, hcl.Diagnostics) {
	b, err := safefile.ReadFile(name, max)
	if err != nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  summary,
			Detail:   err.Error(),
			Subject:  &hcl.Range{Filename: name, Start: hcl.InitialPos, End: hcl.InitialPos},
		}}
	}
	return b, nil
}

// noteUses records the names of decl's runbooks and the first use of each
// plugin in res; it says whether every plugin used is known without a
// plugin block, so that the file can be checked at once.
func (l *loader) noteUses(res *fileResult, decl *fileDecl) (resolvable bool) {
	res.uses = map[string]hcl.Range{}
	resolvable = true
	for _, rb := range decl.runbooks {
		res.names = append(res.names, namedRange{rb.Name, rb.DeclRange})
		for _, s := range rb.Steps {
			if s.Action == nil {
				continue
			}
			if _, seen := res.uses[s.Action.Plugin]; !seen {
				res.uses[s.Action.Plugin] = s.Action.LabelRange
				resolvable = resolvable && l.builtin(s.Action.Plugin) != nil
			}
		}
	}
	return resolvable
}

func (l *loader) load(srcs []Source) (*Config, hcl.Diagnostics) {
	cfg := &Config{
		Files:    make(map[string]*hcl.File, len(srcs)),
		Plugins:  map[string]*PluginDecl{},
		Schemas:  map[string]*plugins.Schema{},
		Versions: map[string]string{},
	}
	results := make([]fileResult, len(srcs))
	parallel(len(srcs), func(i int) { results[i] = l.loadFile(srcs[i]) })

	diags := l.collectPlugins(cfg, results)
	diags = append(diags, collectTeams(cfg, results)...)
	diags = append(diags, l.loadSigners(cfg, srcs)...)
	schemas, failed, d := l.resolveDeclared(cfg.Plugins)
	diags = append(diags, d...)
	diags = append(diags, l.checkVersions(cfg, schemas, failed)...)
	l.adoptSourceFiles(cfg)
	l.recheckReplaced(srcs, results, cfg, schemas, failed)

	lookup := func(name string) *plugins.Schema {
		if s, ok := schemas[name]; ok || cfg.Plugins[name] != nil {
			return s
		}
		return l.builtin(name)
	}
	var known []string
	if n, ok := l.opts.Schemas.(interface{ PluginNames() []string }); ok {
		known = n.PluginNames()
	}
	c := l.checker(lookup, failed)
	c.knownPlugins = append(known, slices.Sorted(maps.Keys(cfg.Plugins))...)
	deferred, checked := checkDeferred(c, results)

	m := l.merge(cfg, srcs, results, deferred)
	diags = append(diags, m.diags...)
	for _, d := range checked {
		diags = append(diags, d...)
	}
	diags = append(diags, checkPluginUse(cfg, m.firstUse, lookup, schemas)...)
	diags = append(diags, checkTests(cfg, m.infos)...)
	diags = append(diags, checkApprovals(cfg, m.infos)...)
	diags = append(diags, collectNotify(cfg, results, m.infos)...)
	SortDiagnostics(diags)
	return cfg, diags
}

// collectPlugins gathers the plugin blocks of every file, each name once,
// with the user's development overrides applied.
func (l *loader) collectPlugins(cfg *Config, results []fileResult) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, r := range results {
		if r.decl == nil {
			continue
		}
		for _, p := range r.decl.plugins {
			if prev, dup := cfg.Plugins[p.Name]; dup {
				diags = append(diags, duplicate("plugin", p.Name, prev.DeclRange, p.DeclRange))
				continue
			}
			if o, ok := l.opts.DevOverrides[p.Name]; ok && p.External() {
				p.Source, p.SHA256, p.DevOverride = o.Path, o.SHA256, true
			}
			cfg.Plugins[p.Name] = p
		}
	}
	return diags
}

// adoptSourceFiles adds the files the schema source reported problems in
// (a plugin lock file), for the snippets of those diagnostics.
func (l *loader) adoptSourceFiles(cfg *Config) {
	fs, ok := l.opts.Schemas.(interface{ Files() map[string]*hcl.File })
	if !ok {
		return
	}
	for name, f := range fs.Files() {
		if _, own := cfg.Files[name]; !own {
			cfg.Files[name] = f
		}
	}
}

// recheckReplaced loads again, unchecked, the files that were checked
// against a built-in's schema when a plugin block replaces that built-in
// with an external plugin (or its schema could not be had).
func (l *loader) recheckReplaced(srcs []Source, results []fileResult, cfg *Config, schemas map[string]*plugins.Schema, failed map[string]bool) {
	for i := range results {
		r := &results[i]
		if !r.checked {
			continue
		}
		for name := range r.uses {
			if decl := cfg.Plugins[name]; decl != nil && (schemas[name] != l.builtin(name) || failed[name]) {
				*r = newLoader(l.opts, l.fromDisk, true).loadFileUnchecked(srcs[i])
				break
			}
		}
	}
}

// checkDeferred checks the runbooks whose files were not checked when
// loaded, now that every plugin block is known.
func checkDeferred(c *checker, results []fileResult) ([]*Runbook, []hcl.Diagnostics) {
	var deferred []*Runbook
	for _, r := range results {
		if !r.checked && r.decl != nil {
			deferred = append(deferred, r.decl.runbooks...)
		}
	}
	checked := make([]hcl.Diagnostics, len(deferred))
	parallel(len(deferred), func(i int) {
		defer recoverDiag(deferred[i].Filename, &checked[i])
		checked[i] = c.checkRunbook(deferred[i])
	})
	return deferred, checked
}

// merged is what the files' results add up to.
type merged struct {
	diags hcl.Diagnostics
	// infos describe each runbook, by name, for the tests' checks.
	infos map[string]*runbookInfo
	// firstUse is where each plugin is first used.
	firstUse map[string]hcl.Range
}

// merge puts the files' results into cfg: their files, tests and
// (keeping them) runbooks, each runbook name once, and the summaries.
func (l *loader) merge(cfg *Config, srcs []Source, results []fileResult, deferred []*Runbook) merged {
	m := merged{infos: map[string]*runbookInfo{}, firstUse: map[string]hcl.Range{}}
	for _, rb := range deferred {
		if _, ok := m.infos[rb.Name]; !ok {
			m.infos[rb.Name] = infoOf(rb)
		}
	}
	runbookRanges := map[string]hcl.Range{}
	for i, r := range results {
		for name, info := range r.infos {
			if _, ok := m.infos[name]; !ok {
				m.infos[name] = info
			}
		}
		cfg.Tests = append(cfg.Tests, r.tests...)
		m.diags = append(m.diags, r.diags...)
		if r.file != nil {
			cfg.Files[srcs[i].Name] = r.file
		}
		for _, n := range r.names {
			if prev, dup := runbookRanges[n.name]; dup {
				m.diags = append(m.diags, duplicate("runbook", n.name, prev, n.rng))
				continue
			}
			runbookRanges[n.name] = n.rng
		}
		for _, name := range slices.Sorted(maps.Keys(r.uses)) {
			if _, seen := m.firstUse[name]; !seen {
				m.firstUse[name] = r.uses[name]
			}
		}
		if l.keep && r.decl != nil {
			for _, rb := range r.decl.runbooks {
				if runbookRanges[rb.Name] == rb.DeclRange {
					cfg.Runbooks = append(cfg.Runbooks, rb)
				}
			}
		}
	}
	sort.Slice(cfg.Runbooks, func(i, j int) bool { return cfg.Runbooks[i].Name < cfg.Runbooks[j].Name })
	cfg.Validated = len(runbookRanges)
	cfg.Declared = runbookRanges
	for _, name := range slices.Sorted(maps.Keys(runbookRanges)) {
		if info := m.infos[name]; info != nil {
			cfg.Summaries = append(cfg.Summaries, info.summary)
		}
	}
	return m
}

// checkPluginUse records the schema of every plugin used and checks that
// one needing configuration has a plugin block, and every block's
// configuration.
func checkPluginUse(cfg *Config, firstUse map[string]hcl.Range, lookup func(string) *plugins.Schema, schemas map[string]*plugins.Schema) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, name := range slices.Sorted(maps.Keys(firstUse)) {
		s := lookup(name)
		if s != nil {
			cfg.Schemas[name] = s
		}
		if s == nil || cfg.Plugins[name] != nil {
			continue
		}
		diags = append(diags, missingConfig(name, s, firstUse[name])...)
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.Plugins)) {
		diags = append(diags, checkPluginConfig(cfg.Plugins[name], schemas[name])...)
	}
	return diags
}

// checkTests checks each test, each name once per runbook.
func checkTests(cfg *Config, infos map[string]*runbookInfo) hcl.Diagnostics {
	var diags hcl.Diagnostics
	testNames := map[string]hcl.Range{}
	for _, tc := range cfg.Tests {
		key := tc.Runbook + "\x00" + tc.Name
		if prev, dup := testNames[key]; dup {
			diags = append(diags, duplicate("test", tc.Name, prev, tc.DeclRange))
			continue
		}
		testNames[key] = tc.DeclRange
		diags = append(diags, checkTest(tc, infos)...)
	}
	return diags
}

// loadFileUnchecked is loadFile without the early check: the file's
// runbooks wait for every plugin block.
func (l *loader) loadFileUnchecked(src Source) fileResult {
	l.builtins = map[string]*plugins.Schema{}
	l.opts.Schemas = nil
	return l.loadFile(src)
}

// resolveDeclared finds the schema of every plugin a plugin block declares.
func (l *loader) resolveDeclared(decls map[string]*PluginDecl) (map[string]*plugins.Schema, map[string]bool, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	schemas := map[string]*plugins.Schema{}
	failed := map[string]bool{}
	for _, name := range slices.Sorted(maps.Keys(decls)) {
		decl := decls[name]
		err := ErrUnknownPlugin
		var s *plugins.Schema
		if l.opts.Schemas != nil {
			s, err = l.opts.Schemas.PluginSchema(name, decl)
		}
		if err == nil {
			schemas[name] = s
			continue
		}
		// A source that knows where the problem is says so itself; with
		// warnings only, the schema it gave is used.
		var positioned hcl.Diagnostics
		if errors.As(err, &positioned) {
			diags = append(diags, positioned...)
			if s != nil && !positioned.HasErrors() {
				schemas[name] = s
			} else {
				failed[name] = true
			}
			continue
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
	return schemas, failed, diags
}

// checkVersions records the version of each external plugin the source
// knows, and checks it against the plugin block's constraint.
func (l *loader) checkVersions(cfg *Config, schemas map[string]*plugins.Schema, failed map[string]bool) hcl.Diagnostics {
	vs, ok := l.opts.Schemas.(VersionSource)
	if !ok {
		return nil
	}
	var diags hcl.Diagnostics
	for _, name := range slices.Sorted(maps.Keys(cfg.Plugins)) {
		decl := cfg.Plugins[name]
		if !decl.External() || failed[name] || schemas[name] == nil {
			continue
		}
		version := vs.PluginVersion(name, decl)
		if version != "" {
			cfg.Versions[name] = version
		}
		// A development override runs the author's own build, whatever
		// its version (as Terraform's dev_overrides do).
		if decl.Version == nil || decl.DevOverride {
			continue
		}
		detail := ""
		switch v, err := pluginversion.Parse(version); {
		case version == "":
			detail = fmt.Sprintf("Plugin %q reports no version, so the plugin block's version = %q cannot be checked. Remove the constraint, or use a release of the plugin that reports its version.", name, decl.Version.String())
		case err != nil:
			detail = fmt.Sprintf("Plugin %q reports version %q, which is not a version number, so the plugin block's version = %q cannot be checked.", name, version, decl.Version.String())
		case !decl.Version.Allows(v):
			detail = fmt.Sprintf("Plugin %q reports version %s, which the plugin block's version = %q does not allow. Install a version it allows (and update source and sha256, then run `runbook plugins lock`), or change the constraint.", name, version, decl.Version.String())
		default:
			continue
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Plugin version not allowed",
			Detail:   detail,
			Subject:  decl.VersionRange.Ptr(),
		})
	}
	return diags
}

func missingConfig(name string, s *plugins.Schema, use hcl.Range) hcl.Diagnostics {
	var required []string
	for _, a := range s.Config {
		if a.Required {
			required = append(required, a.Name)
		}
	}
	if len(required) == 0 {
		return nil
	}
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Missing plugin configuration",
		Detail:   fmt.Sprintf("Plugin %q needs %s; add a plugin %q { … } block to a file in this directory.", name, strings.Join(required, ", "), name),
		Subject:  &use,
	}}
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
