package draft07

import "testing"

func TestDecimal(t *testing.T) {
	tests := []struct {
		a, b    string
		cmp     int
		integer bool // a's
	}{
		{"0", "-0", 0, true},
		{"0.0", "0e10", 0, true},
		{"1", "1.0", 0, true},
		{"10", "1e1", 0, true},
		{"1.5", "15e-1", 0, false},
		{"-1", "0", -1, true},
		{"-2", "-1", -1, true},
		{"-1", "-2", 1, true},
		{"0.001", "0", 1, false},
		{"-0.001", "0", -1, false},
		{"123", "1e2", 1, true},
		{"99.99", "1e2", -1, false},
		{"1e1000001", "1e1000000", 1, true},
		{"1e99999999999999999999", "1e1000000", 1, true},
		{"1e-99999999999999999999", "0", 1, false},
		{"-1e99999999999999999999", "-1", -1, true},
		{"1.10", "1.1", 0, false},
		{"1.2", "1.10", 1, false},
		{"12345678901234567890123", "12345678901234567890124", -1, true},
	}
	for _, tt := range tests {
		a, oka := parseDecimal(tt.a)
		b, okb := parseDecimal(tt.b)
		if !oka || !okb {
			t.Fatalf("parse %s, %s: %v, %v", tt.a, tt.b, oka, okb)
		}
		if got := a.cmp(b); got != tt.cmp {
			t.Errorf("cmp(%s, %s) = %d, want %d", tt.a, tt.b, got, tt.cmp)
		}
		if got := b.cmp(a); got != -tt.cmp {
			t.Errorf("cmp(%s, %s) = %d, want %d", tt.b, tt.a, got, -tt.cmp)
		}
		if got := a.isInteger(); got != tt.integer {
			t.Errorf("isInteger(%s) = %v", tt.a, got)
		}
	}
	for _, bad := range []string{"", "-", "1e", "1.", ".5", "e1", "1e+", "0x1", "1.5.5", "--1", "1e1.5"} {
		if _, ok := parseDecimal(bad); ok {
			t.Errorf("parseDecimal(%q) ok", bad)
		}
	}
}
