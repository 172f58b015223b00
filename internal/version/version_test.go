package version

import "testing"

func TestCompare(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b string
		want int
		why  string
	}{
		{"", "", 0, "both unset"},
		{" ", "\t", 0, "white space is unset"},
		{"", "1.0", -1, "unset is older"},
		{"1.0", "", 1, "anything is newer than unset"},
		{"  ", "0.0", -1, "white space is unset, older than 0.0"},
		{"1.0", "1.0", 0, "equal"},
		{"1.0", "2.0", -1, "numeric"},
		{"1.10", "1.9", 1, "numeric, not text"},
		{"2.0", "10.0", -1, "numeric major"},
		{"1.0", "1.0.0", -1, "a missing build counts below 0"},
		{"1.0.0", "1.0.0.0", -1, "a missing revision counts below 0"},
		{"1.2.3.4", "1.2.3.4", 0, "four components"},
		{"01.002", "1.2", 0, "leading zeros are numeric"},
		{" 1 . 2 ", "1.2", 0, "white space around components is allowed"},
		{"+1.2", "1.2", 0, "a plus sign is allowed"},
		{"-0.1", "0.1", 0, "minus zero is zero"},
		{"2", "10", 1, "single integers are text: \"2\" > \"10\""},
		{"9", "10", 1, "single integers are text"},
		{"v10", "v9", -1, "text order"},
		{"V1.0", "v1.0", 0, "text is case-insensitive"},
		{"abc", "ABD", -1, "case-insensitive order"},
		{"1.0", "1.0-beta", -1, "one side not a version: text order, prefix first"},
		{"1.2.3.4.5", "1.2.3.4", 1, "five components are text"},
		{"1.-1", "1.0", -1, "a negative component is text: '-' < '0'"},
		{"1.2147483648", "1.3", -1, "a component past 2^31-1 is text"},
		{"2025-01-01", "2025-02-01", -1, "dates compare as text"},
		{"1.", "1.0", -1, "an empty component is text"},
	} {
		if got := Compare(tc.a, tc.b); got != tc.want {
			t.Errorf("Compare(%q, %q) = %d, want %d (%s)", tc.a, tc.b, got, tc.want, tc.why)
		}
		if got := Compare(tc.b, tc.a); got != -tc.want {
			t.Errorf("Compare(%q, %q) = %d, want %d (reversed: %s)", tc.b, tc.a, got, -tc.want, tc.why)
		}
	}
}

func TestAllows(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		match    MatchStrategy
		worker   string
		instance string
		want     bool
	}{
		{MatchNone, "1.0", "9.0", true},
		{MatchNone, "", "anything", true},
		{MatchStrict, "1.0", "1.0", true},
		{MatchStrict, "1.0", "1.0.0", false},
		{MatchStrict, "1.0", "2.0", false},
		{MatchStrict, "1.0", "0.9", false},
		{MatchStrict, "v1", "V1", true},
		{MatchStrict, "", "", true},
		{MatchStrict, "", "1.0", true}, // no worker version: versioning off
		{MatchStrict, "1.0", "", false},
		{MatchCurrentOrOlder, "2.0", "1.0", true},
		{MatchCurrentOrOlder, "2.0", "2.0", true},
		{MatchCurrentOrOlder, "2.0", "3.0", false},
		{MatchCurrentOrOlder, "2.0", "", true},
		{MatchCurrentOrOlder, "", "1.0", true}, // no worker version: off
		{MatchCurrentOrOlder, "10", "9", false},
	} {
		s := Settings{Default: tc.worker, Match: tc.match}
		if got := s.Allows(tc.instance); got != tc.want {
			t.Errorf("%s worker %q, instance %q: Allows = %v, want %v", tc.match, tc.worker, tc.instance, got, tc.want)
		}
	}
}

func TestParseStrategies(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in    string
		match MatchStrategy
		ok    bool
	}{
		{"None", MatchNone, true},
		{"strict", MatchStrict, true},
		{"CURRENTORolder", MatchCurrentOrOlder, true},
		{"2", MatchCurrentOrOlder, true},
		{"3", 0, false},
		{"Latest", 0, false},
		{"", 0, false},
	} {
		got, err := ParseMatchStrategy(tc.in)
		if (err == nil) != tc.ok || tc.ok && got != tc.match {
			t.Errorf("ParseMatchStrategy(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.match, tc.ok)
		}
	}
	for _, tc := range []struct {
		in   string
		fail FailureStrategy
		ok   bool
	}{
		{"Reject", FailReject, true},
		{"fail", FailFail, true},
		{"1", FailFail, true},
		{"Abandon", 0, false},
	} {
		got, err := ParseFailureStrategy(tc.in)
		if (err == nil) != tc.ok || tc.ok && got != tc.fail {
			t.Errorf("ParseFailureStrategy(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.fail, tc.ok)
		}
	}
}
