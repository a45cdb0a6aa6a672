package plugins

import (
	"encoding/json"
	"fmt"
)

// DecodeBasis reads an ActionRequest.Basis in JSON, the form the built-in
// plugins give it (through the SDK): nil when raw is (the run does not
// apply a saved plan).
func DecodeBasis[T any](raw []byte, plugin string) (*T, error) {
	if raw == nil {
		return nil, nil
	}
	b := new(T)
	if err := json.Unmarshal(raw, b); err != nil {
		return nil, fmt.Errorf("%s: the saved plan's basis cannot be read: %w", plugin, err)
	}
	return b, nil
}
