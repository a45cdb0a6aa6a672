package schema

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
)

var update = flag.Bool("update", false, "rewrite the golden diagnostics files")

// testRegistry holds plugins defined by the tests: "kv" (a read-only get, a
// mutating set, and exec, read-only when asked) and "svc" (needs config).
func testRegistry(t testing.TB) *plugins.Registry {
	t.Helper()
	kvOut := cty.Object(map[string]cty.Type{"key": cty.String, "value": cty.String, "version": cty.Number})
	reg, err := plugins.NewRegistry(
		&plugins.Builtin{Name: "kv", Schema: &plugins.Schema{
			Config: []*plugins.Attribute{{Name: "path", Type: cty.String, Path: true}},
			Actions: map[string]*plugins.Action{
				"get": {Name: "get", ReadOnly: true, Output: kvOut,
					Args: []*plugins.Attribute{{Name: "key", Type: cty.String, Required: true}}},
				"set": {Name: "set", Output: kvOut, Args: []*plugins.Attribute{
					{Name: "key", Type: cty.String, Required: true},
					{Name: "value", Type: cty.String, Required: true, Sensitive: true},
					{Name: "ttl", Type: cty.Number, Default: cty.Zero, Validators: []*plugins.Validator{plugins.Between(0, 86400)}},
				}},
				"exec": {Name: "exec", Output: cty.Object(map[string]cty.Type{"code": cty.Number}),
					ReadOnlyWhen: &plugins.ReadOnlyRule{Arg: "read_only", Values: []cty.Value{cty.True}},
					Args: []*plugins.Attribute{
						{Name: "cmd", Type: cty.String, Required: true},
						{Name: "read_only", Type: cty.Bool, Default: cty.False},
					}},
			},
		}},
		&plugins.Builtin{Name: "svc", Schema: &plugins.Schema{
			Config: []*plugins.Attribute{
				{Name: "url", Type: cty.String, Required: true, Validators: []*plugins.Validator{plugins.URLWithScheme("http", "https")}},
				{Name: "token", Type: cty.String, Sensitive: true},
				{Name: "regions", Type: cty.List(cty.String), Validators: []*plugins.Validator{plugins.OneOfStrings("eu", "us")}},
			},
			Actions: map[string]*plugins.Action{
				"ping": {Name: "ping", ReadOnly: true, Output: cty.Object(map[string]cty.Type{"ok": cty.Bool})},
			},
		}},
	)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func testOptions(t testing.TB) Options {
	return Options{Schemas: RegistrySource{Registry: testRegistry(t)}}
}

// goldenDiag is what a golden file pins of each diagnostic.
type goldenDiag struct {
	Severity string `json:"severity"`
	Filename string `json:"filename"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Summary  string `json:"summary"`
}

func golden(diags hcl.Diagnostics) []goldenDiag {
	out := []goldenDiag{}
	for _, d := range Report(diags, nil).Diagnostics {
		g := goldenDiag{Severity: d.Severity, Summary: d.Summary}
		if d.Range != nil {
			g.Filename = filepath.ToSlash(d.Range.Filename)
			g.Line, g.Column = d.Range.Start.Line, d.Range.Start.Column
		}
		out = append(out, g)
	}
	return out
}

// TestInvalid loads each testdata/invalid case (a file, or a folder of
// files) and compares its diagnostics with the case's .golden.json.
func TestInvalid(t *testing.T) {
	entries, err := os.ReadDir("testdata/invalid")
	if err != nil {
		t.Fatal(err)
	}
	cases := 0
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, ".golden.json") {
			continue
		}
		cases++
		path := filepath.Join("testdata/invalid", name)
		t.Run(strings.TrimSuffix(name, ".hcl"), func(t *testing.T) {
			var diags, vdiags hcl.Diagnostics
			var vcfg *Config
			if e.IsDir() {
				_, diags = LoadDir(path, testOptions(t))
				vcfg, vdiags = ValidateDir(path, testOptions(t))
			} else {
				_, diags = LoadPaths([]string{path}, testOptions(t))
				vcfg, vdiags = ValidatePaths([]string{path}, testOptions(t))
			}
			// Validate reports exactly what Load does, and keeps every file
			// with a diagnostic for its snippet.
			if diff := cmp.Diff(golden(diags), golden(vdiags)); diff != "" {
				t.Errorf("Validate and Load differ (-Load +Validate):\n%s", diff)
			}
			for _, d := range vdiags {
				if d.Subject != nil && vcfg.Files[d.Subject.Filename] == nil {
					t.Errorf("Validate dropped %s, which has a diagnostic", d.Subject.Filename)
				}
			}
			if !diags.HasErrors() {
				t.Fatalf("%s loaded without errors", path)
			}
			for _, d := range diags {
				if d.Subject == nil {
					t.Errorf("diagnostic %q has no source range", d.Summary)
				}
			}
			got := golden(diags)
			goldenPath := strings.TrimSuffix(path, ".hcl") + ".golden.json"
			if *update {
				b, _ := json.MarshalIndent(got, "", "  ")
				if err := os.WriteFile(goldenPath, append(b, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			b, err := os.ReadFile(goldenPath)
			if err != nil {
				t.Fatalf("%v (run go test ./schema -run TestInvalid -update to create it)", err)
			}
			var want []goldenDiag
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("diagnostics differ from %s (-want +got):\n%s", goldenPath, diff)
			}
		})
	}
	if cases < 15 {
		t.Errorf("only %d invalid cases found", cases)
	}
}

func TestValid(t *testing.T) {
	dirs, err := filepath.Glob("testdata/valid/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no valid cases: %v", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			cfg, diags := LoadDir(dir, testOptions(t))
			if len(diags) > 0 {
				t.Fatalf("diagnostics for a valid directory:\n%s", diagText(cfg, diags))
			}
			if len(cfg.Runbooks) == 0 {
				t.Fatal("no runbooks loaded")
			}
		})
	}
}

func diagText(cfg *Config, diags hcl.Diagnostics) string {
	var sb strings.Builder
	var files map[string]*hcl.File
	if cfg != nil {
		files = cfg.Files
	}
	_ = hcl.NewDiagnosticTextWriter(&sb, files, 100, false).WriteDiagnostics(diags)
	return sb.String()
}

// TestDecodedModel checks what the valid example decodes into.
func TestDecodedModel(t *testing.T) {
	cfg, diags := LoadDir("testdata/valid/full", testOptions(t))
	if diags.HasErrors() {
		t.Fatal(diagText(cfg, diags))
	}
	rb := cfg.Runbook("rollback")
	if rb == nil {
		t.Fatal("runbook rollback not loaded")
	}
	if rb.Owner != "platform" || len(rb.Tags) != 2 || rb.Lock == nil {
		t.Errorf("runbook header decoded wrong: owner %q tags %v lock %v", rb.Owner, rb.Tags, rb.Lock)
	}
	wantTypes := map[string]cty.Type{
		"key": cty.String, "limit": cty.Number, "labels": cty.Map(cty.String),
		"token": cty.String, "untyped": cty.Number, "anything": cty.DynamicPseudoType,
	}
	for name, want := range wantTypes {
		v := rb.Variable(name)
		if v == nil || !v.Type.Equals(want) {
			t.Errorf("variable %s: got %#v, want type %s", name, v, want.FriendlyName())
		}
	}
	if !rb.Variable("token").Sensitive || !rb.Variable("key").Required() || rb.Variable("limit").Required() {
		t.Error("sensitive/required flags decoded wrong")
	}
	write := rb.Step("write")
	if write.Owner != "oncall" || rb.Step("read").Owner != "platform" {
		t.Errorf("owners: write %q read %q", write.Owner, rb.Step("read").Owner)
	}
	if write.Timeout.String() != "30s" || write.Retry.Attempts != 3 || write.Retry.Delay.String() != "2s" || write.OnFailure != OnFailureContinue {
		t.Errorf("write limits decoded wrong: %v %+v %s", write.Timeout, write.Retry, write.OnFailure)
	}
	if write.Action.FullName() != "kv.set" || write.Action.Schema == nil || write.Action.Schema.ReadOnly {
		t.Errorf("write action: %+v", write.Action)
	}
	read := rb.Step("read")
	if e := read.Expects[0]; e.Within.String() != "30s" || e.Every.String() != "5s" {
		t.Errorf("read expect: within %s every %s", e.Within, e.Every)
	}
	if e := rb.Step("ping").Expects[0]; e.Every != DefaultEvery {
		t.Errorf("default every = %s, want %s", e.Every, DefaultEvery)
	}
	if rb.Step("announce").Manual == nil || rb.Step("announce").Action != nil {
		t.Error("announce should be manual")
	}
	if p := cfg.Plugins["kv"]; p == nil || p.Dir != "testdata/valid/full" {
		t.Errorf("plugin kv: %+v", p)
	}
	if cfg.Schemas["kv"] == nil || cfg.Schemas["svc"] == nil {
		t.Error("schemas of used plugins not resolved")
	}
}

func TestEveryProblemReported(t *testing.T) {
	// Problems in different runbooks and files are all reported in one pass.
	srcs := []Source{
		{Name: "a.hcl", Bytes: []byte("runbook \"a\" {\n  step \"s\" {\n    manual = \"x\"\n  }\n}\n")},
		{Name: "b.hcl", Bytes: []byte("runbook \"b\" {\n  owner = \"t\"\n  step \"s\" {}\n}\n")},
		{Name: "c.hcl", Bytes: []byte("runbook \"c\" {\n  owner = \"t\"\n  step \"s\" {\n    manual = var.nope\n  }\n}\n")},
	}
	_, diags := Load(srcs, testOptions(t))
	var got []string
	for _, d := range diags {
		got = append(got, d.Subject.Filename+": "+d.Summary)
	}
	want := []string{"a.hcl: Missing owner", "b.hcl: Missing action", "c.hcl: Reference to undeclared variable"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestLoadDirErrors(t *testing.T) {
	tests := []struct {
		name, dir, summary string
	}{
		{"missing folder", "testdata/does-not-exist", "Cannot read runbook directory"},
		{"empty folder", t.TempDir(), "No runbooks found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := LoadDir(tt.dir, testOptions(t))
			if len(diags) != 1 || diags[0].Summary != tt.summary {
				t.Fatalf("got %v, want one %q", diags, tt.summary)
			}
		})
	}
}

func TestExternalPluginNotYetSupported(t *testing.T) {
	src := []Source{{Name: "x.hcl", Bytes: []byte(`
plugin "echo" {
  source = "./runbook-plugin-echo"
  sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
}
runbook "r" {
  owner = "t"
  step "s" {
    action "echo.say" {
      message = "hi"
    }
  }
}
`)}}
	_, diags := Load(src, testOptions(t))
	if len(diags) != 1 || diags[0].Summary != "Cannot load plugin" || diags[0].Subject.Start.Line != 2 {
		t.Fatalf("got %v", diags)
	}
}

func TestValidateKeepsOnlyWhatItReports(t *testing.T) {
	cfg, diags := ValidateDir("testdata/valid/full", testOptions(t))
	if len(diags) > 0 {
		t.Fatal(diagText(cfg, diags))
	}
	if cfg.Validated != 1 || len(cfg.Runbooks) != 0 {
		t.Errorf("Validated %d, Runbooks %d; want 1 and none kept", cfg.Validated, len(cfg.Runbooks))
	}
	if cfg.Files["testdata/valid/full/rollback.hcl"] != nil {
		t.Error("the tree of a clean file without plugin blocks was kept")
	}
	want := []RunbookSummary{{Name: "rollback", Owner: "platform", Description: "Every construct of the language, used correctly.",
		Filename: "testdata/valid/full/rollback.hcl", Steps: 5, Required: []string{"key"}}}
	if diff := cmp.Diff(want, cfg.Summaries); diff != "" {
		t.Errorf("summaries (-want +got):\n%s", diff)
	}
	if cfg.Files["testdata/valid/full/plugins.hcl"] == nil || cfg.Plugins["kv"] == nil {
		t.Error("plugin blocks and their file must be kept")
	}
}

// A plugin block that names an external binary for a built-in's name
// replaces the built-in: runbooks are checked against the external schema.
func TestPluginBlockOverridesBuiltin(t *testing.T) {
	srcs := []Source{
		{Name: "a.hcl", Bytes: []byte("runbook \"a\" {\n  owner = \"t\"\n  step \"s\" {\n    action \"kv.get\" {\n      key = \"x\"\n    }\n  }\n}\n")},
		{Name: "z.hcl", Bytes: []byte("plugin \"kv\" {\n  source = \"./kv-plugin\"\n}\n")},
	}
	cfg, diags := Load(srcs, testOptions(t))
	if len(diags) != 1 || diags[0].Summary != "Cannot load plugin" || diags[0].Subject.Filename != "z.hcl" {
		t.Fatalf("got %v", diags)
	}
	if a := cfg.Runbook("a").Step("s").Action; a.Schema != nil {
		t.Error("action kept the built-in schema although a plugin block replaces it")
	}
}
