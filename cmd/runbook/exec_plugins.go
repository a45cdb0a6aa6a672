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
	"github.com/runbookdev/runbook/plugins/host"
	"github.com/runbookdev/runbook/schema"
)

// pluginProvider starts the plugins a run uses as processes: built-ins by
// re-executing this binary, external ones from their verified binaries.
func (a *app) pluginProvider(cfg *schema.Config) engine.PluginProvider {
	return &hostProvider{registry: a.registry, cfg: cfg, pool: host.NewPool(&host.Launcher{})}
}

type hostProvider struct {
	registry *plugins.Registry
	cfg      *schema.Config
	pool     *host.Pool
}

// Start implements engine.PluginProvider: every plugin once, in parallel.
func (p *hostProvider) Start(ctx context.Context, names []string) (map[string]plugins.Plugin, error) {
	specs := make([]host.Spec, 0, len(names))
	for _, name := range names {
		if decl := p.cfg.Plugins[name]; decl != nil && decl.Source != "" {
			specs = append(specs, host.Spec{Name: name, Source: decl.Source, SHA256: decl.SHA256})
			continue
		}
		b := p.registry.Builtin(name)
		if b == nil || b.New == nil {
			return nil, fmt.Errorf("plugin %q has no implementation in this build", name)
		}
		specs = append(specs, host.BuiltinSpec(name))
	}
	if err := p.pool.Start(ctx, specs); err != nil {
		return nil, err
	}
	out := make(map[string]plugins.Plugin, len(names))
	for _, name := range names {
		out[name] = p.pool.Get(name)
	}
	return out, nil
}

// Info implements the engine's optional plugin-info interface: the version
// and binary checksum of a running plugin, for the transcript.
func (p *hostProvider) Info(name string) (engine.PluginInfo, bool) {
	pl := p.pool.Get(name)
	if pl == nil {
		return engine.PluginInfo{}, false
	}
	return engine.PluginInfo{Version: pl.Version(), SHA256: pl.SHA256()}, true
}

// Close implements engine.PluginProvider: every plugin process ends.
func (p *hostProvider) Close() error { return p.pool.Close() }

// pluginInfo says, for each plugin a run may use, its version and the
// SHA-256 of the binary that serves it (this one, for built-ins), as known
// before anything starts: `--resume` compares them with the run it resumes.
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
