package plugins

import (
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

func TestIsReadOnly(t *testing.T) {
	shell := &Action{
		Name:         "run",
		ReadOnlyWhen: &ReadOnlyRule{Arg: "read_only", Values: []cty.Value{cty.True}},
		Args: []*Attribute{
			{Name: "command", Type: cty.String, Required: true},
			{Name: "read_only", Type: cty.Bool, Default: cty.False},
		},
		Output: cty.EmptyObject,
	}
	http := &Action{
		Name:         "request",
		ReadOnlyWhen: &ReadOnlyRule{Arg: "method", Values: []cty.Value{cty.StringVal("GET"), cty.StringVal("HEAD")}},
		Args: []*Attribute{
			{Name: "url", Type: cty.String, Required: true},
			{Name: "method", Type: cty.String, Default: cty.StringVal("GET")},
		},
		Output: cty.EmptyObject,
	}
	args := func(kv ...any) cty.Value {
		m := map[string]cty.Value{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1].(cty.Value)
		}
		return cty.ObjectVal(m)
	}
	tests := []struct {
		name   string
		action *Action
		args   cty.Value
		want   bool
	}{
		{"always read-only", &Action{ReadOnly: true}, cty.EmptyObjectVal, true},
		{"never read-only", &Action{}, cty.EmptyObjectVal, false},
		{"shell default is mutating", shell, args("command", cty.StringVal("ls"), "read_only", cty.NullVal(cty.Bool)), false},
		{"shell read_only = true", shell, args("command", cty.StringVal("ls"), "read_only", cty.True), true},
		{"shell read_only unknown is mutating", shell, args("command", cty.StringVal("ls"), "read_only", cty.UnknownVal(cty.Bool)), false},
		{"http default GET", http, args("url", cty.StringVal("u"), "method", cty.NullVal(cty.String)), true},
		{"http get lower-case", http, args("url", cty.StringVal("u"), "method", cty.StringVal("get")), true},
		{"http HEAD", http, args("url", cty.StringVal("u"), "method", cty.StringVal("HEAD")), true},
		{"http POST", http, args("url", cty.StringVal("u"), "method", cty.StringVal("POST")), false},
		{"http marked GET", http, args("url", cty.StringVal("u"), "method", cty.StringVal("GET").Mark("sensitive")), true},
		{"unknown args are mutating", http, cty.DynamicVal, false},
		{"null args use the default", shell, cty.NullVal(cty.EmptyObject), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.action.IsReadOnly(tt.args); got != tt.want {
				t.Errorf("IsReadOnly = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSchemaValidate(t *testing.T) {
	ok := func() *Schema {
		return &Schema{
			Config: []*Attribute{{Name: "url", Type: cty.String, Required: true}},
			Actions: map[string]*Action{
				"get": {Name: "get", Output: cty.String, Args: []*Attribute{{Name: "key", Type: cty.String}}},
			},
		}
	}
	tests := []struct {
		name   string
		mutate func(s *Schema)
		errSub string
	}{
		{"valid", func(*Schema) {}, ""},
		{"action key mismatch", func(s *Schema) { s.Actions["get"].Name = "fetch" }, "does not match"},
		{"bad action name", func(s *Schema) { s.Actions["Get!"] = &Action{Name: "Get!", Output: cty.String} }, "names are"},
		{"no output type", func(s *Schema) { s.Actions["get"].Output = cty.NilType }, "no output type"},
		{"duplicate argument", func(s *Schema) {
			s.Actions["get"].Args = append(s.Actions["get"].Args, &Attribute{Name: "key", Type: cty.String})
		}, "declared twice"},
		{"argument without type", func(s *Schema) { s.Actions["get"].Args[0].Type = cty.NilType }, "has no type"},
		{"required with default", func(s *Schema) { s.Config[0].Default = cty.StringVal("x") }, "required and has a default"},
		{"read-only rule on unknown argument", func(s *Schema) {
			s.Actions["get"].ReadOnlyWhen = &ReadOnlyRule{Arg: "nope", Values: []cty.Value{cty.True}}
		}, "unknown argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ok()
			tt.mutate(s)
			err := s.Validate()
			switch {
			case tt.errSub == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.errSub != "" && (err == nil || !strings.Contains(err.Error(), tt.errSub)):
				t.Fatalf("error = %v, want one containing %q", err, tt.errSub)
			}
		})
	}
}

func TestRegistry(t *testing.T) {
	schema := &Schema{Actions: map[string]*Action{"say": {Name: "say", Output: cty.String}}}
	reg, err := NewRegistry(&Builtin{Name: "echo", Schema: schema}, &Builtin{Name: "alpha", Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(reg.Names(), ","); got != "alpha,echo" {
		t.Errorf("Names = %s", got)
	}
	if reg.Builtin("echo") == nil || reg.Builtin("nope") != nil {
		t.Error("Builtin lookup wrong")
	}
	for _, bad := range []*Builtin{
		{Name: "echo", Schema: schema},
		{Name: "", Schema: schema},
		{Name: "Bad Name", Schema: schema},
		{Name: "noschema"},
		{Name: "badschema", Schema: &Schema{Actions: map[string]*Action{"x": {Name: "y"}}}},
	} {
		if err := reg.Register(bad); err == nil {
			t.Errorf("Register(%q) succeeded", bad.Name)
		}
	}
	var nilReg *Registry
	if nilReg.Builtin("x") != nil || nilReg.Names() != nil {
		t.Error("nil registry should be empty")
	}
}

func TestErrorMessage(t *testing.T) {
	e := &Error{Path: cty.GetAttrPath("name"), Summary: "bad name", Detail: "too long"}
	if e.Error() != "bad name: too long" {
		t.Errorf("Error() = %q", e.Error())
	}
	if (&Error{Summary: "s"}).Error() != "s" {
		t.Error("summary-only error")
	}
}
