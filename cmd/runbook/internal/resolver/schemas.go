package resolver

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/host"
	"github.com/runbookdev/runbook/plugins/pluginlock"
	"github.com/runbookdev/runbook/schema"
)

// externalSchemaTimeout bounds the launch of an external plugin for its
// schema: exec and `plugins lock` must never hang on a plugin that does not
// answer.
const externalSchemaTimeout = 30 * time.Second

// Code says whether a command may start external plugin binaries.
type Code bool

const (
	// Locked: the schemas of external plugins come from the
	// directory's runbook.lock.hcl, and no plugin binary is started
	// (validate, list, show, test, plugins: what CI runs on a pull request).
	Locked Code = false
	// Launch: an external plugin is started, after its checksum is
	// verified, to ask for its schema (exec, which runs it anyway).
	Launch Code = true
)

// Schemas is the CLI's schema.SchemaSource. Built-in schemas come
// from the registry without starting anything. An external plugin (a
// plugin block with source) must have the sha256 its block declares and,
// when the directory's lock file has an entry for it, the lock's; its
// schema is the lock's (Locked), or it is launched through
// plugins/host, asked for its schema and ended (Launch), each binary
// once per Schemas, that is once per load.
type Schemas struct {
	registry *plugins.Registry
	launcher *host.Launcher
	code     Code

	mu       sync.Mutex
	external map[externalKey]*External
	locks    map[string]*dirLock
}

// externalKey identifies an external plugin's binary as declared.
type externalKey struct {
	name, source, sha256 string
}

// External is what is known of an external plugin: its schema and
// version, or why they could not be had (Err; an hcl.Diagnostics of warnings
// only when they were had with something worth knowing).
type External struct {
	Schema  *plugins.Schema
	Version string
	Err     error
}

// dirLock is a directory's lock file as read, and whether its problems
// have been reported yet (once per load, not once per plugin).
type dirLock struct {
	lock     *pluginlock.Lock
	diags    hcl.Diagnostics
	reported bool
}

func newSchemas(registry *plugins.Registry, code Code) *Schemas {
	return &Schemas{
		registry: registry,
		code:     code,
		// No environment: an external plugin sees only what it is given
		// (host.Spec.Env), and describing itself needs nothing.
		launcher: &host.Launcher{Subreaper: true},
		external: map[externalKey]*External{},
		locks:    map[string]*dirLock{},
	}
}

// PluginSchema implements schema.SchemaSource.
func (s *Schemas) PluginSchema(name string, decl *schema.PluginDecl) (*plugins.Schema, error) {
	if !decl.External() {
		return schema.RegistrySource{Registry: s.registry}.PluginSchema(name, decl)
	}
	ext := s.Describe(name, decl)
	return ext.Schema, ext.Err
}

// PluginVersion implements schema.VersionSource: the version an external
// plugin reported when launched (exec, `plugins lock`), or the one the lock
// file recorded for its binary (every other command).
func (s *Schemas) PluginVersion(name string, decl *schema.PluginDecl) string {
	if !decl.External() {
		return ""
	}
	return s.Describe(name, decl).Version
}

// Files returns the lock files read, for the snippets of their diagnostics.
func (s *Schemas) Files() map[string]*hcl.File {
	s.mu.Lock()
	defer s.mu.Unlock()
	files := map[string]*hcl.File{}
	for _, dl := range s.locks {
		if dl.lock.File != nil {
			files[dl.lock.Path] = dl.lock.File
		}
	}
	return files
}

// PluginNames lists the built-in plugins, for suggestions.
func (s *Schemas) PluginNames() []string { return s.registry.Names() }

// Describe finds an external plugin's schema and version, once.
func (s *Schemas) Describe(name string, decl *schema.PluginDecl) *External {
	key := externalKey{name, decl.Source, decl.SHA256}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ext, ok := s.external[key]; ok {
		return ext
	}
	ext := &External{}
	s.external[key] = ext
	if decl.DevOverride {
		// The author's own build, which the lock file cannot know: its
		// schema comes from running it, whatever the command.
		ext.Schema, ext.Version, ext.Err = s.Launch(name, decl)
		return ext
	}
	if decl.SHA256 == "" {
		// The plugin block is wrong first: say that, as exec would.
		ext.Err = host.Verify(name, decl.Source, decl.SHA256)
		return ext
	}
	entry, err := s.lockEntry(name, decl)
	switch {
	case err != nil:
		ext.Err = err
	case s.code == Launch:
		ext.Schema, ext.Version, ext.Err = s.Launch(name, decl)
	default:
		// Hashing the binary runs nothing of it.
		err := host.Verify(name, decl.Source, decl.SHA256)
		switch {
		case entry != nil && errors.Is(err, fs.ErrNotExist):
			// Not installed here (a CI runner): the reviewed lock is
			// enough to check the runbooks; exec will need the binary.
			ext.Schema, ext.Version = entry.Schema, entry.Version
			ext.Err = hcl.Diagnostics{{
				Severity: hcl.DiagWarning,
				Summary:  "Plugin binary not found",
				Detail:   fmt.Sprintf("%s; the runbooks were checked against the schema %s locked for sha256 %s. exec needs the binary.", err, pluginlock.FileName, entry.SHA256),
				Subject:  decl.DeclRange.Ptr(),
			}}
		case err != nil:
			ext.Err = err
		case entry == nil:
			ext.Err = notLocked(name, decl)
		default:
			ext.Schema, ext.Version = entry.Schema, entry.Version
		}
	}
	return ext
}

// lockEntry returns the lock's entry for an external plugin, nil when it has
// none, and an error when the lock file is unusable or locks another
// binary than decl declares. s.mu must be held.
func (s *Schemas) lockEntry(name string, decl *schema.PluginDecl) (*pluginlock.Entry, error) {
	dl := s.locks[decl.Dir]
	if dl == nil {
		dl = &dirLock{}
		dl.lock, dl.diags = pluginlock.Read(decl.Dir)
		s.locks[decl.Dir] = dl
	}
	if dl.diags.HasErrors() {
		if !dl.reported {
			dl.reported = true
			return nil, dl.diags
		}
		return nil, fmt.Errorf("plugin %q: %s is invalid (see its errors); run `runbook plugins lock` to write it again", name, dl.lock.Path)
	}
	entry := dl.lock.Entries[name]
	if entry != nil && entry.SHA256 != decl.SHA256 {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Plugin lock out of date",
			Detail: fmt.Sprintf("The plugin block of %q says sha256 = %q, but %s locked the binary with sha256 %s (%s). If the plugin was updated on purpose, run `runbook plugins lock` and review the new lock file; otherwise restore the plugin block.",
				name, decl.SHA256, dl.lock.Path, entry.SHA256, entry.DeclRange),
			Subject: decl.DeclRange.Ptr(),
		}}
	}
	return entry, nil
}

// notLocked is the problem of an external plugin that the lock file does
// not know: its schema could only come from running it.
func notLocked(name string, decl *schema.PluginDecl) error {
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Plugin not locked",
		Detail: fmt.Sprintf("External plugin %q has no entry in %s. Only exec runs plugin code; every other command takes an external plugin's schema from the lock file. Run `runbook plugins lock` (it runs each external plugin once to record its version, sha256 and schema) and review the lock file like code.",
			name, pluginlock.Path(decl.Dir)),
		Subject: decl.DeclRange.Ptr(),
	}}
}

// Launch starts an external plugin (its checksum verified) for its schema
// and version, and ends it.
func (s *Schemas) Launch(name string, decl *schema.PluginDecl) (*plugins.Schema, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), externalSchemaTimeout)
	defer cancel()
	p, err := s.launcher.Launch(ctx, host.Spec{Name: name, Source: decl.Source, SHA256: decl.SHA256})
	if err != nil {
		return nil, "", err
	}
	sch, err := p.Schema(ctx)
	version := p.Version()
	if cerr := p.Close(); cerr != nil && err == nil {
		err = cerr
	}
	return sch, version, err
}
