package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"

	"github.com/runbookdev/runbook/engine"
	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/host"
	"github.com/runbookdev/runbook/schema"
)

// pluginProvider starts the plugins a run uses as processes: built-ins by
// re-executing this binary, external ones from their verified binaries.
func (a *app) pluginProvider(cfg *schema.Config) *hostProvider {
	// runbook starts no children of its own besides plugins: it may adopt
	// and end what they orphan.
	return &hostProvider{registry: a.registry, cfg: cfg, pool: host.NewPool(&host.Launcher{Subreaper: true})}
}

type hostProvider struct {
	registry *plugins.Registry
	cfg      *schema.Config
	pool     *host.Pool

	early *earlyStart
}

// earlyStart is a start of plugins begun before the engine asks for them.
type earlyStart struct {
	names  []string
	cancel context.CancelFunc
	done   chan struct{} // closed once err is set
	err    error
}

func (p *hostProvider) specs(names []string) ([]host.Spec, error) {
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
	return specs, nil
}

// Prestart begins starting the plugins names in the background, so that
// their processes come up while the run is still being prepared
// (variables, lock, transcript); Start then waits for them. Cancelling ctx
// abandons the start and kills what it started.
func (p *hostProvider) Prestart(ctx context.Context, names []string) {
	ctx, cancel := context.WithCancel(ctx)
	e := &earlyStart{names: slices.Clone(names), cancel: cancel, done: make(chan struct{})}
	p.early = e
	specs, err := p.specs(names)
	if err != nil {
		e.err = err
		close(e.done)
		return
	}
	go func() {
		defer close(e.done)
		e.err = p.pool.Start(ctx, specs)
	}()
}

// Start implements engine.PluginProvider: every plugin once, in parallel
// (the built-ins in one process), or the plugins Prestart is starting.
func (p *hostProvider) Start(ctx context.Context, names []string) (map[string]plugins.Plugin, error) {
	if e := p.early; e != nil && slices.Equal(e.names, names) {
		p.early = nil
		select {
		case <-e.done:
		case <-ctx.Done():
			e.cancel()
			<-e.done
			return nil, ctx.Err()
		}
		if e.err != nil {
			return nil, e.err
		}
	} else {
		specs, err := p.specs(names)
		if err != nil {
			return nil, err
		}
		if err := p.pool.Start(ctx, specs); err != nil {
			return nil, err
		}
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

// Close implements engine.PluginProvider: every plugin process ends, those
// of a start still under way included. Closing twice is harmless.
func (p *hostProvider) Close() error {
	if e := p.early; e != nil {
		p.early = nil
		e.cancel()
		<-e.done
	}
	return p.pool.Close()
}

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

// selfSHA256 is the SHA-256 of the running executable, which serves the
// built-in plugins, or "" when it cannot be read (see cachedSHA256).
var selfSHA256 = sync.OnceValue(func() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	sum, _ := cachedSHA256(exe, sumCacheDir())
	return sum
})
