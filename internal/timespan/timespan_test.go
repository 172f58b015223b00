package timespan

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"01:00:00", time.Hour},
		{"00:01:00", time.Minute},
		{"00:00:05", 5 * time.Second},
		{"1.00:00:00", 24 * time.Hour},
		{"25:00:00:00", 25 * 24 * time.Hour},
		{"24:00:00", 24 * 24 * time.Hour},
		{"02:30", 2*time.Hour + 30*time.Minute},
		{"3", 3 * 24 * time.Hour},
		{"00:00:01.5", 1500 * time.Millisecond},
		{"2.03:04", 2*24*time.Hour + 3*time.Hour + 4*time.Minute},
	}
	for _, tc := range tests {
		got, err := Parse(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "abc", "00:60:00", "1:2:3:4:5", "00:00:60", "1.2", "+1", "1..00:00:00"} {
		if d, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) = %v, want an error", bad, d)
		}
	}
}

func TestFormat(t *testing.T) {
	for d, want := range map[time.Duration]string{5 * time.Minute: "00:05:00", 26 * time.Hour: "1.02:00:00", 1500 * time.Millisecond: "00:00:01.5000000"} {
		if got := Format(d); got != want {
			t.Errorf("Format(%v) = %q, want %q", d, got, want)
		}
	}
}
