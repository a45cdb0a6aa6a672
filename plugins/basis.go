package plugins

import (
	"encoding/json"
	"fmt"
)

// EncodeBasis is a PlanResult.Basis as JSON, the form the built-in plugins
// use; v must always encode (strings, numbers, maps and slices of them).
func EncodeBasis(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("plugins: a basis that does not encode: %v", err))
	}
	return b
}

// DecodeBasis reads an ActionRequest.Basis that EncodeBasis made: nil when
// raw is (the run does not apply a saved plan).
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
