package jsonpos

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestStandardize(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want any
	}{
		{"plain", `{"version":"2.0"}`, map[string]any{"version": "2.0"}},
		{"utf-8 bom", "\xef\xbb\xbf{\"version\":\"2.0\"}", map[string]any{"version": "2.0"}},
		{"line comment", "{\n  // the version\n  \"version\": \"2.0\" // trailing\n}", map[string]any{"version": "2.0"}},
		{"block comment", `{ /* a
		   multi-line comment */ "a": /* inline */ 1 }`, map[string]any{"a": 1.0}},
		{"trailing comma in object", `{"a": 1, "b": {"c": true,},}`, map[string]any{"a": 1.0, "b": map[string]any{"c": true}}},
		{"trailing comma in array", `{"methods": ["get", "post",]}`, map[string]any{"methods": []any{"get", "post"}}},
		{"comment markers inside strings", `{"route": "a//b/*c*/"}`, map[string]any{"route": "a//b/*c*/"}},
		{"bom, comment and comma together", "\xef\xbb\xbf// host\n{\"version\": \"2.0\",}", map[string]any{"version": "2.0"}},
		{"utf-16 le with bom", "\xff\xfe{\x00\"\x00a\x00\"\x00:\x001\x00}\x00", map[string]any{"a": 1.0}},
		{"empty", "", nil},
		{"bom only", "\xef\xbb\xbf", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := standardize([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == nil {
				if len(strings.TrimSpace(string(out))) != 0 {
					t.Fatalf("got %q, want empty", out)
				}
				return
			}
			var got any
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("not standard JSON: %v\n%s", err, out)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

// TestPositionsKept: after standardizing, encoding/json's error offsets
// still point at the right line and column of the file.
func TestPositionsKept(t *testing.T) {
	in := "\xef\xbb\xbf{\n  // comment\n  \"a\": [1, 2,],\n  \"b\": tru\n}"
	out, err := standardize([]byte(in))
	var se *Error
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T), want an *Error", err, err)
	}
	if se.Line != 4 || se.Column < 8 || se.Column > 10 {
		t.Fatalf("error at line %d column %d, want line 4 near column 8 (%v)", se.Line, se.Column, se)
	}
	if !strings.Contains(se.Error(), "invalid JSON at line 4") {
		t.Fatalf("message %q", se.Error())
	}
	// A valid file keeps its layout: the same number of lines, each key on
	// its own line.
	valid := "\xef\xbb\xbf{\n  // comment\n  \"a\": [1, 2,],\n  \"b\": true\n}"
	out, err = standardize([]byte(valid))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(out), "\n") != 4 || strings.Index(string(out), `"b"`) != strings.Index(valid, `"b"`)-3 {
		t.Fatalf("layout changed:\n%s", out)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"a": 1`, "line 1"},
		{"{\n\"a\": 1,\n\"a\" 2}", "line 3"},
		{`{"a": 1} x`, "line 1"},
		{"\x00\x00\xfe\xff", "UTF-32"},
	} {
		_, err := standardize([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("standardize(%q) error = %v, want %q", tc.in, err, tc.want)
		}
	}
}
