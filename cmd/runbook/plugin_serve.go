package main

import (
	"github.com/spf13/cobra"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/grpcplugin"
)

// pluginServeCmd is `runbook __plugin NAME…`: the process a host starts to
// run the built-in plugins a run uses, all of them served over the plugin
// protocol from this one process (plugins/host re-executes the runbook
// binary this way). Hidden: people never run it; run by hand, go-plugin
// says so and exits 1.
func (a *app) pluginServeCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "__plugin NAME...",
		Short:  "Serve built-in plugins to a runbook host (internal)",
		Hidden: true,
		Args:   usageArgs(cobra.MinimumNArgs(1)),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			impls := make(map[string]plugins.Plugin, len(args))
			for _, name := range args {
				b := a.registry.Builtin(name)
				if b == nil {
					return exitf(ExitBadInput, "no built-in plugin named %q%s", name, pluginSuggestion(name, a.registry.Names()))
				}
				if b.New == nil {
					return exitf(ExitBadInput, "built-in plugin %q has no implementation in this build (only its schema): it cannot be served", name)
				}
				if impls[name] != nil {
					return exitf(ExitBadInput, "built-in plugin %q named twice", name)
				}
				impls[name] = b.New()
			}
			defer func() {
				for _, impl := range impls {
					_ = impl.Close()
				}
			}()
			grpcplugin.ServeMany(impls)
			return nil
		}),
	}
}
