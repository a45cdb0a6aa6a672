package schema

import (
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

func TestFunctions(t *testing.T) {
	t.Setenv("RUNBOOK_TEST_ENV", "from-env")
	tests := []struct {
		expr string
		want cty.Value
	}{
		{`length("abc")`, cty.NumberIntVal(3)},
		{`length([1, 2])`, cty.NumberIntVal(2)},
		{`length({a = 1})`, cty.NumberIntVal(1)},
		{`strcontains("support-agent", "agent")`, cty.True},
		{`strcontains("support-agent", "x")`, cty.False},
		{`env("RUNBOOK_TEST_ENV")`, cty.StringVal("from-env")},
		{`env("RUNBOOK_TEST_UNSET_VARIABLE")`, cty.StringVal("")},
		{`upper(format("%s-%d", "v", 7))`, cty.StringVal("V-7")},
		{`join(",", split(" ", "a b"))`, cty.StringVal("a,b")},
		{`contains(keys({a = 1, b = 2}), "b")`, cty.True},
		{`lookup({a = "x"}, "b", "dflt")`, cty.StringVal("dflt")},
		{`max(1, 5, 3) + min(2, 4) + abs(-1)`, cty.NumberIntVal(8)},
		{`coalesce(null, "b")`, cty.StringVal("b")},
		{`jsondecode(jsonencode({a = 1})).a`, cty.NumberIntVal(1)},
		{`regex("v([0-9]+)", "v12")[0]`, cty.StringVal("12")},
		{`replace("a-b", "-", "_")`, cty.StringVal("a_b")},
		{`trimspace("  x ")`, cty.StringVal("x")},
		{`substr("abcdef", 1, 2)`, cty.StringVal("bc")},
		{`formatdate("YYYY", "2026-11-26T00:00:00Z")`, cty.StringVal("2026")},
		{`timeadd("2026-11-26T00:00:00Z", "1h")`, cty.StringVal("2026-11-26T01:00:00Z")},
		{`tostring(5)`, cty.StringVal("5")},
		{`tonumber("5")`, cty.NumberIntVal(5)},
		{`try(tonumber("x"), -1)`, cty.NumberIntVal(-1)},
		{`can(regex("^a", "abc"))`, cty.True},
		{`length(values(merge({a = 1}, {b = 2})))`, cty.NumberIntVal(2)},
	}
	ctx := &hcl.EvalContext{Functions: Functions(FunctionsLive)}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			expr, diags := hclsyntax.ParseExpression([]byte(tt.expr), "t.hcl", hcl.InitialPos)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			got, diags := expr.Value(ctx)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			if !got.RawEquals(tt.want) && !(got.Type() == cty.Number && got.Equals(tt.want).True()) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestStaticFunctionsAreUnknown(t *testing.T) {
	ctx := &hcl.EvalContext{Functions: Functions(FunctionsStatic)}
	for _, src := range []string{`env("HOME")`, `timestamp()`} {
		expr, _ := hclsyntax.ParseExpression([]byte(src), "t.hcl", hcl.InitialPos)
		v, diags := expr.Value(ctx)
		if diags.HasErrors() || v.IsKnown() || v.Type() != cty.String {
			t.Errorf("%s = %#v, %v; want an unknown string", src, v, diags)
		}
	}
	live := &hcl.EvalContext{Functions: Functions(FunctionsLive)}
	expr, _ := hclsyntax.ParseExpression([]byte(`timestamp()`), "t.hcl", hcl.InitialPos)
	if v, diags := expr.Value(live); diags.HasErrors() || !v.IsKnown() || len(v.AsString()) < 20 {
		t.Errorf("live timestamp() = %#v, %v", v, diags)
	}
}
