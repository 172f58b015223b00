package azurestorage

import "unicode/utf8"

// This file is a JSON string encoder that writes into a buffer the caller
// sized: encodeMessageBody renders a large payload field with it straight into
// the message body, where json.Marshal would escape it into its own
// growing buffer and then hand back a copy. The output is exactly
// encoding/json's (TestQuotedJSONString and FuzzQuotedJSONString compare
// it with json.Marshal): the HTML characters <, > and & as \u003c, \u003e
// and \u0026; U+2028 and U+2029 as \u2028 and \u2029; each byte of invalid
// UTF-8 as \ufffd; \b \f \n \r \t by name and other control characters as
// \u00XX; quote and backslash with a backslash.

const hexDigits = "0123456789abcdef"

// jsonSafe reports the ASCII bytes encoding/json writes as they are (with
// HTML escaping on).
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = true
	}
	for _, b := range `"\<>&` {
		t[b] = false
	}
	return t
}()

// asciiEscapeLen is how many bytes the escape of an unsafe ASCII byte b
// takes.
func asciiEscapeLen(b byte) int {
	switch b {
	case '\\', '"', '\b', '\f', '\n', '\r', '\t':
		return 2
	}
	return 6
}

// escapedLen is the length of s as appendEscaped writes it.
func escapedLen(s string) int {
	n := len(s)
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if !jsonSafe[b] {
				n += asciiEscapeLen(b) - 1
			}
			i++
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1:
			n += len(`\ufffd`) - 1
		case c == '\u2028' || c == '\u2029':
			n += len(`\u2028`) - size
		}
		i += size
	}
	return n
}

// appendEscaped appends s escaped as inside a JSON string. Runs of bytes
// that need no escape are copied whole. Each rune is escaped on its own,
// so a string cut at the start of a rune (runeCut) escapes in pieces to
// the same bytes.
func appendEscaped(dst []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if jsonSafe[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = appendASCIIEscape(dst, b)
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			start = i + size
		case c == '\u2028' || c == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			start = i + size
		}
		i += size
	}
	return append(dst, s[start:]...)
}

// runeCut returns the largest cut of s at most n (and more than n-4) that
// does not fall inside a UTF-8 sequence: s[:cut] and s[cut:] escape to
// what s does. An invalid sequence escapes byte by byte, so a cut
// before any byte that is not a continuation byte is safe.
func runeCut(s string, n int) int {
	if n >= len(s) {
		return len(s)
	}
	for cut := n; cut > n-utf8.UTFMax && cut > 0; cut-- {
		if !utf8.RuneStart(s[cut]) {
			continue
		}
		return cut
	}
	return n
}

// appendASCIIEscape appends the escape of an unsafe ASCII byte b.
func appendASCIIEscape(dst []byte, b byte) []byte {
	switch b {
	case '\\', '"':
		return append(dst, '\\', b)
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	return append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
}
