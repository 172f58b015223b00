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
)

// errInvalidRaw is the error of a json.RawMessage that is not JSON.
var errInvalidRaw = errors.New("payload is not valid JSON")

// Marshal renders v as stored JSON text; nil and an empty json.RawMessage
// become "" (no value).
func Marshal(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
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
