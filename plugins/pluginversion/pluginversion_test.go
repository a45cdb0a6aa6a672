package pluginversion

import (
	"strings"
	"testing"
)

func TestCompare(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"1.0.0", "1.0.0", 0},
		{"1.2", "1.2.0", 0},
		{"v1.2.0", "1.2.0", 0},
		{"1.2.0+build.5", "1.2.0", 0},
		{"1.10.0", "1.9.0", 1},
		{"0.2", "0.10", -1},
		{"1.0.0-rc.1", "1.0.0", -1},
		{"1.0.0-alpha", "1.0.0-alpha.1", -1},
		{"1.0.0-alpha.1", "1.0.0-alpha.beta", -1},
		{"1.0.0-beta.2", "1.0.0-beta.11", -1},
		{"1.0.0-rc.1", "1.0.0-beta", 1},
		{"2", "1.99.99", 1},
	} {
		a, err := Parse(tt.a)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Parse(tt.b)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.Compare(b); got != tt.want {
			t.Errorf("%s vs %s: %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := b.Compare(a); got != -tt.want {
			t.Errorf("%s vs %s: %d, want %d", tt.b, tt.a, got, -tt.want)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	for _, s := range []string{"", "v", "devel", "1..2", "1.x", "-1", "1.0-", "1.0+", "1.0-rc..1", "1.0-r c", "1.2.3.4.5.6.7.8.9", "1.+2", "99999999999999999999"} {
		if _, err := Parse(s); err == nil {
			t.Errorf("%q parsed", s)
		}
	}
}

func TestConstraints(t *testing.T) {
	for _, tt := range []struct {
		constraint string
		allows     []string
		refuses    []string
	}{
		{">= 0.2, < 1.0", []string{"0.2.0", "0.9.9", "0.10"}, []string{"0.1.9", "1.0.0", "1.0.1"}},
		{"1.2.3", []string{"1.2.3", "v1.2.3+x"}, []string{"1.2.4", "1.2.3-rc.1"}},
		{"= 1.2", []string{"1.2.0"}, []string{"1.2.1"}},
		{"!= 1.3.0", []string{"1.2.9", "1.3.1"}, []string{"1.3"}},
		{">1.0", []string{"1.0.1"}, []string{"1.0.0"}},
		{"<= 2", []string{"2.0.0", "1.5"}, []string{"2.0.1"}},
		{"~> 1.2", []string{"1.2.0", "1.9.3"}, []string{"1.1.9", "2.0.0"}},
		{"~> 1.2.3", []string{"1.2.3", "1.2.10"}, []string{"1.2.2", "1.3.0"}},
		{"< 1.0.0", []string{"1.0.0-rc.1"}, []string{"1.0.0"}},
	} {
		c, err := ParseConstraints(tt.constraint)
		if err != nil {
			t.Fatalf("%q: %v", tt.constraint, err)
		}
		for _, s := range tt.allows {
			if v, _ := Parse(s); !c.Allows(v) {
				t.Errorf("%q refuses %s", tt.constraint, s)
			}
		}
		for _, s := range tt.refuses {
			if v, _ := Parse(s); c.Allows(v) {
				t.Errorf("%q allows %s", tt.constraint, s)
			}
		}
	}
}

func TestParseConstraintsRefuses(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", "an empty version constraint"},
		{">=", "an operator without a version"},
		{">= 1.0,", "an operator without a version"},
		{"=> 1.0", `"> 1" is not a number`},
		{"~> 1", "~> needs at least two numbers"},
		{">= one", `"one" is not a number`},
	} {
		_, err := ParseConstraints(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, want %q", tt.in, err, tt.want)
		}
	}
}

// FuzzConstraints: parsing never panics, and what parses is consistent: a
// version compares equal to itself, and "= v" allows v.
func FuzzConstraints(f *testing.F) {
	for _, s := range []string{">= 0.2, < 1.0", "~> 1.2.3", "1.0.0-rc.1+b", "!= 2", "v1", "<=1.0.0-alpha.beta.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if c, err := ParseConstraints(s); err == nil {
			_ = c.Allows(&Version{segments: []int64{1, 2, 3}})
		}
		v, err := Parse(s)
		if err != nil {
			return
		}
		if v.Compare(v) != 0 {
			t.Errorf("%q does not equal itself", s)
		}
		if strings.ContainsAny(s, ",") {
			return
		}
		c, err := ParseConstraints("= " + s)
		if err != nil {
			t.Fatalf("%q parses as a version but not as = %q: %v", s, s, err)
		}
		if !c.Allows(v) {
			t.Errorf("= %q does not allow %q", s, s)
		}
	})
}
