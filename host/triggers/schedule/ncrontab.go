package schedule

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// field is one NCRONTAB field: the set of allowed values of one time
// component.
type field struct {
	min, max int
	allowed  [64]bool
	values   []int // sorted
	// names, when set, are the English names of the values from min on,
	// matched case-insensitively by prefix (months, days of the week).
	names []string
}

var (
	monthNames = []string{"January", "February", "March", "April", "May", "June", "July",
		"August", "September", "October", "November", "December"}
	dayNames = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
)

// fieldSpecs are the six fields in order: second, minute, hour, day,
// month, day of week (0 = Sunday; 7 is not accepted).
var fieldSpecs = [6]struct {
	name     string
	min, max int
	names    []string
}{
	{"second", 0, 59, nil},
	{"minute", 0, 59, nil},
	{"hour", 0, 23, nil},
	{"day", 1, 31, nil},
	{"month", 1, 12, monthNames},
	{"day-of-week", 0, 6, dayNames},
}

// Cron is a parsed NCRONTAB expression.
type Cron struct {
	expr   string
	fields [6]field
	// interval is true when the seconds, minutes or hours field holds '*',
	// '/' or '-': such schedules keep their rhythm through a repeated
	// daylight-saving hour; point-in-time ones fire once per local time.
	interval bool
	loc      *time.Location
}

// ParseCron parses a 5-field (minute hour day month day-of-week) or
// 6-field (second first) NCRONTAB expression. Day of month and day of week
// must both match (they are ANDed, unlike Vixie cron). loc is the time zone
// occurrences are computed in (nil = UTC).
func ParseCron(expr string, loc *time.Location) (*Cron, error) {
	parts := strings.Fields(expr)
	switch len(parts) {
	case 5:
		parts = append([]string{"0"}, parts...)
	case 6:
	default:
		return nil, fmt.Errorf("%q has %d fields; an NCRONTAB expression has 5 or 6", expr, len(parts))
	}
	if loc == nil {
		loc = time.UTC
	}
	c := &Cron{expr: expr, loc: loc}
	for i, p := range parts {
		spec := fieldSpecs[i]
		f := field{min: spec.min, max: spec.max, names: spec.names}
		if err := f.parse(p); err != nil {
			return nil, fmt.Errorf("%q: %s field %q: %w", expr, spec.name, p, err)
		}
		c.fields[i] = f
	}
	// A 5-field expression has an implicit seconds field "0", so only its
	// minute and hour fields decide.
	first := 0
	if len(strings.Fields(expr)) == 5 {
		first = 1
	}
	for _, p := range parts[first:3] {
		if strings.ContainsAny(p, "*/-") {
			c.interval = true
		}
	}
	return c, nil
}

func (f *field) parse(s string) error {
	for _, item := range strings.Split(s, ",") {
		if err := f.parseItem(item); err != nil {
			return err
		}
	}
	for v := f.min; v <= f.max; v++ {
		if f.allowed[v] {
			f.values = append(f.values, v)
		}
	}
	return nil
}

func (f *field) parseItem(item string) error {
	if item == "" {
		return fmt.Errorf("empty list item")
	}
	rng, stepText, hasStep := strings.Cut(item, "/")
	step := 1
	if hasStep {
		n, err := strconv.Atoi(stepText)
		if err != nil || n <= 0 {
			return fmt.Errorf("invalid step %q", stepText)
		}
		step = n
	}
	lo, hi := f.min, f.max
	switch {
	case rng == "*":
	case strings.Contains(rng, "-"):
		a, b, _ := strings.Cut(rng, "-")
		var err error
		if lo, err = f.value(a); err != nil {
			return err
		}
		if hi, err = f.value(b); err != nil {
			return err
		}
		if lo > hi {
			return fmt.Errorf("range %q runs backwards", rng)
		}
	default:
		v, err := f.value(rng)
		if err != nil {
			return err
		}
		lo = v
		if !hasStep {
			hi = v // "a" alone; "a/n" runs from a to the maximum
		}
	}
	for v := lo; v <= hi; v += step {
		f.allowed[v] = true
	}
	return nil
}

// value parses a number or, for months and days, a name prefix.
func (f *field) value(s string) (int, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < f.min || n > f.max {
			return 0, fmt.Errorf("%d is out of range %d-%d", n, f.min, f.max)
		}
		return n, nil
	}
	if f.names != nil && s != "" {
		for i, name := range f.names {
			if len(s) <= len(name) && strings.EqualFold(name[:len(s)], s) {
				return f.min + i, nil
			}
		}
	}
	return 0, fmt.Errorf("%q is not a valid value", s)
}

// String prints the schedule the way the Functions host logs it.
func (c *Cron) String() string { return "Cron: '" + c.Expanded() + "'" }

// Expanded returns the expression with every field written out ('*' for a
// full range, otherwise a comma list with runs as ranges).
func (c *Cron) Expanded() string {
	out := make([]string, 6)
	for i := range c.fields {
		out[i] = c.fields[i].format()
	}
	return strings.Join(out, " ")
}

func (f *field) format() string {
	if len(f.values) == f.max-f.min+1 {
		return "*"
	}
	var parts []string
	for i := 0; i < len(f.values); {
		j := i
		for j+1 < len(f.values) && f.values[j+1] == f.values[j]+1 {
			j++
		}
		if j-i >= 2 {
			parts = append(parts, fmt.Sprintf("%d-%d", f.values[i], f.values[j]))
		} else {
			for k := i; k <= j; k++ {
				parts = append(parts, strconv.Itoa(f.values[k]))
			}
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// Location returns the time zone the schedule is computed in.
func (c *Cron) Location() *time.Location { return c.loc }

// IsInterval reports whether the schedule is an interval (see Cron).
func (c *Cron) IsInterval() bool { return c.interval }

// searchYears bounds the search for a matching date: a valid expression
// such as "0 0 0 29 Feb Mon" matches within 28 years; one that can never
// match (31 April) yields no occurrence.
const searchYears = 30

// nextWall returns the first wall-clock time (a time.Time in UTC whose
// fields are the local wall clock) matching c at or after w; ok is false
// when none exists.
func (c *Cron) nextWall(w time.Time) (time.Time, bool) {
	sec, min, hour := &c.fields[0], &c.fields[1], &c.fields[2]
	dom, month, dow := &c.fields[3], &c.fields[4], &c.fields[5]
	y0, m0, d0 := w.Date()
	for y := y0; y <= y0+searchYears; y++ {
		for _, m := range month.values {
			if y == y0 && m < int(m0) {
				continue
			}
			days := time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
			for _, d := range dom.values {
				if d > days || (y == y0 && m == int(m0) && d < d0) {
					continue
				}
				date := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
				if !dow.allowed[int(date.Weekday())] {
					continue
				}
				h0, mi0, s0 := 0, 0, 0
				if y == y0 && m == int(m0) && d == d0 {
					h0, mi0, s0 = w.Clock()
				}
				if h, mi, s, ok := firstTime(hour, min, sec, h0, mi0, s0); ok {
					return time.Date(y, time.Month(m), d, h, mi, s, 0, time.UTC), true
				}
			}
		}
	}
	return time.Time{}, false
}

// firstTime returns the earliest allowed time of day at or after h0:m0:s0.
func firstTime(hour, min, sec *field, h0, m0, s0 int) (int, int, int, bool) {
	for _, h := range hour.values {
		if h < h0 {
			continue
		}
		for _, m := range min.values {
			if h == h0 && m < m0 {
				continue
			}
			for _, s := range sec.values {
				if h == h0 && m == m0 && s < s0 {
					continue
				}
				return h, m, s, true
			}
		}
	}
	return 0, 0, 0, false
}

// wallOf returns t's local wall clock in c's zone as a UTC time.
func wallOf(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	y, m, d := l.Date()
	h, mi, s := l.Clock()
	return time.Date(y, m, d, h, mi, s, l.Nanosecond(), time.UTC)
}

// Next returns the first occurrence strictly after t, or the zero time if
// there is none.
func (c *Cron) Next(t time.Time) time.Time {
	if c.interval {
		return c.nextInterval(t)
	}
	return c.nextPointInTime(t)
}

// nextInterval walks the zone's constant-offset segments: within one the
// wall clock advances with real time, so the first matching wall time
// maps to exactly one instant. A repeated hour is a new segment whose wall
// clock starts again, so interval schedules fire through it; a skipped
// hour has no wall times at all.
func (c *Cron) nextInterval(t time.Time) time.Time {
	from := t.Truncate(time.Second).Add(time.Second)
	for range 64 {
		local := from.In(c.loc)
		_, off := local.Zone()
		_, end := local.ZoneBounds()
		w, ok := c.nextWall(wallOf(from, c.loc))
		if !ok {
			return time.Time{}
		}
		inst := w.Add(-time.Duration(off) * time.Second).In(c.loc)
		if end.IsZero() || inst.Before(end) {
			return inst
		}
		from = end
	}
	return time.Time{}
}

// nextPointInTime matches on the wall clock: an ambiguous local time fires
// once, at its first (daylight-time) instant, and a local time that does
// not exist fires at the instant the offset before the change gives it (an
// hour later on the clock).
func (c *Cron) nextPointInTime(t time.Time) time.Time {
	w := wallOf(t, c.loc).Truncate(time.Second).Add(time.Second)
	for range 1000 {
		next, ok := c.nextWall(w)
		if !ok {
			return time.Time{}
		}
		if inst := instantsOf(next, c.loc)[0]; inst.After(t) {
			return inst
		}
		w = next.Add(time.Second)
	}
	return time.Time{}
}

// instantsOf returns the instants whose wall clock in loc is w, earliest
// first: one normally, two in a repeated hour, and for a wall time in a
// skipped hour the one the earlier offset gives.
func instantsOf(w time.Time, loc *time.Location) []time.Time {
	var offsets []int
	for _, probe := range []time.Time{w.Add(-26 * time.Hour), w.Add(26 * time.Hour)} {
		_, off := probe.In(loc).Zone()
		if len(offsets) == 0 || offsets[0] != off {
			offsets = append(offsets, off)
		}
	}
	var out []time.Time
	for _, off := range offsets {
		inst := w.Add(-time.Duration(off) * time.Second).In(loc)
		if wallOf(inst, loc).Equal(w) {
			out = append(out, inst)
		}
	}
	if len(out) == 0 {
		return []time.Time{w.Add(-time.Duration(offsets[0]) * time.Second).In(loc)}
	}
	if len(out) == 2 && out[1].Before(out[0]) {
		out[0], out[1] = out[1], out[0]
	}
	return out
}
