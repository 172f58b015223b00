// Package jsonpos reads the app's JSON files (host.json,
// local.settings.json, function.json) and reports a problem by line and
// column, so that a startup message can say file:line:column. It is the one
// place JSON configuration is parsed, as leniently as the Functions host
// (byte-order marks, comments, trailing commas).
package jsonpos

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"unicode/utf8"
)

// Position returns the 1-based line and column of a byte offset into data.
// Columns count characters (UTF-8 code points), not bytes; an offset past
// the end is the end.
func Position(data []byte, offset int64) (line, col int) {
	if offset < 0 {
		offset = 0
	}
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	before := data[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	if i := bytes.LastIndexByte(before, '\n'); i >= 0 {
		before = before[i+1:]
	}
	return line, utf8.RuneCount(before) + 1
}

// Error is a problem at a position of a JSON document.
type Error struct {
	Line, Column int
	// Syntax is true for malformed JSON, false for a well-formed value of
	// the wrong type.
	Syntax bool
	// Detail says what is wrong.
	Detail string
	// Err is the decoder's error.
	Err error
}

func (e *Error) Error() string {
	if e.Syntax {
		return fmt.Sprintf("invalid JSON at line %d, column %d: %s", e.Line, e.Column, e.Detail)
	}
	return fmt.Sprintf("at line %d, column %d: %s", e.Line, e.Column, e.Detail)
}

func (e *Error) Unwrap() error { return e.Err }

// Unmarshal decodes data, which must hold exactly one JSON value, into v,
// with numbers in interface values kept as json.Number. As in the
// Functions host, a byte-order mark, comments and trailing commas are
// accepted (see standardize). Problems are returned as *Error, positioned
// in the file as an editor shows it.
func Unmarshal(data []byte, v any) error {
	data, err := standardize(data)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return describe(data, err, dec.InputOffset())
	}
	// Anything after the first value is a syntax error too.
	if _, err := dec.Token(); err != io.EOF {
		line, col := Position(data, dec.InputOffset()-1)
		return &Error{Line: line, Column: col, Syntax: true, Detail: "unexpected data after the top-level value", Err: err}
	}
	return nil
}

// describe positions a decoding error. The decoder's offsets count the
// bytes read, so the offending character is the one before.
func describe(data []byte, err error, fallback int64) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	at := func(offset int64, syntax bool, detail string) error {
		line, col := Position(data, offset)
		return &Error{Line: line, Column: col, Syntax: syntax, Detail: detail, Err: err}
	}
	switch {
	case errors.As(err, &se):
		return at(se.Offset-1, true, se.Error())
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "the value"
		}
		return at(te.Offset-1, false, fmt.Sprintf("%s must be %s, not %s", field, kind(te.Type), te.Value))
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return at(int64(len(data)), true, "unexpected end of file")
	}
	return at(fallback, true, err.Error())
}

// kind names a Go type the way a JSON author thinks of it.
func kind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return t.String()
}
