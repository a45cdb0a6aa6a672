package host

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
)

// Pool holds the external plugins of one run: started together, handed out
// by name, closed together.
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

// Start launches the plugins specs describe, each in its own process, in
// parallel, and returns when every one has answered or failed. When any
// fails, the others are closed again and the error names every failure.
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
	launched := make([]*Plugin, len(specs))
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	for i, s := range specs {
		wg.Go(func() { launched[i], errs[i] = p.launcher.Launch(ctx, s) })
	}
	wg.Wait()
	var all []*Plugin
	for _, pl := range launched {
		if pl != nil {
			all = append(all, pl)
		}
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

// names returns the names of the running plugins, sorted.
func (p *Pool) names() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Sorted(maps.Keys(p.plugins))
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
