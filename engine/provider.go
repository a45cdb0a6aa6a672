package engine

import (
	"context"
	"fmt"

	"github.com/runbookdev/runbook/plugins"
)

// PluginProvider starts the plugins a run uses. Start is called once per run
// with every plugin name the runbook's actions use; it starts them (in
// parallel, for processes) and returns them by name. Close ends them all.
type PluginProvider interface {
	Start(ctx context.Context, names []string) (map[string]plugins.Plugin, error)
	Close() error
}

// InProcess is a PluginProvider over plugins that are already running, as in
// tests and `runbook test`.
type InProcess map[string]plugins.Plugin

// Start implements PluginProvider.
func (p InProcess) Start(_ context.Context, names []string) (map[string]plugins.Plugin, error) {
	out := make(map[string]plugins.Plugin, len(names))
	for _, name := range names {
		pl, ok := p[name]
		if !ok {
			return nil, fmt.Errorf("plugin %q is not available", name)
		}
		out[name] = pl
	}
	return out, nil
}

// Close implements PluginProvider; in-process plugins belong to their owner.
func (p InProcess) Close() error { return nil }
