package exitcode

import (
	"errors"
	"fmt"
	"testing"
)

type coded struct{ code int }

func (c coded) Error() string { return "coded" }
func (c coded) ExitCode() int { return c.code }

func TestOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, OK},
		{"plain", errors.New("x"), Failed},
		{"coded", coded{Refused}, Refused},
		{"wrapped", fmt.Errorf("take lock: %w", coded{BadInput}), BadInput},
		{"joined", errors.Join(errors.New("a"), coded{Interrupted}), Interrupted},
	}
	for _, tt := range tests {
		if got := Of(tt.err); got != tt.want {
			t.Errorf("%s: Of = %d, want %d", tt.name, got, tt.want)
		}
	}
}
