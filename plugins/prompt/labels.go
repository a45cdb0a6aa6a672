package prompt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// maxVersion bounds version numbers, so that max+1 never overflows and every
// version is exact as a cty number and as a JSON number in any reader.
const maxVersion = 999_999_999

// parseLabels decodes labels.json strictly: one JSON object whose keys are
// non-empty labels and whose values are whole version numbers from 1 to
// maxVersion, with no duplicate key and nothing after the object. The AI
// application reads the same file; a file we cannot read unambiguously is
// refused rather than guessed at, and then nothing is changed.
func parseLabels(data []byte) (map[string]int, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("the file is empty; want an object such as {\"production\": 1}")
	}
	if !utf8.Valid(data) {
		return nil, errors.New("the file is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("want an object mapping labels to versions, such as {\"production\": 1}, not %s", describe(tok))
	}
	labels := map[string]int{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("invalid JSON: %w", err)
		}
		label, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("invalid JSON: unexpected %s", describe(tok))
		}
		if label == "" {
			return nil, errors.New("a label is empty")
		}
		if _, dup := labels[label]; dup {
			return nil, fmt.Errorf("label %q is set twice", label)
		}
		tok, err = dec.Token()
		if err != nil {
			return nil, fmt.Errorf("label %q: invalid JSON: %w", label, err)
		}
		num, ok := tok.(json.Number)
		if !ok {
			return nil, fmt.Errorf("label %q: want a version number, not %s", label, describe(tok))
		}
		v, err := strconv.ParseInt(string(num), 10, 64)
		if err != nil || v < 1 || v > maxVersion {
			return nil, fmt.Errorf("label %q: %s is not a version number (a whole number from 1 to %d)", label, num, maxVersion)
		}
		labels[label] = int(v)
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if tok, err := dec.Token(); err != io.EOF {
		if err != nil {
			return nil, fmt.Errorf("invalid JSON after the object: %w", err)
		}
		return nil, fmt.Errorf("unexpected %s after the object", describe(tok))
	}
	return labels, nil
}

// describe names a JSON token for a message.
func describe(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			return "an object"
		case '[':
			return "an array"
		}
		return fmt.Sprintf("%q", rune(t))
	case string:
		return strconv.Quote(t)
	case json.Number:
		return "the number " + t.String()
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%v", tok)
}
