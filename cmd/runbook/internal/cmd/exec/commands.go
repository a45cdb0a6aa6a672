package exec

import (
	"fmt"
	"runtime"

	"github.com/runbookdev/runbook/cmd/runbook/internal/cmdutil"
	"github.com/runbookdev/runbook/engine/exitcode"
	"github.com/runbookdev/runbook/schema"
)

// commandSteps lists the steps of rb whose action runs a command on this
// machine: shell.run, and index.rebuild when the index plugin is given a
// build_command.
func commandSteps(cfg *schema.Config, rb *schema.Runbook) []string {
	var steps []string
	for _, st := range rb.Steps {
		a := st.Action
		switch {
		case a == nil:
		case a.Plugin == "shell" && a.Name == "run" && !cfg.Plugins[a.Plugin].External():
			steps = append(steps, st.Name)
		case a.Plugin == "index" && a.Name == "rebuild" && hasAttribute(cfg.Plugins[a.Plugin], "build_command"):
			steps = append(steps, st.Name)
		}
	}
	return steps
}

// hasAttribute reports whether a built-in's plugin block sets name.
func hasAttribute(decl *schema.PluginDecl, name string) bool {
	if decl == nil || decl.External() || decl.Config == nil {
		return false
	}
	attrs, _ := decl.Config.JustAttributes()
	_, ok := attrs[name]
	return ok
}

// refuseCommands refuses, before anything runs, a runbook that would run a
// command where runbook cannot yet make commands end with the run
// (Windows: docs/execution.md, "Platforms"), rather than failing at its
// first such step after earlier ones changed things.
func refuseCommands(cfg *schema.Config, rb *schema.Runbook, supported bool) error {
	steps := commandSteps(cfg, rb)
	if supported || len(steps) == 0 {
		return nil
	}
	return cmdutil.Exitf(exitcode.Refused, "runbook %q runs commands (step %s), which runbook cannot yet make end with the run on %s; nothing ran. Run it on Linux, macOS or WSL.",
		rb.Name, quoteJoin(steps), runtime.GOOS)
}

func quoteJoin(names []string) string {
	s := ""
	for i, n := range names {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%q", n)
	}
	return s
}
