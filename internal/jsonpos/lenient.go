package jsonpos

// The Functions host parses its JSON files with Newtonsoft.Json, which
// accepts a byte-order mark, // and /* */ comments and trailing commas.
// standardize turns such a file into standard JSON for encoding/json,
// keeping every line and column where it was, so that errors still point
// into the file as written. Single-quoted strings and unquoted property
// names, which Newtonsoft also accepts, are not supported (no real app
// uses them).

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/tailscale/hujson"
)

// standardize returns data as standard JSON: a UTF-8 byte-order mark is
// dropped, UTF-16 text (with its mark) is converted to UTF-8, and comments
// and trailing commas become spaces. A syntax error is an *Error
// positioned in the returned text's terms, which are the file's lines and
// columns as an editor shows them.
func standardize(data []byte) ([]byte, error) {
	text, err := toUTF8(data)
	if err != nil {
		return nil, &Error{Line: 1, Column: 1, Syntax: true, Detail: err.Error(), Err: err}
	}
	if len(bytes.TrimSpace(text)) == 0 {
		return text, nil
	}
	out, err := hujson.Standardize(append([]byte(nil), text...))
	if err != nil {
		return text, toError(text, err)
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

// toError turns hujson's "hujson: line L, column C: msg" (C counting
// bytes) into an *Error whose column counts characters, like Position.
func toError(text []byte, err error) error {
	var line, col int
	if n, _ := fmt.Sscanf(err.Error(), "hujson: line %d, column %d:", &line, &col); n != 2 {
		return &Error{Line: 1, Column: 1, Syntax: true, Detail: err.Error(), Err: err}
	}
	offset := 0
	for l := 1; l < line && offset < len(text); l++ {
		i := bytes.IndexByte(text[offset:], '\n')
		if i < 0 {
			offset = len(text)
			break
		}
		offset += i + 1
	}
	line, col = Position(text, int64(offset+col-1))
	detail := err.Error()
	if inner := errors.Unwrap(err); inner != nil {
		detail = inner.Error()
	}
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		detail = "unexpected end of file"
	case strings.Contains(detail, "after top-level value"):
		detail = "unexpected data after the top-level value"
	}
	return &Error{Line: line, Column: col, Syntax: true, Detail: detail, Err: err}
}
