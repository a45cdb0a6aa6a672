package engine

import (
	"testing"

	"github.com/runbookdev/runbook/plugins/builtin"
	"github.com/runbookdev/runbook/schema"
)

// TestPluginConfigSHA256: what --resume compares of a plugin's
// configuration. Where it points counts; its secrets do not.
func TestPluginConfigSHA256(t *testing.T) {
	hash := func(t *testing.T, block string) string {
		t.Helper()
		src := block + `
runbook "r" {
  owner = "team"
  step "s" {
    action "prometheus.query" {
      query = "up"
    }
  }
}
`
		cfg, diags := schema.Load([]schema.Source{{Name: "t.hcl", Bytes: []byte(src)}}, schema.Options{Schemas: schema.RegistrySource{Registry: builtin.Registry()}})
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
		sum, err := PluginConfigSHA256(cfg, "prometheus")
		if err != nil {
			t.Fatal(err)
		}
		return sum
	}
	base := hash(t, `plugin "prometheus" {
  url          = "http://a:9090"
  bearer_token = "one"
}`)
	tests := []struct {
		name, block string
		same        bool
	}{
		{"same", `plugin "prometheus" {
  url          = "http://a:9090"
  bearer_token = "one"
}`, true},
		{"rotated secret", `plugin "prometheus" {
  url          = "http://a:9090"
  bearer_token = "two"
}`, true},
		{"other server", `plugin "prometheus" {
  url          = "http://b:9090"
  bearer_token = "one"
}`, false},
		{"secret removed", `plugin "prometheus" {
  url = "http://a:9090"
}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hash(t, tt.block); (got == base) != tt.same {
				t.Errorf("hash %s, base %s: same = %v, want %v", got, base, got == base, tt.same)
			}
		})
	}
}
