package pluginscmd

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbookdev/runbook/cmd/runbook/internal/build"
	"github.com/runbookdev/runbook/cmd/runbook/internal/cmdutil"
	"github.com/runbookdev/runbook/cmd/runbook/internal/iostreams"
	"github.com/runbookdev/runbook/plugins"
	"github.com/zclconf/go-cty/cty"
)

func TestPluginsListing(t *testing.T) {
	reg, err := plugins.NewRegistry(&plugins.Builtin{Name: "kv", Schema: &plugins.Schema{
		Config: []*plugins.Attribute{
			{Name: "token", Type: cty.String, Sensitive: true, Default: cty.StringVal("s3cret")},
			{Name: "dir", Type: cty.String, Path: true, Required: true, Description: "Where the data is."},
		},
		Actions: map[string]*plugins.Action{
			"get": {Name: "get", ReadOnly: true, Description: "Read a key.",
				Args:   []*plugins.Attribute{{Name: "key", Type: cty.String, Required: true}},
				Output: cty.Object(map[string]cty.Type{"value": cty.String, "versions": cty.List(cty.Number)})},
			"put": {Name: "put", Args: []*plugins.Attribute{{Name: "tags", Type: cty.Map(cty.String), Default: cty.MapValEmpty(cty.String)}}, Output: cty.DynamicPseudoType},
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	streams, _, out, _ := iostreams.Test()
	f := cmdutil.New(streams, reg)
	f.Global.Dir = filepath.Join(t.TempDir(), "none")
	if err := runPlugins(&Options{Factory: f}); err != nil {
		t.Fatal(err)
	}
	want := `kv ` + build.Version() + `, built-in
  Configuration
    token  string, has a default, sensitive
    dir    string, required, path  Where the data is.
  kv.get  read-only
    Read a key.
    arguments
      key  string, required
    output
      value     string
      versions  list(number)
  kv.put  mutating
    arguments
      tags  map(string), default {}
    output
      any
`
	if got := out.String(); got != want {
		t.Errorf("listing:\n%s\nwant:\n%s", got, want)
	}
	if strings.Contains(out.String(), "s3cret") {
		t.Error("a sensitive default was printed")
	}
}
