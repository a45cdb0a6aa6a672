package schema

import (
	"os"
	"path/filepath"
	"strings"
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

// derivation is one line of testdata/derived.txt.
type derivation struct {
	fn, expr string
	fails    bool
}

func readDerivations(t *testing.T) []derivation {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "derived.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var out []derivation
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fn, expr, _ := strings.Cut(line, ": ")
		fails := strings.HasPrefix(fn, "!")
		out = append(out, derivation{fn: strings.TrimPrefix(fn, "!"), expr: expr, fails: fails})
	}
	return out
}

// TestDerivedValuesStaySensitive applies every function of the language to
// a sensitive value: each result is still marked (a function that drops
// the mark would let the value be shown), each is reported to the engine
// to mask, and a function's error does not quote the value.
func TestDerivedValuesStaySensitive(t *testing.T) {
	const token = "Hunter2-Secret/Token+abc"
	var derived []cty.Value
	fns := FunctionsReporting(FunctionsLive, func(v cty.Value) { derived = append(derived, v) })
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{"token": cty.StringVal(token).Mark("sensitive")})},
		Functions: fns,
	}
	covered := map[string]bool{"timestamp": true} // takes no argument
	for _, d := range readDerivations(t) {
		covered[d.fn] = true
		t.Run(d.fn, func(t *testing.T) {
			expr, diags := hclsyntax.ParseExpression([]byte(d.expr), "t.hcl", hcl.InitialPos)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			derived = nil
			v, diags := expr.Value(ctx)
			if d.fails {
				if !diags.HasErrors() {
					t.Fatalf("%s did not fail", d.expr)
				}
				for _, part := range []string{"Hunter2", "HUNTER2", "hunter2", "Secret/Token", "SECRET/TOKEN"} {
					if strings.Contains(diags.Error(), part) {
						t.Errorf("the error of %s quotes the secret: %s", d.expr, diags.Error())
					}
				}
				return
			}
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			if d.fn == "can" {
				// can says whether its argument evaluates, not what it is.
				return
			}
			if !v.ContainsMarked() {
				t.Errorf("%s = %#v: not marked sensitive", d.expr, v)
			}
			if len(derived) == 0 {
				t.Errorf("%s: no derived value reported", d.expr)
			}
		})
	}
	for name := range Functions(FunctionsLive) {
		if !covered[name] {
			t.Errorf("function %s is missing from testdata/derived.txt", name)
		}
	}
}
