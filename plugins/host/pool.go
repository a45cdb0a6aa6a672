package host

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
)

// Pool holds the plugins of one run: started together, handed out by name,
// closed together.
type Pool struct {
	launcher *Launcher

	mu      sync.Mutex
	plugins map[string]*Plugin
}

// NewPool returns an empty pool that launches with l (nil: a zero Launcher).
func NewPool(l *Launcher) *Pool {
	if l == nil {
		l = &Launcher{}
	}
	return &Pool{launcher: l, plugins: map[string]*Plugin{}}
}

// Start launches the plugins specs describe, in parallel, and returns when
// every one has answered or failed: the built-ins together in one process
// (LaunchBuiltins; those with the same environment), each external plugin
// in its own. When any fails, the others are closed again and the error
// names every failure.
func (p *Pool) Start(ctx context.Context, specs []Spec) error {
	seen := map[string]bool{}
	for _, s := range specs {
		if seen[s.Name] {
			return fmt.Errorf("start plugins: %q given twice", s.Name)
		}
		seen[s.Name] = true
		if p.Get(s.Name) != nil {
			return fmt.Errorf("start plugins: %q is already running", s.Name)
		}
	}
	// One launch per external plugin, one per environment of built-ins.
	var launches [][]Spec
	for _, s := range specs {
		if s.Source == "" {
			if i := slices.IndexFunc(launches, func(l []Spec) bool {
				return l[0].Source == "" && slices.Equal(l[0].Env, s.Env)
			}); i >= 0 {
				launches[i] = append(launches[i], s)
				continue
			}
		}
		launches = append(launches, []Spec{s})
	}
	launched := make([][]*Plugin, len(launches))
	errs := make([]error, len(launches))
	var wg sync.WaitGroup
	for i, group := range launches {
		wg.Go(func() {
			if group[0].Source != "" {
				var pl *Plugin
				pl, errs[i] = p.launcher.Launch(ctx, group[0])
				if pl != nil {
					launched[i] = []*Plugin{pl}
				}
				return
			}
			names := make([]string, len(group))
			for j, s := range group {
				names[j] = s.Name
			}
			launched[i], errs[i] = p.launcher.LaunchBuiltins(ctx, names, group[0].Env)
		})
	}
	wg.Wait()
	var all []*Plugin
	for _, ps := range launched {
		all = append(all, ps...)
	}
	if err := errors.Join(errs...); err != nil {
		closeAll(all)
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pl := range all {
		p.plugins[pl.Name()] = pl
	}
	return nil
}

// Get returns the running plugin named name, or nil.
func (p *Pool) Get(name string) *Plugin {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.plugins[name]
}

// Names returns the names of the running plugins, sorted.
func (p *Pool) Names() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	names := make([]string, 0, len(p.plugins))
	for n := range p.plugins {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Stop asks every plugin to cancel its calls in flight (see Plugin.Stop).
func (p *Pool) Stop() {
	var wg sync.WaitGroup
	for _, pl := range p.all() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pl.Stop()
		}()
	}
	wg.Wait()
}

// Close ends every plugin, in parallel, and returns once all their
// processes are gone.
func (p *Pool) Close() error {
	p.mu.Lock()
	all := make([]*Plugin, 0, len(p.plugins))
	for _, pl := range p.plugins {
		all = append(all, pl)
	}
	p.plugins = map[string]*Plugin{}
	p.mu.Unlock()
	return closeAll(all)
}

func (p *Pool) all() []*Plugin {
	p.mu.Lock()
	defer p.mu.Unlock()
	all := make([]*Plugin, 0, len(p.plugins))
	for _, pl := range p.plugins {
		all = append(all, pl)
	}
	return all
}

func closeAll(ps []*Plugin) error {
	errs := make([]error, len(ps))
	var wg sync.WaitGroup
	for i, pl := range ps {
		if pl == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = pl.Close()
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
