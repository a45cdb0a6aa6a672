package main

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/runbookdev/runbook/engine"
	"github.com/runbookdev/runbook/engine/transcript"
)

// visible returns s with every character a terminal would act on rather
// than show written as an escape: ESC as \x1b (no colour, title change or
// clear screen comes from a command's output, a server's reply or $USER),
// CR as \r (no line overwritten), other C0 and C1 controls and DEL, the
// bidirectional overrides that reorder what is shown (\u202e), and bytes
// that are not UTF-8 (\xff). Newlines and tabs are kept. Transcripts keep
// the raw bytes; only what is shown is escaped.
func visible(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 && r != '\n' && r != '\t', r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r >= 0x80 && r < 0xa0, isBidiControl(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func needsEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\n' && c != '\t' || c >= 0x7f {
			// Above 0x7f: UTF-8, checked rune by rune.
			if c < 0x80 {
				return true
			}
			for _, r := range s[i:] {
				if r == utf8.RuneError || r >= 0x80 && r < 0xa0 || isBidiControl(r) {
					return true
				}
			}
			return !utf8.ValidString(s[i:])
		}
	}
	return false
}

func isBidiControl(r rune) bool {
	return r == 0x061c || r == 0x200e || r == 0x200f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069
}

// visibleEvent returns a copy of e with every string in it made visible.
func visibleEvent(e engine.Event) engine.Event {
	return visibleValue(reflect.ValueOf(e)).Interface().(engine.Event)
}

// visibleValue copies v with every string in it, however deep, made
// visible. Unexported fields and pointers are copied as they are.
func visibleValue(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.String:
		return reflect.ValueOf(visible(v.String())).Convert(v.Type())
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		out := reflect.New(v.Type()).Elem()
		out.Set(visibleValue(v.Elem()))
		return out
	case reflect.Struct:
		out := reflect.New(v.Type()).Elem()
		out.Set(v)
		for i := 0; i < out.NumField(); i++ {
			if f := out.Field(i); f.CanSet() {
				f.Set(visibleValue(f))
			}
		}
		return out
	case reflect.Slice:
		if v.IsNil() || v.Type().Elem().Kind() == reflect.Uint8 {
			return v
		}
		out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := 0; i < v.Len(); i++ {
			out.Index(i).Set(visibleValue(v.Index(i)))
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			out.SetMapIndex(visibleValue(it.Key()), visibleValue(it.Value()))
		}
		return out
	}
	return v
}

// visibleTranscript makes every string recorded in tr visible, for showing
// it: the events' types and the strings inside their fields.
func visibleTranscript(tr *transcript.Transcript) {
	for i := range tr.Events {
		e := &tr.Events[i]
		e.Type = visible(e.Type)
		fields := make(map[string]json.RawMessage, len(e.Fields))
		for k, raw := range e.Fields {
			fields[visible(k)] = visibleJSON(raw)
		}
		e.Fields = fields
	}
}

// visibleJSON re-encodes a JSON value with every string in it made visible.
func visibleJSON(raw json.RawMessage) json.RawMessage {
	// Control characters in JSON text are escaped; others are raw UTF-8.
	if !strings.Contains(string(raw), `\`) && !needsEscape(string(raw)) || !json.Valid(raw) {
		return raw
	}
	val := decodeJSON(raw)
	b, err := json.Marshal(visibleValue(reflect.ValueOf(&val).Elem()).Interface())
	if err != nil {
		return raw
	}
	return b
}

// visibleLine is visible for a value shown on one line (a name, a table
// cell): newlines and tabs are escaped too.
func visibleLine(s string) string {
	return strings.NewReplacer("\n", `\n`, "\t", `\t`).Replace(visible(s))
}
