package main

import (
	"github.com/spf13/cobra"

	"github.com/runbookdev/runbook/plugins/grpcplugin"
)

// pluginServeCmd is `runbook __plugin NAME`: the process a host starts to
// run built-in plugin NAME, served over the plugin protocol (plugins/host
// re-executes the runbook binary this way). Hidden: people never run it;
// run by hand, go-plugin says so and exits 1.
func (a *app) pluginServeCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "__plugin NAME",
		Short:  "Serve a built-in plugin to a runbook host (internal)",
		Hidden: true,
		Args:   usageArgs(cobra.ExactArgs(1)),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			name := args[0]
			b := a.registry.Builtin(name)
			if b == nil {
				return exitf(ExitBadInput, "no built-in plugin named %q%s", name, pluginSuggestion(name, a.registry.Names()))
			}
			if b.New == nil {
				return exitf(ExitBadInput, "built-in plugin %q has no implementation in this build (only its schema): it cannot be served", name)
			}
			impl := b.New()
			defer func() { _ = impl.Close() }()
			grpcplugin.Serve(impl)
			return nil
		}),
	}
}
