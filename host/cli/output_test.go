package cli

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

var ansi = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// TestTableAlignment checks that columns line up with and without colour:
// padding is computed on the text, not on the escapes.
func TestTableAlignment(t *testing.T) {
	for _, color := range []bool{false, true} {
		var b strings.Builder
		p := &printer{w: &b, format: formatTable, color: color}
		err := p.writeTable(&table{header: []string{"ID", "STATUS", "NAME"}, rows: [][]string{
			{"a", "Completed", "HelloSequence"}, {"longer-id", "Failed", "Ünïcode"},
		}, colors: map[int]func(string) string{1: statusColor}})
		if err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if strings.Contains(out, "\x1b[") != color {
			t.Errorf("color=%v: escapes present = %v:\n%q", color, !color, out)
		}
		lines := strings.Split(strings.TrimSuffix(ansi.ReplaceAllString(out, ""), "\n"), "\n")
		if len(lines) != 3 {
			t.Fatalf("color=%v: %d lines:\n%s", color, len(lines), out)
		}
		col := func(line, word string) int { return len([]rune(line[:strings.Index(line, word)])) }
		if col(lines[0], "STATUS") != col(lines[1], "Completed") || col(lines[0], "NAME") != col(lines[2], "Ünïcode") {
			t.Errorf("color=%v: columns do not line up:\n%s", color, strings.Join(lines, "\n"))
		}
	}
}

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
		bad  bool
	}{
		{"", time.Time{}, false},
		{"2026-01-31", time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC), false},
		{"2026-01-31T08:30:00Z", time.Date(2026, 1, 31, 8, 30, 0, 0, time.UTC), false},
		{"2026-01-31T08:30:00+02:00", time.Date(2026, 1, 31, 6, 30, 0, 0, time.UTC), false},
		{"24h", now.Add(-24 * time.Hour), false},
		{"90m", now.Add(-90 * time.Minute), false},
		{"yesterday", time.Time{}, true},
		{"-5m", time.Time{}, true},
	} {
		got, err := parseTime("created-after", tc.in, now)
		if (err != nil) != tc.bad || !got.Equal(tc.want) {
			t.Errorf("parseTime(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.bad)
		}
		if err != nil && exitCode(err) != ExitUsage {
			t.Errorf("parseTime(%q): exit code %d, want %d", tc.in, exitCode(err), ExitUsage)
		}
	}
}

func TestParseJSONArg(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		bad      bool
	}{
		{"", "", false},
		{`{"a": 1}`, `{"a": 1}`, false},
		{` "text" `, `"text"`, false},
		{"42", "42", false},
		{"hello", "", true},
		{"@/does/not/exist.json", "", true},
	} {
		got, err := parseJSONArg("input", tc.in)
		if (err != nil) != tc.bad || string(got) != tc.want {
			t.Errorf("parseJSONArg(%q) = %q, %v; want %q (error %v)", tc.in, got, err, tc.want, tc.bad)
		}
	}
}
