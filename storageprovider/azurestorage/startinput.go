package azurestorage

import (
	"bytes"
	"encoding/json"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// startMessageInput is what an Instances row's Input column holds when it
// points at an offloaded ExecutionStarted message: the message's input,
// or the blob's text when it is not a start message. data is the
// downloaded blob, the caller's own buffer, which it gives up.
//
// The input is unquoted in place inside data and returned as a view of
// it: decoding the whole message would copy a large input twice (the
// decoder's unquoting buffer, then the string). The view keeps the
// message's few other bytes alive with it. Bodies the in-place reader
// does not take (Base64, a reference to another blob, an input that is
// not a string, raw invalid UTF-8 the decoder would replace) are decoded
// whole as before.
func startMessageInput(data []byte) string {
	if in, ok := startInputInPlace(data); ok {
		return in
	}
	d, err := decodeBodyBytes(data)
	if err == nil && d.msg != nil {
		return d.msg.Event.Input
	}
	return ownedString(data)
}

// startInputInPlace finds TaskMessage.Event.Input in a MessageData body
// and unquotes it in place; ok is false when the body is not one it
// reads (the caller then decodes it whole). data is changed only when ok
// is true.
func startInputInPlace(data []byte) (string, bool) {
	t := bytes.TrimLeft(data, " \t\r\n")
	if len(t) == 0 || t[0] != '{' || !json.Valid(data) {
		return "", false
	}
	off := len(data) - len(t)
	if v, found := memberValue(data, off, "CompressedBlobName"); found {
		if ref := string(data[v:skipValue(data, v)]); ref != "null" && ref != `""` {
			return "", false // a reference to another blob
		}
	}
	at := off
	for _, key := range []string{"TaskMessage", "Event"} {
		v, found := memberValue(data, at, key)
		if !found || data[v] != '{' {
			return "", false
		}
		at = v
	}
	v, found := memberValue(data, at, "Input")
	if !found || data[v] != '"' {
		return "", false
	}
	end := skipValue(data, v)
	if !utf8.Valid(data[v:end]) {
		return "", false
	}
	n := unquoteInPlace(data[v+1 : end-1])
	return ownedString(data[v+1 : v+1+n]), true
}

// memberValue returns the offset of the value of the object member at
// obj (the offset of its '{') named key, matched as encoding/json matches
// field names (case-insensitively; the last of duplicates wins). data
// must be valid JSON.
func memberValue(data []byte, obj int, key string) (int, bool) {
	at, found := -1, false
	i := skipSpace(data, obj+1)
	for data[i] != '}' {
		kEnd := skipValue(data, i)
		name := data[i+1 : kEnd-1]
		if bytes.IndexByte(name, '\\') >= 0 {
			var s string
			_ = json.Unmarshal(data[i:kEnd], &s)
			name = []byte(s)
		}
		v := skipSpace(data, skipSpace(data, kEnd)+1) // past the ':'
		if bytes.EqualFold(name, []byte(key)) {
			at, found = v, true
		}
		i = skipSpace(data, skipValue(data, v))
		if data[i] == ',' {
			i = skipSpace(data, i+1)
		}
	}
	return at, found
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n') {
		i++
	}
	return i
}

// skipValue returns the offset just past the JSON value at i (valid JSON).
func skipValue(data []byte, i int) int {
	switch data[i] {
	case '"':
		for j := i + 1; ; j++ {
			switch data[j] {
			case '\\':
				j++
			case '"':
				return j + 1
			}
		}
	case '{', '[':
		depth := 0
		for j := i; ; j++ {
			switch data[j] {
			case '"':
				j = skipValue(data, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
	default: // number, true, false, null
		j := i
		for j < len(data) && !endsLiteral(data[j]) {
			j++
		}
		return j
	}
}

// endsLiteral reports whether c ends a number or a literal.
func endsLiteral(c byte) bool {
	switch c {
	case ',', '}', ']', ' ', '\t', '\r', '\n':
		return true
	}
	return false
}

// unquoteInPlace decodes the body of a valid JSON string (without its
// quotes, valid UTF-8) over itself, as encoding/json decodes it (a lone
// surrogate escape becomes U+FFFD), and returns the decoded length. No
// escape decodes longer than it is written, so the output never
// overtakes the input.
func unquoteInPlace(s []byte) int {
	w := 0
	for r := 0; r < len(s); {
		k := bytes.IndexByte(s[r:], '\\')
		if k < 0 {
			k = len(s) - r
		}
		if k > 0 { // a run without escapes moves down as it is
			copy(s[w:], s[r:r+k])
			w, r = w+k, r+k
			continue
		}
		switch s[r+1] {
		case 'b':
			s[w] = '\b'
		case 'f':
			s[w] = '\f'
		case 'n':
			s[w] = '\n'
		case 'r':
			s[w] = '\r'
		case 't':
			s[w] = '\t'
		case 'u':
			rr := hex4(s[r+2 : r+6])
			r += 6
			if utf16.IsSurrogate(rr) {
				if r+6 <= len(s) && s[r] == '\\' && s[r+1] == 'u' {
					if dec := utf16.DecodeRune(rr, hex4(s[r+2:r+6])); dec != unicode.ReplacementChar {
						r += 6
						w += utf8.EncodeRune(s[w:], dec)
						continue
					}
				}
				rr = unicode.ReplacementChar
			}
			w += utf8.EncodeRune(s[w:], rr)
			continue
		default: // '"', '\\', '/'
			s[w] = s[r+1]
		}
		w, r = w+1, r+2
	}
	return w
}

// hex4 is the value of four hex digits (valid JSON guarantees them).
func hex4(h []byte) rune {
	var v rune
	for _, c := range h {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		default:
			c = c - 'A' + 10
		}
		v = v<<4 | rune(c)
	}
	return v
}
