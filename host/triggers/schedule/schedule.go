// Package schedule parses timer-trigger schedules the way the Azure
// Functions timer trigger does: NCRONTAB expressions (6 fields with
// seconds, or the classic 5), .NET TimeSpan intervals ("hh:mm:ss",
// "d.hh:mm:ss", …), and app-setting references ("%Name%") resolved first.
// Occurrences are computed in a time zone (WEBSITE_TIME_ZONE, IANA or
// Windows names) with the host's daylight-saving rules; docs/triggers.md
// describes them.
package schedule

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Schedule yields a timer's occurrences.
type Schedule interface {
	// Next returns the first occurrence strictly after t (the zero time
	// when there is none). For a constant interval, t is the previous
	// occurrence or the start.
	Next(t time.Time) time.Time
	// String is the schedule as the host logs it: "Cron: '<expanded>'" or
	// "Constant: <timespan>".
	String() string
}

// Parse parses a schedule: an NCRONTAB expression or, failing that, a .NET
// TimeSpan. loc is the time zone cron occurrences are computed in (nil =
// UTC). The error text is the Functions host's.
func Parse(expr string, loc *time.Location) (Schedule, error) {
	c, cronErr := ParseCron(expr, loc)
	if cronErr == nil {
		return c, nil
	}
	if d, err := ParseTimeSpan(expr); err == nil && d > 0 {
		return Constant(d), nil
	}
	return nil, fmt.Errorf("The schedule expression '%s' was not recognized as a valid cron expression or timespan string.", expr)
}

// Constant is a TimeSpan schedule: a fixed interval measured from the
// previous invocation, independent of time zones and DST.
type Constant time.Duration

// Next implements Schedule.
func (c Constant) Next(t time.Time) time.Time { return t.Add(time.Duration(c)) }

// String implements Schedule.
func (c Constant) String() string { return "Constant: " + FormatTimeSpan(time.Duration(c)) }

// FormatTimeSpan writes d as .NET does: "[d.]hh:mm:ss[.fffffff]".
func FormatTimeSpan(d time.Duration) string {
	var b strings.Builder
	if d < 0 {
		b.WriteByte('-')
		d = -d
	}
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	if days > 0 {
		fmt.Fprintf(&b, "%d.", days)
	}
	h, m, s := d/time.Hour, d/time.Minute%60, d/time.Second%60
	fmt.Fprintf(&b, "%02d:%02d:%02d", h, m, s)
	if frac := d % time.Second; frac != 0 {
		fmt.Fprintf(&b, ".%07d", frac/100)
	}
	return b.String()
}

// ParseTimeSpan parses the .NET TimeSpan forms a schedule may use: "d"
// (days), "hh:mm", "hh:mm:ss", "d.hh:mm[:ss]", "d:hh:mm:ss", seconds with
// a fraction. As in .NET, a three-part "hh:mm:ss" whose first part is 24 or
// more reads as "d:hh:mm" ("24:00:00" is 24 days).
func ParseTimeSpan(s string) (time.Duration, error) {
	bad := fmt.Errorf("%q is not a time span", s)
	s = strings.TrimSpace(s)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	parts := strings.Split(s, ":")
	days := int64(0)
	if d, rest, ok := strings.Cut(parts[0], "."); ok && len(parts) > 1 {
		n, err := strconv.ParseInt(d, 10, 64)
		if err != nil || n < 0 {
			return 0, bad
		}
		days, parts[0] = n, rest
	}
	nums := make([]float64, len(parts))
	for i, p := range parts {
		if p == "" || strings.HasPrefix(p, "+") || (i < len(parts)-1 || len(parts) < 3) && strings.Contains(p, ".") {
			return 0, bad
		}
		f, err := strconv.ParseFloat(p, 64)
		if err != nil || f < 0 {
			return 0, bad
		}
		nums[i] = f
	}
	var h, m, sec float64
	switch len(nums) {
	case 1:
		if strings.Contains(parts[0], ".") {
			return 0, bad
		}
		days += int64(nums[0])
	case 2:
		h, m = nums[0], nums[1]
	case 3:
		if nums[0] >= 24 && days == 0 && !strings.Contains(parts[2], ".") {
			days, h, m = int64(nums[0]), nums[1], nums[2]
		} else {
			h, m, sec = nums[0], nums[1], nums[2]
		}
	case 4:
		if days != 0 {
			return 0, bad
		}
		days, h, m, sec = int64(nums[0]), nums[1], nums[2], nums[3]
	default:
		return 0, bad
	}
	if h > 23 || m > 59 || sec >= 60 {
		return 0, bad
	}
	d := time.Duration(days)*24*time.Hour + time.Duration(h)*time.Hour + time.Duration(m)*time.Minute +
		time.Duration(sec*float64(time.Second))
	if neg {
		d = -d
	}
	return d, nil
}

// UseMonitor reports whether a timer with this schedule persists its status:
// the host turns the monitor off for schedules firing more often than once
// a minute (a cron expression with '*' in every field but the seconds that
// yields more than one occurrence in the coming minute, or an interval
// under a minute).
func UseMonitor(s Schedule, now time.Time) bool {
	switch v := s.(type) {
	case Constant:
		return time.Duration(v) >= time.Minute
	case *Cron:
		parts := strings.Fields(v.expr)
		if len(parts) == 5 {
			parts = append([]string{"0"}, parts...)
		}
		for _, p := range parts[1:] {
			if p != "*" {
				return true
			}
		}
		first := v.Next(now)
		second := v.Next(first)
		return first.IsZero() || second.IsZero() || second.Sub(now) > time.Minute
	}
	return true
}
