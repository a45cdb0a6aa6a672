package schema

import (
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
)

// versionedSource serves one external plugin, "ext", that reports version.
type versionedSource struct{ version string }

func (s versionedSource) PluginSchema(name string, decl *PluginDecl) (*plugins.Schema, error) {
	if name != "ext" || decl == nil || decl.Source == "" {
		return nil, ErrUnknownPlugin
	}
	return &plugins.Schema{Actions: map[string]*plugins.Action{"get": {Name: "get", ReadOnly: true, Output: cty.String}}}, nil
}

func (s versionedSource) PluginVersion(string, *PluginDecl) string { return s.version }

func TestPluginVersionConstraint(t *testing.T) {
	for _, tt := range []struct {
		name, block, version string
		want                 string // a diagnostic's summary and detail; "" for none
		line                 int
	}{
		{"allowed", `version = ">= 0.2, < 1.0"`, "0.3.1", "", 0},
		{"none", ``, "5.0.0", "", 0},
		{"too new", `version = ">= 0.2, < 1.0"`, "1.0.0",
			`Plugin version not allowed: Plugin "ext" reports version 1.0.0, which the plugin block's version = ">= 0.2, < 1.0" does not allow.`, 4},
		{"not a version", `version = "~> 1.2"`, "devel", `reports version "devel", which is not a version number`, 4},
		{"no version", `version = "~> 1.2"`, "", `reports no version`, 4},
		{"bad constraint", `version = ">= one"`, "1.0.0", `Invalid version constraint: Version constraint ">= one": version "one": "one" is not a number.`, 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src := `plugin "ext" {
  source = "/bin/ext"
  sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
  ` + tt.block + `
}
runbook "r" {
  owner = "team"
  step "s" {
    action "ext.get" {}
  }
}
`
			cfg, diags := Load([]Source{{Name: "t.hcl", Bytes: []byte(src)}}, Options{Schemas: versionedSource{tt.version}})
			if tt.want == "" {
				if diags.HasErrors() {
					t.Fatal(diags.Error())
				}
				if cfg.Versions["ext"] != tt.version {
					t.Errorf("recorded version %q, want %q", cfg.Versions["ext"], tt.version)
				}
				return
			}
			if len(diags) != 1 {
				t.Fatalf("%d diagnostics, want 1: %s", len(diags), diags.Error())
			}
			d := diags[0]
			if got := d.Summary + ": " + d.Detail; !strings.Contains(got, tt.want) {
				t.Errorf("diagnostic %q, want %q", got, tt.want)
			}
			if d.Subject == nil || d.Subject.Start.Line != tt.line {
				t.Errorf("at %v, want line %d", d.Subject, tt.line)
			}
		})
	}
}

func TestVersionConstraintOnBuiltin(t *testing.T) {
	src := `plugin "svc" {
  url     = "http://x"
  version = ">= 1.0"
}
`
	_, diags := Load([]Source{{Name: "t.hcl", Bytes: []byte(src)}}, testOptions(t))
	if !diags.HasErrors() || diags[0].Summary != "Version constraint on a built-in plugin" {
		t.Errorf("diagnostics: %s", diags.Error())
	}
}

// A development override runs the author's build whatever its version.
func TestVersionConstraintSkippedForDevOverride(t *testing.T) {
	src := `plugin "ext" {
  source  = "/bin/ext"
  sha256  = "0000000000000000000000000000000000000000000000000000000000000000"
  version = "~> 1.0"
}
`
	opts := Options{Schemas: versionedSource{"2.0.0-dev"}, DevOverrides: map[string]DevOverride{"ext": {Path: "/home/me/ext", SHA256: "11"}}}
	cfg, diags := Load([]Source{{Name: "t.hcl", Bytes: []byte(src)}}, opts)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if cfg.Versions["ext"] != "2.0.0-dev" {
		t.Errorf("recorded version %q", cfg.Versions["ext"])
	}
	opts.DevOverrides = nil
	if _, diags := Load([]Source{{Name: "t.hcl", Bytes: []byte(src)}}, opts); !diags.HasErrors() {
		t.Error("without the override, 2.0.0-dev passed ~> 1.0")
	}
}
