package jsonpos_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/funchost/funchost/internal/jsonpos"
)

func TestPosition(t *testing.T) {
	data := []byte("{\n  \"a\": \"üü\",\n\t\"b\"\n}")
	tests := []struct {
		offset    int64
		line, col int
	}{
		{-5, 1, 1},
		{0, 1, 1},
		{1, 1, 2},
		{2, 2, 1},
		{9, 2, 8},                     // the opening quote of "üü"
		{14, 2, 11},                   // past two 2-byte ü: two columns
		{int64(len(data)), 4, 2},      // the end
		{int64(len(data)) + 10, 4, 2}, // past the end
	}
	for _, tt := range tests {
		if l, c := jsonpos.Position(data, tt.offset); l != tt.line || c != tt.col {
			t.Errorf("Position(%d) = %d:%d, want %d:%d", tt.offset, l, c, tt.line, tt.col)
		}
	}
}

func TestUnmarshal(t *testing.T) {
	type shape struct {
		Bindings []any `json:"bindings"`
		Name     string
	}
	tests := []struct {
		name, in string
		want     string // substring of the error; "" = no error
		syntax   bool
	}{
		{"ok", `{"bindings":[1], "Name":"x"}`, "", false},
		{"syntax", "{\n \"bindings\": [,]\n}", "invalid JSON at line 2, column 15: invalid character ','", true},
		{"eof", "{\n \"bindings\": [", "invalid JSON at line 2, column 15: unexpected end of file", true},
		{"trailing data", "{}\n{}", "invalid JSON at line 2, column 1: unexpected data after the top-level value", true},
		{"type", "{\n  \"bindings\": 5}", "at line 2, column 15: bindings must be an array, not number", false},
		{"top-level type", `[]`, "the value must be an object, not array", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v shape
			err := jsonpos.Unmarshal([]byte(tt.in), &v)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var pe *jsonpos.Error
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), tt.want) || pe.Syntax != tt.syntax {
				t.Fatalf("error %v (%T), want one containing %q with Syntax=%v", err, err, tt.want, tt.syntax)
			}
		})
	}
	var n any
	if err := jsonpos.Unmarshal([]byte(`12345678901234567890`), &n); err != nil || n.(interface{ String() string }).String() != "12345678901234567890" {
		t.Fatalf("numbers are not kept exactly: %v %v", n, err)
	}
}
