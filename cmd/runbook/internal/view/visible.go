package view

import (
	"encoding/json"
	"reflect"
	"strings"

	"github.com/runbookdev/runbook/engine"
	"github.com/runbookdev/runbook/engine/transcript"

	"github.com/runbookdev/runbook/cmd/runbook/internal/text"
)

// visibleEvent returns a copy of e with every string in it made visible.
func visibleEvent(e engine.Event) engine.Event {
	return visibleValue(reflect.ValueOf(e)).Interface().(engine.Event)
}

// visibleValue copies v with every string in it, however deep, made
// visible. Unexported fields and pointers are copied as they are.
func visibleValue(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.String:
		return reflect.ValueOf(text.Visible(v.String())).Convert(v.Type())
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

// VisibleTranscript makes every string recorded in tr visible, for showing
// it: the events' types and the strings inside their fields.
func VisibleTranscript(tr *transcript.Transcript) {
	for i := range tr.Events {
		visibleRecorded(&tr.Events[i])
	}
}

// visibleRecorded makes every string recorded in e visible.
func visibleRecorded(e *transcript.Event) {
	e.Type = text.Visible(e.Type)
	fields := make(map[string]json.RawMessage, len(e.Fields))
	for k, raw := range e.Fields {
		fields[text.Visible(k)] = visibleJSON(raw)
	}
	e.Fields = fields
}

// visibleJSON re-encodes a JSON value with every string in it made visible.
func visibleJSON(raw json.RawMessage) json.RawMessage {
	// Control characters in JSON text are escaped; others are raw UTF-8.
	if !strings.Contains(string(raw), `\`) && !text.NeedsEscape(string(raw)) || !json.Valid(raw) {
		return raw
	}
	val := decodeJSON(raw)
	b, err := json.Marshal(visibleValue(reflect.ValueOf(&val).Elem()).Interface())
	if err != nil {
		return raw
	}
	return b
}
