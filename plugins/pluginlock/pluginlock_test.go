package pluginlock

import (
	"time"

	"github.com/google/go-cmp/cmp"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/builtin"
)

const sum = "31e4dc490a7813af638ee095d92802bbc4c681b8962aa34882b25634bb981531"

// TestRoundTrip writes every built-in plugin's schema (they use every
// feature a schema has: defaults of every type, read-only rules, path and
// sensitive attributes, object outputs) to a lock file and reads it back.
func TestRoundTrip(t *testing.T) {
	var entries []*Entry
	for _, b := range builtin.Plugins() {
		entries = append(entries, &Entry{Name: b.Name, Version: "1.2.3", SHA256: sum, Schema: b.Schema})
	}
	entries = append(entries, &Entry{Name: "validated", Version: "0.1.0", SHA256: sum, Schema: &plugins.Schema{
		Config: []*plugins.Attribute{
			{Name: "url", Type: cty.String, Validators: []*plugins.Validator{plugins.URLWithScheme("http", "https")}},
			{Name: "any_url", Type: cty.String, Validators: []*plugins.Validator{plugins.URLWithScheme()}},
			{Name: "mode", Type: cty.String, Validators: []*plugins.Validator{plugins.OneOfStrings("a", "b"), plugins.MatchPattern(`[a-z]"+`)}},
			{Name: "level", Type: cty.Number, Validators: []*plugins.Validator{plugins.OneOf(cty.NumberIntVal(1), cty.NumberFloatVal(2.5)), plugins.Between(0.5, 10), plugins.AtLeast(-1)}},
			{Name: "tags", Type: cty.List(cty.String), Validators: []*plugins.Validator{plugins.LengthBetween(1, -1), plugins.LengthBetween(-1, -1)}},
			{Name: "wait", Type: cty.String, Validators: []*plugins.Validator{plugins.DurationBetween(time.Second, 90*time.Minute), plugins.DurationBetween(0, 0), plugins.DurationBetween(time.Millisecond, 0)}},
		},
		Actions: map[string]*plugins.Action{},
	}})
	dir := t.TempDir()
	if err := Write(dir, entries); err != nil {
		t.Fatal(err)
	}
	lock, diags := Read(dir)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if !lock.Exists || len(lock.Entries) != len(entries) {
		t.Fatalf("read %d entries (exists %v), want %d", len(lock.Entries), lock.Exists, len(entries))
	}
	for _, want := range entries {
		got := lock.Entries[want.Name]
		if got == nil {
			t.Errorf("%s: not read back", want.Name)
			continue
		}
		if got.Version != want.Version || got.SHA256 != want.SHA256 {
			t.Errorf("%s: version %q sha256 %q", want.Name, got.Version, got.SHA256)
		}
		sameSchema(t, want.Name, got.Schema, want.Schema)
	}
}

func sameSchema(t *testing.T, name string, got, want *plugins.Schema) {
	t.Helper()
	sameAttrs(t, name+" config", got.Config, want.Config)
	if len(got.Actions) != len(want.Actions) {
		t.Errorf("%s: %d actions, want %d", name, len(got.Actions), len(want.Actions))
	}
	for an, wa := range want.Actions {
		ga := got.Actions[an]
		if ga == nil {
			t.Errorf("%s.%s: missing", name, an)
			continue
		}
		where := name + "." + an
		if ga.Description != wa.Description || ga.ReadOnly != wa.ReadOnly || !ga.Output.Equals(wa.Output) {
			t.Errorf("%s: %+v, want %+v", where, ga, wa)
		}
		if (ga.ReadOnlyWhen == nil) != (wa.ReadOnlyWhen == nil) {
			t.Errorf("%s: read-only rule %v, want %v", where, ga.ReadOnlyWhen, wa.ReadOnlyWhen)
		} else if wa.ReadOnlyWhen != nil {
			if ga.ReadOnlyWhen.Arg != wa.ReadOnlyWhen.Arg || len(ga.ReadOnlyWhen.Values) != len(wa.ReadOnlyWhen.Values) {
				t.Errorf("%s: read-only rule %v, want %v", where, ga.ReadOnlyWhen, wa.ReadOnlyWhen)
			} else {
				for i, v := range wa.ReadOnlyWhen.Values {
					if !ga.ReadOnlyWhen.Values[i].RawEquals(v) {
						t.Errorf("%s: read-only value %#v, want %#v", where, ga.ReadOnlyWhen.Values[i], v)
					}
				}
			}
		}
		sameAttrs(t, where, ga.Args, wa.Args)
	}
}

func sameAttrs(t *testing.T, where string, got, want []*plugins.Attribute) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d attributes, want %d", where, len(got), len(want))
		return
	}
	for i, w := range want {
		g := got[i]
		if g.Name != w.Name || g.Description != w.Description || !g.Type.Equals(w.Type) ||
			g.Required != w.Required || g.Sensitive != w.Sensitive || g.Path != w.Path {
			t.Errorf("%s: attribute %+v, want %+v", where, g, w)
		}
		switch {
		case w.Default == cty.NilVal:
			if g.Default != cty.NilVal {
				t.Errorf("%s %s: default %#v, want none", where, w.Name, g.Default)
			}
		case w.Sensitive:
			if g.Default == cty.NilVal || g.Default.IsKnown() {
				t.Errorf("%s %s: sensitive default read back as %#v, want an unknown", where, w.Name, g.Default)
			}
		case !g.Default.RawEquals(w.Default):
			t.Errorf("%s %s: default %#v, want %#v", where, w.Name, g.Default, w.Default)
		}
		if diff := cmp.Diff(w.Validators, g.Validators, cmp.Comparer(func(a, b cty.Value) bool { return a.Equals(b).True() })); diff != "" {
			t.Errorf("%s %s: validators (-want +got):\n%s", where, w.Name, diff)
		}
	}
}

// TestSensitiveDefaultNotWritten: a lock file is committed; a secret a
// plugin has as a default must not end up in it.
func TestSensitiveDefaultNotWritten(t *testing.T) {
	s := &plugins.Schema{
		Config:  []*plugins.Attribute{{Name: "token", Type: cty.String, Sensitive: true, Default: cty.StringVal("s3cret-default")}},
		Actions: map[string]*plugins.Action{"get": {Name: "get", Output: cty.DynamicPseudoType}},
	}
	b, err := Encode([]*Entry{{Name: "kv", SHA256: sum, Schema: s}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "s3cret-default") {
		t.Fatalf("the sensitive default was written:\n%s", b)
	}
	entries, _, diags := Parse(b, FileName)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if d := entries[0].Schema.Config[0].Default; d == cty.NilVal || d.IsKnown() {
		t.Errorf("default read back as %#v, want unknown (has a default)", d)
	}
}

func TestReadMissingIsEmpty(t *testing.T) {
	lock, diags := Read(t.TempDir())
	if diags.HasErrors() || lock.Exists || len(lock.Entries) != 0 {
		t.Errorf("lock %+v, diags %v", lock, diags)
	}
}

func TestParseErrorsArePositioned(t *testing.T) {
	tests := []struct {
		name, src, want string
		line            int
	}{
		{"syntax", "plugin \"x\" {\n  sha256 = \n}\n", "Invalid expression", 2},
		{"no sha256", "plugin \"x\" {\n  version = \"1\"\n}\n", "Missing required argument", 1},
		{"bad type", "plugin \"x\" {\n  sha256 = \"" + sum + "\"\n  action \"a\" {\n    output = strin\n  }\n}\n", "Invalid type specification", 4},
		{"duplicate", "plugin \"x\" {\n  sha256 = \"" + sum + "\"\n}\nplugin \"x\" {\n  sha256 = \"" + sum + "\"\n}\n", "Duplicate plugin in lock file", 4},
		{"function", "plugin \"x\" {\n  sha256 = upper(\"a\")\n}\n", "Function calls not allowed", 2},
		{"unknown block", "runbook \"x\" {\n}\n", "Unsupported block type", 1},
		{"bad rule", "plugin \"x\" {\n  sha256 = \"" + sum + "\"\n  action \"a\" {\n    output = any\n    read_only_when {\n      arg = \"nope\"\n      values = [\"GET\"]\n    }\n  }\n}\n", "read-only rule names unknown argument", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, diags := Parse([]byte(tt.src), FileName)
			if !diags.HasErrors() {
				t.Fatal("no error")
			}
			var found *hcl.Diagnostic
			for _, d := range diags {
				if strings.Contains(d.Summary+" "+d.Detail, tt.want) {
					found = d
				}
			}
			if found == nil {
				t.Fatalf("no diagnostic %q in %v", tt.want, diags)
			}
			if found.Subject == nil || found.Subject.Filename != FileName || found.Subject.Start.Line != tt.line {
				t.Errorf("diagnostic at %v, want %s line %d", found.Subject, FileName, tt.line)
			}
		})
	}
}

func TestReadRefusesNonRegularFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink("/dev/zero", filepath.Join(dir, FileName)); err != nil {
		t.Fatal(err)
	}
	_, diags := Read(dir)
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "not a regular file") {
		t.Errorf("diags %v", diags)
	}
}

// FuzzParse: no lock file, however malformed, panics the reader.
func FuzzParse(f *testing.F) {
	b, err := Encode([]*Entry{{Name: "shell", SHA256: sum, Schema: builtin.Registry().Builtin("shell").Schema}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("plugin \"x\" {\n  sha256 = \"\"\n  config \"a\" {\n    type = list(\n  }\n}\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		entries, _, diags := Parse(src, FileName)
		if !diags.HasErrors() {
			for _, e := range entries {
				if err := e.Schema.Validate(); err != nil {
					t.Fatalf("an invalid schema was accepted: %v", err)
				}
			}
		}
	})
}
