package schema

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

func TestCheckHCLSource(t *testing.T) {
	deep := MaxNesting + 1
	tests := []struct {
		name    string
		src     string
		summary string // "" for no diagnostic
		line    int
	}{
		{"shallow", "a = [(1), {b = [2]}]\n", "", 0},
		{"parens", "a = " + strings.Repeat("(", 100000) + "1", "Nesting too deep", 1},
		{"brackets on line 2", "x = 1\na = " + strings.Repeat("[", 100000), "Nesting too deep", 2},
		{"braces", strings.Repeat("{", 100000), "Nesting too deep", 1},
		{"blocks", strings.Repeat("b {\n", deep), "Nesting too deep", deep},
		{"at the limit", strings.Repeat("(", MaxNesting-1) + strings.Repeat(")", MaxNesting-1), "", 0},
		{"interpolations", `a = "` + strings.Repeat(`${"`, deep), "Nesting too deep", 1},
		{"heredoc interpolations", "a = <<EOT\n" + strings.Repeat("${(", deep), "Nesting too deep", 2},
		{"directives", `a = "` + strings.Repeat(`%{if true}`, deep), "Nesting too deep", 1},
		{"not", "a = " + strings.Repeat("!", 100000) + "true", "Nesting too deep", 1},
		{"negate", "a = " + strings.Repeat("- ", 100000) + "1", "Nesting too deep", 1},
		{"conditionals", "a = " + strings.Repeat("true ? 1 : ", 100000) + "2", "Nesting too deep", 1},
		{"many conditionals, one per line", strings.Repeat("a = x ? 1 : 2\n", 3*MaxNesting), "", 0},
		{"many conditionals, one per item", "a = [" + strings.Repeat("x ? 1 : 2, ", 3*MaxNesting) + "]", "", 0},
		{"long subtraction", "a = " + strings.Repeat("1 - ", 3*MaxNesting) + "1", "", 0},
		{"not equal", "a = " + strings.Repeat("1 != ", 3*MaxNesting) + "1", "", 0},
		{"brackets in strings", `a = "` + strings.Repeat("(", 100000) + `"`, "", 0},
		{"brackets in comments", "# " + strings.Repeat("(", 100000) + "\n/* " + strings.Repeat("[", 1000) + " */\n// {{{{", "", 0},
		{"brackets in a heredoc", "a = <<-EOT\n" + strings.Repeat("{", 100000) + "\n  EOT\nb = 1\n", "", 0},
		{"escaped interpolation", `a = "` + strings.Repeat("$${(", 1000) + `"`, "", 0},
		{"closed strings", strings.Repeat(`a = "${"x"}"`+"\n", 1000), "", 0},
		{"unterminated string ends at its line", "a = \"x\n" + strings.Repeat("(", deep), "Nesting too deep", 2},
		{"long number", "a = 1" + strings.Repeat("7", MaxNumberDigits), "Number too long", 1},
		{"huge exponent", "a = 1e9999999", "Number out of range", 1},
		{"negative huge exponent", "a = 1e-9999999", "Number out of range", 1},
		{"numbers in bounds", "a = [1e308, 1.5e-308, " + strings.Repeat("9", MaxNumberDigits) + "]", "", 0},
		{"digits in names", "a" + strings.Repeat("1", 1000) + " = 1", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			diags := CheckHCLSource([]byte(tc.src), "x.hcl")
			if tc.summary == "" {
				if len(diags) > 0 {
					t.Fatalf("unexpected diagnostics: %s", diags.Error())
				}
				return
			}
			if len(diags) != 1 || diags[0].Summary != tc.summary || diags[0].Subject == nil {
				t.Fatalf("want one %q with a position, got %v", tc.summary, diags)
			}
			if got := diags[0].Subject.Start.Line; got != tc.line {
				t.Errorf("line %d, want %d", got, tc.line)
			}
		})
	}
}

// TestCheckHCLSourceAcceptsShippedFiles: the limits refuse no file that is
// valid today.
func TestCheckHCLSourceAcceptsShippedFiles(t *testing.T) {
	var names []string
	for _, glob := range []string{"../runbooks/*.hcl", "testdata/*/*.hcl", "testdata/*/*/*.hcl", "../examples/*/*.hcl"} {
		m, _ := filepath.Glob(glob)
		names = append(names, m...)
	}
	if len(names) < 10 {
		t.Fatalf("found only %d files", len(names))
	}
	for _, name := range names {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if diags := CheckHCLSource(src, name); diags.HasErrors() && !strings.Contains(name, "invalid") {
			t.Errorf("%s: %s", name, diags.Error())
		}
	}
}

func TestCheckJSONSource(t *testing.T) {
	tests := []struct {
		name, src, summary string
	}{
		{"object", `{"a": [1, {"b": "[[[["}], "c": -2.5e10}`, ""},
		{"deep arrays", strings.Repeat("[", 1000000), "Nesting too deep"},
		{"deep objects", strings.Repeat(`{"a":`, 100000), "Nesting too deep"},
		{"escaped quote", `{"a": "\"[[[[[` + strings.Repeat("[", 1000) + `"}`, ""},
		{"long number", `{"a": -1` + strings.Repeat("0", MaxNumberDigits) + `}`, "Number too long"},
		{"huge exponent", `{"a": 1E+9999999}`, "Number out of range"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			diags := CheckJSONSource([]byte(tc.src), "x.json")
			switch {
			case tc.summary == "" && len(diags) > 0:
				t.Fatalf("unexpected diagnostics: %s", diags.Error())
			case tc.summary != "" && (len(diags) != 1 || diags[0].Summary != tc.summary):
				t.Fatalf("want %q, got %v", tc.summary, diags)
			}
		})
	}
}

func TestCheckInputNumbers(t *testing.T) {
	big, _ := cty.ParseNumberVal("1e9999999")
	tiny, _ := cty.ParseNumberVal("1e-9999999")
	tests := []struct {
		name string
		v    cty.Value
		to   cty.Type
		ok   bool
	}{
		{"small", cty.NumberIntVal(5), cty.Number, true},
		{"float64 range", cty.NumberFloatVal(1e308), cty.Number, true},
		{"zero", cty.Zero, cty.Number, true},
		{"huge", big, cty.Number, false},
		{"tiny", tiny, cty.Number, false},
		{"huge in a list", cty.ListVal([]cty.Value{cty.NumberIntVal(1), big}), cty.List(cty.Number), false},
		{"marked", big.Mark("sensitive"), cty.Number, false},
		{"long numeric string", cty.StringVal(strings.Repeat("7", MaxNumberDigits+1)), cty.Number, false},
		{"long numeric string for a string", cty.StringVal(strings.Repeat("7", MaxNumberDigits+1)), cty.String, true},
		{"huge exponent in a string", cty.StringVal("1e9999999"), cty.Number, false},
		{"huge exponent in a string in an object", cty.ObjectVal(map[string]cty.Value{"n": cty.StringVal("1e9999999")}),
			cty.Object(map[string]cty.Type{"n": cty.Number}), false},
		{"long text", cty.StringVal(strings.Repeat("seven ", 100)), cty.Number, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := CheckInputNumbers(tc.v, tc.to); (err == nil) != tc.ok {
				t.Fatalf("CheckInputNumbers: %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func BenchmarkCheckHCLSource(b *testing.B) {
	src, err := os.ReadFile("../runbooks/rollback-prompt.hcl")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		CheckHCLSource(src, "x.hcl")
	}
}
