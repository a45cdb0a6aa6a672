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
		{"operators", "a = 1" + strings.Repeat("+1", 100000), "Nesting too deep", 1},
		{"subtraction", "a = " + strings.Repeat("1 - ", 100000) + "1", "Nesting too deep", 1},
		{"comparisons", "a = " + strings.Repeat("1 != ", 100000) + "1", "Nesting too deep", 1},
		{"operators between parentheses", "a = " + strings.Repeat("(1)+", 100000) + "1", "Nesting too deep", 1},
		{"operators between strings", `a = ` + strings.Repeat(`"x" == `, 100000) + `"x"`, "Nesting too deep", 1},
		{"indexes", "a = x" + strings.Repeat("[x]", 100000), "Nesting too deep", 1},
		{"digits after a non-ASCII character", "a = é1" + strings.Repeat("7", MaxNumberDigits), "Number too long", 1},
		{"digits after a minus", "a = x -1" + strings.Repeat("7", MaxNumberDigits), "Number too long", 1},
		{"operators below the limit", "a = " + strings.Repeat("1 - ", MaxNesting-10) + "1", "", 0},
		{"operators on many lines", strings.Repeat("a = x == 1 && y != 2 || z >= 3 ? -1 : !b\n", 1000), "", 0},
		{"for expressions", strings.Repeat("a = {for k, v in x : k => v[0] if v != null}\n", 1000), "", 0},
		{"brackets in strings", `a = "` + strings.Repeat("(", 100000) + `"`, "", 0},
		{"brackets in comments", "# " + strings.Repeat("(", 100000) + "\n/* " + strings.Repeat("[", 1000) + " */\n// {{{{", "", 0},
		{"brackets in a heredoc", "a = <<-EOT\n" + strings.Repeat("{", 100000) + "\n  EOT\nb = 1\n", "", 0},
		{"escaped interpolation", `a = "` + strings.Repeat("$${(", 1000) + `"`, "", 0},
		{"closed strings", strings.Repeat(`a = "${"x"}"`+"\n", 1000), "", 0},
		{"a string goes on over a newline, as the lexer reads it", "a = \"x\n" + strings.Repeat("(", deep) + "\"", "", 0},
		{"code after a string over two lines", "a = \"x\n\" + " + strings.Repeat("(", deep), "Nesting too deep", 2},
		{"heredoc marker with trailing white space", "a = <<EOT\nx\n  EOT \f\nb = " + strings.Repeat("(", deep), "Nesting too deep", 4},
		{"heredoc marker at the end of the file is no marker", "a = <<EOT\nEOT", "", 0},
		{"heredoc marker beyond ASCII", "a = <<EÖT\n/*\nEÖT\nb = " + strings.Repeat("(", deep) + "\n# */", "Unsupported heredoc marker", 1},
		{"empty heredoc", "a = <<EOT\nEOT\nb = " + strings.Repeat("(", deep), "Nesting too deep", 3},
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

// FuzzCheckHCLSource: the scan never panics, and it agrees with HCL's own
// lexer (which does not recurse) on where strings, heredocs, comments and
// templates are: a source it accepts never has more brackets open, by the
// lexer's tokens, than the limit (a small one, for the fuzzer to reach).
func FuzzCheckHCLSource(f *testing.F) {
	for _, seed := range []string{
		"a = [(1), {b = [2]}]\n", `a = "${"x"}" # (((`, "a = <<EOT\n${(}\nEOT\n", "a = <<-EOT\n  %{if x}(%{endif}\n  EOT\n",
		"/* ( */ a = 1", "a = \"x\n\" + (", `a = "$${(" + "%%{"`, "a = <<EOT\nEOT \f\nb = (", "a = 1e5 + -2.5",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, src string) {
		const limit = 3
		s := newScanner([]byte(src), "fuzz.hcl", limit)
		if s.hcl(); s.diags.HasErrors() {
			return
		}
		tokens, _ := hclsyntax.LexConfig([]byte(src), "fuzz.hcl", hcl.InitialPos)
		depth := 0
		for _, tok := range tokens {
			switch tok.Type {
			case hclsyntax.TokenOBrace, hclsyntax.TokenOBrack, hclsyntax.TokenOParen, hclsyntax.TokenOQuote,
				hclsyntax.TokenOHeredoc, hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl:
				depth++
			case hclsyntax.TokenCBrace, hclsyntax.TokenCBrack, hclsyntax.TokenCParen, hclsyntax.TokenCQuote,
				hclsyntax.TokenCHeredoc, hclsyntax.TokenTemplateSeqEnd:
				depth = max(depth-1, 0)
			}
			if depth > limit {
				t.Fatalf("accepted, but the lexer has %d levels open at %s", depth, tok.Range)
			}
		}
	})
}
