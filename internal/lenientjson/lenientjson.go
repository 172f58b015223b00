// Package lenientjson reads configuration JSON as leniently as the Azure
// Functions host, which parses host.json, local.settings.json and
// function.json with Newtonsoft.Json: a byte-order mark, // and /* */
// comments and trailing commas are accepted. Standardize turns such a file
// into standard JSON for encoding/json, keeping every line and column where
// it was so that errors still point into the file as written.
//
// Single-quoted strings and unquoted property names, which Newtonsoft also
// accepts, are not supported (no real app uses them).
package lenientjson

import (
	"bytes"
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/tailscale/hujson"
)

// SyntaxError is a JSON syntax error with its position (1-based).
type SyntaxError struct {
	Line, Column int
	Msg          string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

// Standardize returns data as standard JSON: a UTF-8 byte-order mark is
// dropped, UTF-16 text (with its mark) is converted to UTF-8, and comments
// and trailing commas become spaces. A syntax error is a *SyntaxError
// positioned in the returned text's terms, which are the file's lines and
// columns as an editor shows them.
func Standardize(data []byte) ([]byte, error) {
	text, err := toUTF8(data)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(text)) == 0 {
		return text, nil
	}
	out, err := hujson.Standardize(append([]byte(nil), text...))
	if err != nil {
		return text, toSyntaxError(err)
	}
	return out, nil
}

// toUTF8 drops a UTF-8 byte-order mark and converts marked UTF-16 text,
// as .NET's File.ReadAllText does.
func toUTF8(data []byte) ([]byte, error) {
	switch {
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		return data[3:], nil
	case bytes.HasPrefix(data, []byte{0x00, 0x00, 0xFE, 0xFF}), bytes.HasPrefix(data, []byte{0xFF, 0xFE, 0x00, 0x00}):
		return nil, errors.New("the file is UTF-32; save it as UTF-8")
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}):
		return fromUTF16(data[2:], false)
	case bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		return fromUTF16(data[2:], true)
	}
	return data, nil
}

func fromUTF16(b []byte, bigEndian bool) ([]byte, error) {
	if len(b)%2 != 0 {
		return nil, errors.New("the file has a UTF-16 byte-order mark but an odd length")
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		if bigEndian {
			u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		} else {
			u[i] = uint16(b[2*i+1])<<8 | uint16(b[2*i])
		}
	}
	var out []byte
	for _, r := range utf16.Decode(u) {
		out = utf8.AppendRune(out, r)
	}
	return out, nil
}

// toSyntaxError turns hujson's "hujson: line L, column C: msg" into a
// *SyntaxError.
func toSyntaxError(err error) error {
	var line, col int
	if n, _ := fmt.Sscanf(err.Error(), "hujson: line %d, column %d:", &line, &col); n == 2 {
		msg := err.Error()
		if inner := errors.Unwrap(err); inner != nil {
			msg = inner.Error()
		}
		return &SyntaxError{Line: line, Column: col, Msg: msg}
	}
	return err
}
