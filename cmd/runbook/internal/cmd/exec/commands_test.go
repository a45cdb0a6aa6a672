package exec

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/runbookdev/runbook/cmd/runbook/internal/cmdutil"
	"github.com/runbookdev/runbook/engine/exitcode"
	"github.com/runbookdev/runbook/plugins/builtin"
	"github.com/runbookdev/runbook/schema"
)

// Where commands cannot be made to end with the run, a runbook that would
// run one is refused before anything runs; elsewhere, and for runbooks
// that run none, nothing is refused.
func TestRefuseCommands(t *testing.T) {
	const plugins = `
plugin "index" {
  path          = "idx"
  build_command = "make-index"
}
`
	tests := []struct {
		name, src string
		steps     []string
	}{
		{"shell.run", `
runbook "rb" {
  owner = "team"
  step "status" {
    action "prompt.status" { name = "p" }
  }
  step "restart" {
    action "shell.run" { command = "systemctl restart web" }
  }
  step "peek" {
    action "shell.run" {
      command   = "uptime"
      read_only = true
    }
  }
}`, []string{"restart", "peek"}},
		{"index with a build command", plugins + `
runbook "rb" {
  owner = "team"
  step "build" {
    action "index.rebuild" {
      name   = "kb"
      source = "corpus"
    }
  }
}`, []string{"build"}},
		{"index without a build command", `
runbook "rb" {
  owner = "team"
  step "build" {
    action "index.rebuild" {
      name   = "kb"
      source = "corpus"
    }
  }
}`, nil},
		{"no command", `
runbook "rb" {
  owner = "team"
  step "status" {
    action "prompt.status" { name = "p" }
  }
  step "tell" {
    manual = "Tell people."
  }
}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, diags := schema.Load([]schema.Source{{Name: "t.hcl", Bytes: []byte(tt.src)}}, schema.Options{Schemas: schema.RegistrySource{Registry: builtin.Registry()}})
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			rb := cfg.Runbook("rb")
			if got := commandSteps(cfg, rb); !slices.Equal(got, tt.steps) {
				t.Errorf("commandSteps = %q, want %q", got, tt.steps)
			}
			if err := refuseCommands(cfg, rb, true); err != nil {
				t.Errorf("refused where commands are supported: %v", err)
			}
			err := refuseCommands(cfg, rb, false)
			if len(tt.steps) == 0 {
				if err != nil {
					t.Errorf("refused a runbook that runs no command: %v", err)
				}
				return
			}
			var e *cmdutil.ExitError
			if !errors.As(err, &e) || e.Code != exitcode.Refused || !strings.Contains(e.Msg, `step "`+tt.steps[0]+`"`) || !strings.Contains(e.Msg, "nothing ran") {
				t.Errorf("refuseCommands = %v, want exit %d naming step %q", err, exitcode.Refused, tt.steps[0])
			}
		})
	}
}
