package schedule

import (
	"strings"
	"testing"
	"time"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestCronNext checks the documented examples and the NCRONTAB rules that
// differ from Vixie cron.
func TestCronNext(t *testing.T) {
	base := "2024-01-01T00:00:00Z" // a Monday
	tests := []struct {
		expr, from string
		want       []string
	}{
		{"0 */5 * * * *", base, []string{"2024-01-01T00:05:00Z", "2024-01-01T00:10:00Z"}},
		{"0 0 * * * *", base, []string{"2024-01-01T01:00:00Z", "2024-01-01T02:00:00Z"}},
		{"0 0 */2 * * *", base, []string{"2024-01-01T02:00:00Z", "2024-01-01T04:00:00Z"}},
		{"0 0 9-17 * * *", "2024-01-01T16:30:00Z", []string{"2024-01-01T17:00:00Z", "2024-01-02T09:00:00Z"}},
		{"0 30 9 * * *", base, []string{"2024-01-01T09:30:00Z", "2024-01-02T09:30:00Z"}},
		{"0 30 9 * * 1-5", "2024-01-05T10:00:00Z", []string{"2024-01-08T09:30:00Z", "2024-01-09T09:30:00Z"}},
		{"0 30 9 * Jan Mon", "2024-01-29T10:00:00Z", []string{"2025-01-06T09:30:00Z", "2025-01-13T09:30:00Z"}},
		{"5,8,10 * * * * *", base, []string{"2024-01-01T00:00:05Z", "2024-01-01T00:00:08Z", "2024-01-01T00:00:10Z", "2024-01-01T00:01:05Z"}},
		{"*/5 * * * *", "2024-01-01T00:03:10Z", []string{"2024-01-01T00:05:00Z", "2024-01-01T00:10:00Z"}},
		// Day of month AND day of week: the next Friday the 13th.
		{"0 0 0 13 * Fri", base, []string{"2024-09-13T00:00:00Z", "2024-12-13T00:00:00Z"}},
		// Names: full, three letters, any case, prefix (first match: Ma = March).
		{"0 0 0 1 january *", base, []string{"2025-01-01T00:00:00Z"}},
		{"0 0 0 1 Ma *", base, []string{"2024-03-01T00:00:00Z"}},
		{"0 0 12 * * MON-wed", "2024-01-03T13:00:00Z", []string{"2024-01-08T12:00:00Z"}},
		// "a/n" runs from a to the maximum.
		{"0 50/5 * * * *", "2024-01-01T00:56:00Z", []string{"2024-01-01T01:50:00Z", "2024-01-01T01:55:00Z"}},
		{"0 0 0 1-10/3 * *", base, []string{"2024-01-04T00:00:00Z", "2024-01-07T00:00:00Z", "2024-01-10T00:00:00Z", "2024-02-01T00:00:00Z"}},
		// Nonexistent dates are skipped; 29 February is found in leap years.
		{"0 0 0 31 * *", "2024-04-01T00:00:00Z", []string{"2024-05-31T00:00:00Z", "2024-07-31T00:00:00Z"}},
		{"0 0 0 29 2 *", base, []string{"2024-02-29T00:00:00Z", "2028-02-29T00:00:00Z"}},
		// Strictly after: an occurrence at the start time is not returned.
		{"0 0 0 * * *", base, []string{"2024-01-02T00:00:00Z"}},
		// Runs of spaces separate fields.
		{"0  0   12 * * *", base, []string{"2024-01-01T12:00:00Z"}},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			c, err := ParseCron(tc.expr, nil)
			if err != nil {
				t.Fatal(err)
			}
			at := utc(tc.from)
			for i, w := range tc.want {
				at = c.Next(at)
				if !at.Equal(utc(w)) {
					t.Fatalf("occurrence %d after %s = %s, want %s", i+1, tc.from, at.UTC().Format(time.RFC3339), w)
				}
			}
		})
	}
}

func TestCronNeverMatches(t *testing.T) {
	c, err := ParseCron("0 0 0 31 4 *", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Next(utc("2024-01-01T00:00:00Z")); !got.IsZero() {
		t.Fatalf("31 April: got %s, want no occurrence", got)
	}
}

func TestParseCronErrors(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"* * * *", "has 4 fields"},
		{"0 0 0 * * * *", "has 7 fields"},
		{"0 0 0 * * 7", "day-of-week field"},
		{"60 * * * * *", "out of range 0-59"},
		{"0 0 24 * * *", "hour field"},
		{"0 0 0 0 * *", "day field"},
		{"0 0 0 * 13 *", "month field"},
		{"0 0 0 * * ?", "not a valid value"},
		{"0 0 0 L * *", "not a valid value"},
		{"0 0 0 * * 1#2", "not a valid value"},
		{"0 */0 * * * *", "invalid step"},
		{"0 5-1 * * * *", "runs backwards"},
		{"0 1,,2 * * * *", "empty list item"},
		{"@daily", "has 1 fields"},
		{"0 0 0 * Foo *", "not a valid value"},
	}
	for _, tc := range tests {
		_, err := ParseCron(tc.expr, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseCron(%q) error = %v, want it to contain %q", tc.expr, err, tc.want)
		}
	}
}

// TestCronDST checks daylight-saving transitions in America/New_York
// (2024: clocks go forward at 02:00 on 10 March, back at 02:00 on
// 3 November).
func TestCronDST(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	tests := []struct {
		name, expr, from string
		want             []string // UTC
	}{
		{"interval fires through the repeated hour", "0 */30 * * * *", "2024-11-03T04:45:00Z", // 00:45 EDT
			[]string{"2024-11-03T05:00:00Z", "2024-11-03T05:30:00Z", // 01:00, 01:30 EDT
				"2024-11-03T06:00:00Z", "2024-11-03T06:30:00Z", // 01:00, 01:30 EST
				"2024-11-03T07:00:00Z"}}, // 02:00 EST
		{"point in time fires once in the repeated hour", "0 30 1 * * *", "2024-11-03T04:00:00Z",
			[]string{"2024-11-03T05:30:00Z", "2024-11-04T06:30:00Z"}},
		{"point in time in the repeated hour started late", "0 30 1 * * *", "2024-11-03T06:10:00Z", // 01:10 EST
			[]string{"2024-11-04T06:30:00Z"}},
		{"interval skips the missing hour", "0 */30 * * * *", "2024-03-10T06:15:00Z", // 01:15 EST
			[]string{"2024-03-10T06:30:00Z", "2024-03-10T07:00:00Z", "2024-03-10T07:30:00Z"}}, // 01:30 EST, 03:00 EDT, 03:30 EDT
		{"point in time in the missing hour fires an hour later on the clock", "0 30 2 * * *", "2024-03-09T08:00:00Z",
			[]string{"2024-03-10T07:30:00Z", "2024-03-11T06:30:00Z"}}, // 03:30 EDT, then 02:30 EDT
		{"daily at 9 keeps local time across the change", "0 0 9 * * *", "2024-03-09T15:00:00Z",
			[]string{"2024-03-10T13:00:00Z", "2024-03-11T13:00:00Z"}},
		{"5-field hourly is an interval", "0 * * * *", "2024-11-03T05:30:00Z",
			[]string{"2024-11-03T06:00:00Z", "2024-11-03T07:00:00Z"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseCron(tc.expr, ny)
			if err != nil {
				t.Fatal(err)
			}
			at := utc(tc.from)
			for i, w := range tc.want {
				at = c.Next(at)
				if !at.Equal(utc(w)) {
					t.Fatalf("occurrence %d = %s (%s), want %s", i+1, at.UTC().Format(time.RFC3339), at.Format(time.RFC3339), w)
				}
				if at.Location() != ny {
					t.Fatalf("occurrence in %v, want America/New_York", at.Location())
				}
			}
		})
	}
}

func TestIsInterval(t *testing.T) {
	for expr, want := range map[string]bool{
		"0 */5 * * * *": true, "0 30 9 * * *": false, "0 0 9-17 * * *": true, "*/5 * * * *": true,
		"30 9 * * *": false, "0,30 0 9 * * *": false, "0 0 0 * * *": false,
	} {
		c, err := ParseCron(expr, nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.IsInterval() != want {
			t.Errorf("%q interval = %v, want %v", expr, c.IsInterval(), want)
		}
	}
}

func TestParse(t *testing.T) {
	s, err := Parse("00:05:00", nil)
	if err != nil || s.String() != "Constant: 00:05:00" {
		t.Fatalf("TimeSpan: %v, %v", s, err)
	}
	if got := s.Next(utc("2024-01-01T00:00:00Z")); !got.Equal(utc("2024-01-01T00:05:00Z")) {
		t.Fatalf("Constant.Next = %s", got)
	}
	s, err = Parse("0 */5 9-17 * Jan-Mar 1-5", nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := "Cron: '0 0,5,10,15,20,25,30,35,40,45,50,55 9-17 * 1-3 1-5'"; s.String() != want {
		t.Fatalf("String = %s, want %s", s, want)
	}
	_, err = Parse("every day", nil)
	if want := "The schedule expression 'every day' was not recognized as a valid cron expression or timespan string."; err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
	if _, err := Parse("00:00:00", nil); err == nil {
		t.Fatal("a zero interval was accepted")
	}
}

func TestUseMonitor(t *testing.T) {
	now := utc("2024-01-01T00:00:00Z")
	for expr, want := range map[string]bool{
		"0 */5 * * * *": true, "*/10 * * * * *": false, "5,8,10 * * * * *": false, "0 * * * * *": true,
		"*/10 * * 1 * *": true, "00:00:30": false, "00:01:00": true, "* * * * *": true,
	} {
		s, err := Parse(expr, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := UseMonitor(s, now); got != want {
			t.Errorf("UseMonitor(%q) = %v, want %v", expr, got, want)
		}
	}
}

func TestLoadLocation(t *testing.T) {
	for name, want := range map[string]string{
		"":                        "UTC",
		"America/New_York":        "America/New_York",
		"Eastern Standard Time":   "America/New_York",
		"tokyo standard time":     "Asia/Tokyo",
		"W. Europe Standard Time": "Europe/Berlin",
		"UTC":                     "UTC",
	} {
		loc, err := LoadLocation(name)
		if err != nil || loc.String() != want {
			t.Errorf("LoadLocation(%q) = %v, %v; want %s", name, loc, err, want)
		}
	}
	if _, err := LoadLocation("Mars/Olympus"); err == nil || !strings.Contains(err.Error(), "WEBSITE_TIME_ZONE") {
		t.Fatalf("unknown zone: %v", err)
	}
	// A Windows name computes like its IANA zone.
	c, _ := ParseCron("0 0 9 * * *", mustLoc(t, "Eastern Standard Time"))
	if got := c.Next(utc("2024-07-01T00:00:00Z")); !got.Equal(utc("2024-07-01T13:00:00Z")) {
		t.Fatalf("9:00 Eastern in July = %s", got.UTC())
	}
}
