package plugins

import (
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"
)

func TestValidators(t *testing.T) {
	str := cty.StringVal
	num := func(n int64) cty.Value { return cty.NumberIntVal(n) }
	list := func(vs ...cty.Value) cty.Value { return cty.ListVal(vs) }
	for _, tt := range []struct {
		name string
		v    *Validator
		val  cty.Value
		want string // the problem's detail; "" for none
		path string // the element it is about, as formatted by pathString
	}{
		{"one of: in", OneOfStrings("GET", "POST"), str("POST"), "", ""},
		{"one of: out", OneOfStrings("GET", "POST"), str("get"), `"get" is not one of "GET", "POST".`, ""},
		{"one of: numbers", OneOf(num(1), num(2)), num(3), `3 is not one of 1, 2.`, ""},
		{"one of: each element", OneOfStrings("a", "b"), list(str("a"), str("c")), `"c" is not one of "a", "b".`, "[1]"},
		{"pattern: whole", MatchPattern(`[a-z]+`), str("abc"), "", ""},
		{"pattern: part is not enough", MatchPattern(`[a-z]+`), str("abc1"), `"abc1" does not match the pattern [a-z]+.`, ""},
		{"pattern: alternation anchored", MatchPattern(`a|b`), str("ab"), `"ab" does not match the pattern a|b.`, ""},
		{"url: ok", URLWithScheme("http", "https"), str("https://x.example/p"), "", ""},
		{"url: scheme", URLWithScheme("http", "https"), str("ftp://x.example/"), `the URL's scheme is "ftp"; it must be "http" or "https".`, ""},
		{"url: scheme case", URLWithScheme("https"), str("HTTPS://x.example/"), "", ""},
		{"url: relative", URLWithScheme("https"), str("/metrics"), `"/metrics" is not an absolute URL (https://HOST/…).`, ""},
		{"url: no host", URLWithScheme(), str("mailto:a@b"), `"mailto:a@b" is not an absolute URL.`, ""},
		{"url: unparsable", URLWithScheme(), str("http://[::1"), `"http://[::1" is not a URL: missing ']' in host.`, ""},
		{"url: map values", URLWithScheme("https"), cty.MapVal(map[string]cty.Value{"a": str("http://x")}), `the URL's scheme is "http"; it must be "https".`, `["a"]`},
		{"range: in", Between(1, 10), num(10), "", ""},
		{"range: below", Between(1, 10), num(0), "0 is less than the minimum, 1.", ""},
		{"range: above", AtMost(0.5), cty.NumberFloatVal(0.75), "0.75 is more than the maximum, 0.5.", ""},
		{"range: at least", AtLeast(1), num(1), "", ""},
		{"length: string", LengthBetween(1, 3), str("héé"), "", ""},
		{"length: empty string", LengthBetween(1, -1), str(""), "0 characters is less than the minimum, 1 characters.", ""},
		{"length: list", LengthBetween(-1, 1), list(str("a"), str("b")), "2 elements is more than the maximum, 1 elements.", ""},
		{"duration: ok", DurationBetween(0, 0), str("1h30m"), "", ""},
		{"duration: not one", DurationBetween(0, 0), str("30"), `"30" is not a duration; write one like "30s", "5m" or "1h30m".`, ""},
		{"duration: short", DurationBetween(time.Second, time.Hour), str("500ms"), `"500ms" is less than 1s.`, ""},
		{"duration: long", DurationBetween(time.Second, time.Hour), str("2h"), `"2h" is more than 1h0m0s.`, ""},
		{"null passes", URLWithScheme("https"), cty.NullVal(cty.String), "", ""},
		{"unknown passes", URLWithScheme("https"), cty.UnknownVal(cty.String), "", ""},
		{"unknown element passes", OneOfStrings("a"), list(cty.UnknownVal(cty.String), str("a")), "", ""},
		{"marked value", OneOfStrings("a"), str("b").Mark("sensitive"), `The value (sensitive) is not one of "a".`, ""},
		{"marked number", AtMost(1), num(7).Mark("sensitive"), `The value (sensitive) is more than the maximum, 1.`, ""},
		{"marked length", LengthBetween(-1, 2), str("secret").Mark("sensitive"), `The value's length is more than the maximum, 2 characters.`, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			errs := tt.v.validate(tt.val, false)
			if tt.want == "" {
				if len(errs) > 0 {
					t.Errorf("problem: %s", errs[0].Detail)
				}
				return
			}
			if len(errs) != 1 {
				t.Fatalf("%d problems, want 1", len(errs))
			}
			if errs[0].Detail != tt.want {
				t.Errorf("detail %q\n want %q", errs[0].Detail, tt.want)
			}
			if got := pathString(errs[0].Path); got != tt.path {
				t.Errorf("path %q, want %q", got, tt.path)
			}
		})
	}
}

func pathString(p cty.Path) string {
	var b strings.Builder
	for _, s := range p {
		if i, ok := s.(cty.IndexStep); ok {
			if i.Key.Type() == cty.String {
				b.WriteString(`["` + i.Key.AsString() + `"]`)
			} else {
				b.WriteString("[" + i.Key.AsBigFloat().String() + "]")
			}
		}
	}
	return b.String()
}

// A schema whose validators cannot apply is refused.
func TestSchemaRefusesBadValidators(t *testing.T) {
	for _, tt := range []struct {
		name string
		attr *Attribute
		want string
	}{
		{"two kinds", &Attribute{Name: "a", Type: cty.String, Validators: []*Validator{{Pattern: "x", URL: &URLRule{}}}}, "2 kinds set"},
		{"none", &Attribute{Name: "a", Type: cty.String, Validators: []*Validator{{}}}, "0 kinds set"},
		{"bad pattern", &Attribute{Name: "a", Type: cty.String, Validators: []*Validator{MatchPattern("(")}}, "pattern validator"},
		{"pattern on a number", &Attribute{Name: "a", Type: cty.Number, Validators: []*Validator{MatchPattern("1")}}, "pattern validator on a number attribute"},
		{"range on a string", &Attribute{Name: "a", Type: cty.String, Validators: []*Validator{AtLeast(1)}}, "range validator on a string attribute"},
		{"range out of order", &Attribute{Name: "a", Type: cty.Number, Validators: []*Validator{Between(2, 1)}}, "min is more than max"},
		{"length on a bool", &Attribute{Name: "a", Type: cty.Bool, Validators: []*Validator{LengthBetween(1, 2)}}, "length validator on a bool attribute"},
		{"one of, wrong type", &Attribute{Name: "a", Type: cty.Number, Validators: []*Validator{OneOfStrings("x")}}, "one_of validator"},
		{"upper-case scheme", &Attribute{Name: "a", Type: cty.String, Validators: []*Validator{URLWithScheme("HTTP")}}, "not lower-case"},
		{"default fails", &Attribute{Name: "a", Type: cty.String, Default: cty.StringVal("ftp://x"), Validators: []*Validator{URLWithScheme("http")}}, "the default fails its validator"},
	} {
		s := &Schema{Config: []*Attribute{tt.attr}}
		err := s.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
	ok := &Schema{Config: []*Attribute{{Name: "urls", Type: cty.List(cty.String), Validators: []*Validator{URLWithScheme("https"), LengthBetween(1, -1)}}}}
	if err := ok.Validate(); err != nil {
		t.Errorf("element validators on a list: %v", err)
	}
}
