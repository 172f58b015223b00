// Package payload converts between Go values and the JSON text that
// history events, messages and status rows carry. In that text "" means no
// value (JSON null); a json.RawMessage is passed through unchanged, so
// large inputs are not re-encoded.
//
// It is host plumbing shared by the engine, the durable client and the
// author test kit; function authors never call it.
package payload

import (
	"encoding/json"
	"errors"
	"unsafe"
)

// Text is payload text its producer has already checked to be JSON (a
// request body the management API validated). Marshal passes it through
// as is: a large payload is neither validated again nor copied.
type Text string

// Valid reports whether s is valid JSON. It reads s in place: checking a
// 50 MB payload must not need a second 50 MB.
func Valid(s string) bool {
	return json.Valid(unsafe.Slice(unsafe.StringData(s), len(s)))
}

// errInvalidRaw is the error of a json.RawMessage that is not JSON.
var errInvalidRaw = errors.New("payload is not valid JSON")

// Marshal renders v as stored JSON text; nil and an empty json.RawMessage
// or Text become "" (no value).
func Marshal(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case Text:
		return string(x), nil
	case json.RawMessage:
		if len(x) == 0 {
			return "", nil
		}
		if !json.Valid(x) {
			return "", errInvalidRaw
		}
		return string(x), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// Unmarshal decodes stored JSON text into out. "" leaves out at its zero
// value; a nil out discards the payload; a *json.RawMessage receives the
// text as is.
func Unmarshal(text string, out any) error {
	if out == nil || text == "" {
		return nil
	}
	if raw, ok := out.(*json.RawMessage); ok {
		*raw = json.RawMessage(text)
		return nil
	}
	return json.Unmarshal([]byte(text), out)
}
