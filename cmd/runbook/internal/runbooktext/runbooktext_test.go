package runbooktext

import (
	"slices"
	"testing"

	"github.com/runbookdev/runbook/engine/redact"
	"github.com/runbookdev/runbook/plugins/builtin"
	"github.com/runbookdev/runbook/schema"
)

const src = `
runbook "r" {
  owner = "sre"
  lock  = "r/${var.name}"

  variable "name" {
    type = string
  }
  variable "count" {
    type    = number
    default = 3
  }
  variable "token" {
    type      = string
    sensitive = true
    default   = "hunter2"
  }
  variable "anything" {
    type    = any
    default = { a =   1 }
  }
  variable "ro" {
    type    = bool
    default = true
  }

  step "plain" {
    action "shell.run" {
      command   = "ls   -l"
      read_only = true
    }
    expect {
      condition     = output.exit_code == 0
      error_message = "no"
      within        = "1m"
      every         = "5s"
    }
  }
  step "changes" {
    action "shell.run" {
      command = "systemctl restart web"
      env     = { TOKEN = "literal-secret" }
    }
    expect {
      condition     = output.exit_code == 0
      error_message = "no"
    }
    timeout    = "30s"
    on_failure = "continue"
    retry {
      attempts = 3
      delay    = "2s"
    }
  }
  step "depends" {
    action "shell.run" {
      command   = "true"
      read_only = var.ro
    }
    retry {
      attempts = 2
    }
  }
}
`

func load(t *testing.T) (*schema.Config, *schema.Runbook) {
	t.Helper()
	cfg, diags := schema.Load([]schema.Source{{Name: "r.hcl", Bytes: []byte(src)}}, schema.Options{Schemas: schema.RegistrySource{Registry: builtin.Registry()}})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return cfg, cfg.Runbook("r")
}

func TestVariables(t *testing.T) {
	cfg, rb := load(t)
	tests := []struct {
		name, typ, def string
	}{
		{"name", "string", ""},
		{"count", "number", "3"},
		{"token", "string", redact.Marker},
		{"anything", "any", "{ a = 1 }"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := rb.Variable(tt.name)
			if got := Type(v.Type); got != tt.typ {
				t.Errorf("Type = %q, want %q", got, tt.typ)
			}
			if got := Default(cfg, v); got != tt.def {
				t.Errorf("Default = %q, want %q", got, tt.def)
			}
		})
	}
	if got, want := Lock(cfg, rb), `"r/${var.name}"`; got != want {
		t.Errorf("Lock = %q, want %q", got, want)
	}
	rb.Lock = nil
	if got, want := Lock(cfg, rb), `"r"`; got != want {
		t.Errorf("Lock without a lock expression = %q, want %q", got, want)
	}
}

func TestSteps(t *testing.T) {
	cfg, rb := load(t)
	tests := []struct {
		step    string
		effect  Effect
		words   string
		args    []string
		polling string
		limits  []string
	}{
		{"plain", ReadOnly, "read-only", []string{`command = "ls -l"`, "read_only = true"}, "re-checked every 5s for up to 1m", nil},
		{"changes", ChangesState, "changes state", []string{`command = "systemctl restart web"`, `env = { TOKEN = "literal-secret" }`}, "",
			[]string{"timeout 30s", "3 attempts, 2s apart", "on failure: continue"}},
		{"depends", ReadOnlyWhen, "read-only when read_only is true", []string{`command = "true"`, "read_only = var.ro"}, "", []string{"2 attempts"}},
	}
	for _, tt := range tests {
		t.Run(tt.step, func(t *testing.T) {
			st := rb.Step(tt.step)
			effect, words := ActionEffect(st.Action)
			if effect != tt.effect || words != tt.words {
				t.Errorf("ActionEffect = %v %q, want %v %q", effect, words, tt.effect, tt.words)
			}
			if got := ActionArgs(cfg, st.Action); !slices.Equal(got, tt.args) {
				t.Errorf("ActionArgs = %q, want %q", got, tt.args)
			}
			if len(st.Expects) > 0 {
				if got := Polling(st.Expects[0]); got != tt.polling {
					t.Errorf("Polling = %q, want %q", got, tt.polling)
				}
			}
			if got := StepLimits(st); !slices.Equal(got, tt.limits) {
				t.Errorf("StepLimits = %q, want %q", got, tt.limits)
			}
		})
	}
}

// A sensitive argument's literal is never shown; an expression that
// names a variable is, as it holds no secret itself.
func TestSensitiveArgs(t *testing.T) {
	cfg, rb := load(t)
	a := rb.Step("changes").Action
	sch := *a.Schema
	sch.Args = nil
	for _, arg := range a.Schema.Args {
		arg := *arg
		arg.Sensitive = arg.Name == "env" || arg.Name == "command" || arg.Name == "read_only"
		sch.Args = append(sch.Args, &arg)
	}
	a.Schema = &sch
	want := []string{"command = " + redact.Marker, "env = " + redact.Marker}
	if got := ActionArgs(cfg, a); !slices.Equal(got, want) {
		t.Errorf("ActionArgs = %q, want %q", got, want)
	}
	d := rb.Step("depends").Action
	d.Schema = &sch
	want = []string{"command = " + redact.Marker, "read_only = var.ro"}
	if got := ActionArgs(cfg, d); !slices.Equal(got, want) {
		t.Errorf("ActionArgs = %q, want %q", got, want)
	}
}

func TestUnknownPlugin(t *testing.T) {
	if effect, words := ActionEffect(&schema.ActionCall{Plugin: "x", Name: "y"}); effect != Unknown || words != "" {
		t.Errorf("ActionEffect without a schema = %v %q, want Unknown \"\"", effect, words)
	}
}

func TestApprovers(t *testing.T) {
	for _, tt := range []struct {
		from, principals []string
		want             string
	}{
		{nil, nil, "anyone"},
		{nil, []string{"bob@example.com"}, "bob@example.com"},
		{[]string{"bob@example.com"}, []string{"bob@example.com"}, "bob@example.com"},
		{[]string{"oncall"}, nil, "oncall"},
		{[]string{"oncall", "dave@example.com"}, []string{"bob@example.com", "carol@example.com", "dave@example.com"},
			"oncall, dave@example.com (bob@example.com, carol@example.com, dave@example.com)"},
		{[]string{"team\nx"}, []string{"\x1b[31mbob"}, `team\nx (\x1b[31mbob)`},
	} {
		if got := Approvers(tt.from, tt.principals, "anyone"); got != tt.want {
			t.Errorf("Approvers(%q, %q) = %q, want %q", tt.from, tt.principals, got, tt.want)
		}
	}
}
