package bindings

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateInstanceID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		id, rule string // rule: substring of the error; "" = valid
	}{
		{"order-42", ""},
		{"with space", ""},
		{"ünïcödé", ""},
		{"a.b", ""},
		{"...", ""},
		{"", "must not be empty"},
		{strings.Repeat("x", 257), "the limit is 256"},
		{"@counter@k", "reserved for entities"},
		{".", "relative path segment"},
		{"..", "relative path segment"},
		{"a\xffb", "not valid UTF-8"},
		{"\xc3", "not valid UTF-8"},
		{"a/b", `contains '/'`},
		{`a\b`, `contains '\\'`},
		{"a#b", `contains '#'`},
		{"a?b", `contains '?'`},
		{"a\x01b", "control character"},
		{"a\u0085b", "control character"},
	} {
		err := ValidateInstanceID(tc.id)
		switch {
		case tc.rule == "" && err != nil:
			t.Errorf("%q: %v, want valid", tc.id, err)
		case tc.rule != "" && (!errors.Is(err, ErrInvalidInstanceID) || !strings.Contains(err.Error(), tc.rule)):
			t.Errorf("%q: %v, want ErrInvalidInstanceID naming %q", tc.id, err, tc.rule)
		}
	}
}
