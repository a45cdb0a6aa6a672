package plugins

import (
	"strings"
	"testing"
)

func TestBasisRoundTrip(t *testing.T) {
	type basis struct {
		Name    string `json:"name"`
		Version int    `json:"version"`
	}
	got, err := DecodeBasis[basis]([]byte(`{"name":"support-agent","version":7}`), "prompt")
	if err != nil || got == nil || *got != (basis{"support-agent", 7}) {
		t.Errorf("round trip = %+v, %v", got, err)
	}
	if got, err := DecodeBasis[basis](nil, "prompt"); got != nil || err != nil {
		t.Errorf("no basis = %+v, %v; want nil, nil", got, err)
	}
	if _, err := DecodeBasis[basis]([]byte("{"), "prompt"); err == nil || !strings.HasPrefix(err.Error(), "prompt: the saved plan's basis cannot be read") {
		t.Errorf("bad basis = %v", err)
	}
}
