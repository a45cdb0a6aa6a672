package resolver

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/runbookdev/runbook/plugins/host"
	"github.com/runbookdev/runbook/plugins/safefile"
	"github.com/runbookdev/runbook/schema"
)

// The user's configuration (docs/plugins.md, "Development overrides"):
// $RUNBOOK_CONFIG, else runbook/config.hcl in the user's configuration
// folder. It holds one block, for plugin authors:
//
//	dev_overrides {
//	  litellm = "/home/me/src/runbook-plugin-litellm/runbook-plugin-litellm"
//	}
//
// Each entry runs a local build instead of the binary a plugin block
// declares, without checking it against the block's sha256: every command
// warns about it, and none runs while CI is set.

// maxUserConfig bounds the user configuration file.
const maxUserConfig = 64 << 10

// UserConfigPath is where the user's configuration is, "" when there is no
// place for it.
func UserConfigPath() string {
	if p := os.Getenv("RUNBOOK_CONFIG"); p != "" {
		return p
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "runbook", "config.hcl")
}

var userConfigSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "dev_overrides"}}}

// ReadDevOverrides reads the development overrides of the configuration
// file at path, each binary hashed; none when the file does not exist.
func ReadDevOverrides(path string) (map[string]schema.DevOverride, *hcl.File, hcl.Diagnostics) {
	if path == "" {
		return nil, nil, nil
	}
	src, err := safefile.ReadFile(path, maxUserConfig)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read the user configuration", Detail: err.Error()}}
	}
	f, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, f, diags
	}
	content, diags := f.Body.Content(userConfigSchema)
	if diags.HasErrors() {
		return nil, f, diags
	}
	out := map[string]schema.DevOverride{}
	for _, b := range content.Blocks {
		attrs, d := b.Body.JustAttributes()
		diags = append(diags, d...)
		for name, attr := range attrs {
			v, d := attr.Expr.Value(nil)
			diags = append(diags, d...)
			if d.HasErrors() {
				continue
			}
			if v.IsNull() || !v.IsKnown() || v.Type().FriendlyName() != "string" || strings.TrimSpace(v.AsString()) == "" {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid development override",
					Detail: fmt.Sprintf("The override of plugin %q must be the path of a plugin binary, as a string.", name), Subject: attr.Expr.Range().Ptr()})
				continue
			}
			p := v.AsString()
			if !filepath.IsAbs(p) {
				p = filepath.Join(filepath.Dir(path), p)
			}
			sum, err := host.FileSHA256(p)
			if err != nil {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Development override not found",
					Detail: fmt.Sprintf("Plugin %q is overridden with %s: %s.", name, p, err), Subject: attr.Expr.Range().Ptr()})
				continue
			}
			out[name] = schema.DevOverride{Path: p, SHA256: sum}
		}
	}
	return out, f, diags
}

// InCI reports whether CI is set, as CI services set it.
func InCI() bool {
	v := strings.ToLower(strings.TrimSpace(os.Getenv("CI")))
	return v != "" && v != "false" && v != "0"
}
