package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/runbookdev/runbook/engine"
	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/schema"
)

// pluginProvider starts the plugins a run uses.
func (a *app) pluginProvider(cfg *schema.Config) engine.PluginProvider {
	return &builtinProvider{registry: a.registry, cfg: cfg}
}

// builtinProvider runs built-in plugins in this process.
type builtinProvider struct {
	registry *plugins.Registry
	cfg      *schema.Config
	mu       sync.Mutex
	started  []plugins.Plugin
}

func (p *builtinProvider) Start(_ context.Context, names []string) (map[string]plugins.Plugin, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]plugins.Plugin{}
	for _, name := range names {
		if decl := p.cfg.Plugins[name]; decl != nil && decl.Source != "" {
			return nil, fmt.Errorf("plugin %q: external plugins cannot run in this build", name)
		}
		b := p.registry.Builtin(name)
		if b == nil || b.New == nil {
			return nil, fmt.Errorf("plugin %q has no implementation in this build", name)
		}
		pl := b.New()
		p.started = append(p.started, pl)
		out[name] = pl
	}
	return out, nil
}

func (p *builtinProvider) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var first error
	for _, pl := range p.started {
		if err := pl.Close(); err != nil && first == nil {
			first = err
		}
	}
	p.started = nil
	return first
}

// pluginInfo records, for each plugin a run may use, its version and the
// SHA-256 of the binary that serves it (this one, for built-ins).
func (a *app) pluginInfo(cfg *schema.Config) map[string]engine.PluginInfo {
	self := selfSHA256()
	info := map[string]engine.PluginInfo{}
	for name := range cfg.Schemas {
		if decl := cfg.Plugins[name]; decl != nil && decl.Source != "" {
			info[name] = engine.PluginInfo{Version: "external", SHA256: decl.SHA256}
			continue
		}
		info[name] = engine.PluginInfo{Version: Version(), SHA256: self}
	}
	return info
}

var selfSHA256 = sync.OnceValue(func() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	f, err := os.Open(exe)
	if err != nil {
		return ""
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
})
