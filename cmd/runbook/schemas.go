package main

import (
	"context"
	"sync"
	"time"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/host"
	"github.com/runbookdev/runbook/schema"
)

// externalSchemaTimeout bounds the launch of an external plugin for its
// schema: validate must never hang on a plugin that does not answer.
const externalSchemaTimeout = 30 * time.Second

// pluginSchemas is the CLI's schema.SchemaSource. Built-in schemas come
// from the registry without starting anything. An external plugin (a
// plugin block with source) is launched through plugins/host, which refuses
// it unless its binary has the declared sha256, asked for its schema and
// ended; each binary once per pluginSchemas, that is once per load.
type pluginSchemas struct {
	registry *plugins.Registry
	launcher *host.Launcher

	mu       sync.Mutex
	external map[externalKey]*externalPlugin
}

// externalKey identifies an external plugin's binary as declared.
type externalKey struct {
	name, source, sha256 string
}

// externalPlugin is what launching an external plugin told.
type externalPlugin struct {
	schema  *plugins.Schema
	version string
	err     error
}

func newPluginSchemas(registry *plugins.Registry) *pluginSchemas {
	return &pluginSchemas{
		registry: registry,
		// No environment: an external plugin sees only what it is given
		// (host.Spec.Env), and describing itself needs nothing.
		launcher: &host.Launcher{},
		external: map[externalKey]*externalPlugin{},
	}
}

// PluginSchema implements schema.SchemaSource.
func (s *pluginSchemas) PluginSchema(name string, decl *schema.PluginDecl) (*plugins.Schema, error) {
	if decl == nil || decl.Source == "" {
		return schema.RegistrySource{Registry: s.registry}.PluginSchema(name, decl)
	}
	ext := s.describe(name, decl)
	return ext.schema, ext.err
}

// PluginNames lists the built-in plugins, for suggestions.
func (s *pluginSchemas) PluginNames() []string { return s.registry.Names() }

// describe launches an external plugin for its schema and version, once.
func (s *pluginSchemas) describe(name string, decl *schema.PluginDecl) *externalPlugin {
	key := externalKey{name, decl.Source, decl.SHA256}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ext, ok := s.external[key]; ok {
		return ext
	}
	ext := &externalPlugin{}
	s.external[key] = ext
	ctx, cancel := context.WithTimeout(context.Background(), externalSchemaTimeout)
	defer cancel()
	p, err := s.launcher.Launch(ctx, host.Spec{Name: name, Source: decl.Source, SHA256: decl.SHA256})
	if err != nil {
		ext.err = err
		return ext
	}
	ext.schema, ext.err = p.Schema(ctx)
	ext.version = p.Version()
	if err := p.Close(); err != nil && ext.err == nil {
		ext.err = err
	}
	return ext
}
