// Package timespan reads and writes .NET TimeSpan text, the duration
// syntax of host.json ("00:05:00") and of timer schedules ("1.00:00:00").
package timespan

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Parse parses the .NET TimeSpan forms: "d"
// (days), "hh:mm", "hh:mm:ss", "d.hh:mm[:ss]", "d:hh:mm:ss", seconds with
// a fraction. As in .NET, a three-part "hh:mm:ss" whose first part is 24 or
// more reads as "d:hh:mm" ("24:00:00" is 24 days).
func Parse(s string) (time.Duration, error) {
	bad := fmt.Errorf("%q is not a time span (want hh:mm:ss or d.hh:mm:ss)", s)
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

// Format writes d as .NET does: "[d.]hh:mm:ss[.fffffff]".
func Format(d time.Duration) string {
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
