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
	"strings"
	"time"

	"github.com/funchost/funchost/internal/timespan"
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
	if d, err := timespan.Parse(expr); err == nil && d > 0 {
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
func (c Constant) String() string { return "Constant: " + timespan.Format(time.Duration(c)) }

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
