package payload

import (
	"encoding/json"
	"testing"
)

func TestMarshal(t *testing.T) {
	for _, tc := range []struct {
		name    string
		v       any
		want    string
		wantErr bool
	}{
		{"nil", nil, "", false},
		{"value", map[string]int{"a": 1}, `{"a":1}`, false},
		{"raw", json.RawMessage(`[1, 2]`), `[1, 2]`, false},
		{"empty raw", json.RawMessage{}, "", false},
		{"invalid raw", json.RawMessage(`{`), "", true},
		{"text as is", Text(`{"x": "y"}`), `{"x": "y"}`, false},
		{"empty text", Text(""), "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Marshal(tc.v)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("Marshal = %q, %v; want %q (error %v)", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestValid(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{`{"a":[1,2,"x"]}`, true}, {`"text"`, true}, {` 1 `, true},
		{``, false}, {`{`, false}, {`"a" "b"`, false}, {"\"\xff\"", true},
	} {
		if got := Valid(tc.s); got != tc.want || got != json.Valid([]byte(tc.s)) {
			t.Errorf("Valid(%q) = %v, want %v", tc.s, got, tc.want)
		}
	}
}
