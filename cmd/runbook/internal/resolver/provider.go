package resolver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"

	"github.com/runbookdev/runbook/engine"
	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/host"
	"github.com/runbookdev/runbook/schema"

	"github.com/runbookdev/runbook/cmd/runbook/internal/build"
)

// Provider gives a run its plugins: the built-ins in this process,
// external ones as processes started from their verified binaries.
func (r *Resolver) Provider(cfg *schema.Config) *Provider {
	// runbook starts no children of its own besides plugins and the
	// built-ins' commands: it may adopt and end what they orphan.
	l := &host.Launcher{Subreaper: true}
	return &Provider{registry: r.Registry, cfg: cfg, launcher: l, pool: host.NewPool(l)}
}

type Provider struct {
	registry *plugins.Registry
	cfg      *schema.Config
	launcher *host.Launcher
	pool     *host.Pool // the external plugins

	builtins map[string]*host.InProcess
	early    *earlyStart
}

// earlyStart is a start of external plugins begun before the engine asks
// for them.
type earlyStart struct {
	names  []string
	cancel context.CancelFunc
	done   chan struct{} // closed once err is set
	err    error
}

// split sorts names into the external plugins' specs and the built-ins.
func (p *Provider) split(names []string) ([]host.Spec, []*plugins.Builtin, error) {
	var specs []host.Spec
	var builtins []*plugins.Builtin
	for _, name := range names {
		if decl := p.cfg.Plugins[name]; decl.External() {
			specs = append(specs, host.Spec{Name: name, Source: decl.Source, SHA256: decl.SHA256})
			continue
		}
		b := p.registry.Builtin(name)
		if b == nil || b.New == nil {
			return nil, nil, fmt.Errorf("plugin %q has no implementation in this build", name)
		}
		builtins = append(builtins, b)
	}
	return specs, builtins, nil
}

// Prestart begins starting the external plugins among names in the
// background, so that their processes come up while the run is still
// being prepared (variables, lock, transcript); Start then waits for them.
// Cancelling ctx abandons the start and kills what it started.
func (p *Provider) Prestart(ctx context.Context, names []string) {
	ctx, cancel := context.WithCancel(ctx)
	e := &earlyStart{names: slices.Clone(names), cancel: cancel, done: make(chan struct{})}
	p.early = e
	specs, _, err := p.split(names)
	if err != nil || len(specs) == 0 {
		e.err = err
		close(e.done)
		return
	}
	go func() {
		defer close(e.done)
		e.err = p.pool.Start(ctx, specs)
	}()
}

// Start implements engine.PluginProvider: every plugin once, the external
// ones in parallel (or those Prestart is starting).
func (p *Provider) Start(ctx context.Context, names []string) (map[string]plugins.Plugin, error) {
	specs, builtins, err := p.split(names)
	if err != nil {
		return nil, err
	}
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
	} else if len(specs) > 0 {
		if err := p.pool.Start(ctx, specs); err != nil {
			return nil, err
		}
	}
	out := make(map[string]plugins.Plugin, len(names))
	for _, s := range specs {
		out[s.Name] = p.pool.Get(s.Name)
	}
	if p.builtins == nil {
		p.builtins = map[string]*host.InProcess{}
	}
	for _, b := range builtins {
		if p.builtins[b.Name] != nil {
			return nil, fmt.Errorf("start plugins: %q is already running", b.Name)
		}
		pl, err := p.launcher.InProcess(ctx, b.Name, b.New)
		if err != nil {
			return nil, err
		}
		p.builtins[b.Name] = pl
		out[b.Name] = pl
	}
	return out, nil
}

// Close implements engine.PluginProvider: every external plugin process
// ends, those of a start still under way included, and every built-in is
// closed. Closing twice is harmless.
func (p *Provider) Close() error {
	if e := p.early; e != nil {
		p.early = nil
		e.cancel()
		<-e.done
	}
	errs := []error{p.pool.Close()}
	for name, b := range p.builtins {
		errs = append(errs, b.Close())
		delete(p.builtins, name)
	}
	return errors.Join(errs...)
}

// Info says, for each plugin a run may use, its version and the
// SHA-256 of the binary that serves it (this one, for built-ins), as known
// before anything starts: `--resume` compares them with the run it resumes.
func (r *Resolver) Info(cfg *schema.Config) map[string]engine.PluginInfo {
	self := SelfSHA256()
	info := map[string]engine.PluginInfo{}
	for name := range cfg.Schemas {
		if decl := cfg.Plugins[name]; decl.External() {
			v := cfg.Versions[name] // as it reported it
			if v == "" {
				v = "external"
			}
			info[name] = engine.PluginInfo{Version: v, SHA256: decl.SHA256}
			continue
		}
		info[name] = engine.PluginInfo{Version: build.Version(), SHA256: self}
	}
	return info
}

// SelfSHA256 is the SHA-256 of the running executable, which serves the
// built-in plugins, or "" when it cannot be read (see cachedSHA256).
var SelfSHA256 = sync.OnceValue(func() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	sum, _ := cachedSHA256(exe, sumCacheDir())
	return sum
})
