package cli

import (
	"encoding/json"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// timeLayouts are the forms --created-after and --created-before take
// (without a zone: UTC), as the management API's query parameters.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02"}

// parseTime reads a time flag: an absolute time, or a duration meaning
// that long ago ("24h", "90m").
func parseTime(flag, v string, now time.Time) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, nil
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, v); err == nil {
			return t.UTC(), nil
		}
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return now.Add(-d).UTC(), nil
	}
	return time.Time{}, usageErrorf("--%s %q: give a time (2026-01-31, 2026-01-31T08:00:00Z) or how long ago (24h, 90m)", flag, v)
}

// parseJSONArg reads a JSON flag value: the JSON text itself, or @file
// for a file's content. "" is no value (nil).
func parseJSONArg(flag, v string) (json.RawMessage, error) {
	if v == "" {
		return nil, nil
	}
	text := []byte(v)
	if name, ok := strings.CutPrefix(v, "@"); ok {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, usageErrorf("--%s %s: %v", flag, v, err)
		}
		text = b
	}
	if !json.Valid(text) {
		return nil, usageErrorf(`--%s: %q is not JSON; quote a string as '"text"', or pass @file`, flag, shorten(string(text), 60))
	}
	return json.RawMessage(strings.TrimSpace(string(text))), nil
}

// filter holds the instance filter flags of get-instances and
// purge-history.
type filter struct {
	statuses      []string
	after, before string
	prefix        string
}

func (f *filter) addFlags(cmd *cobra.Command, statusHelp string) {
	fl := cmd.Flags()
	fl.StringSliceVar(&f.statuses, "runtime-status", nil, statusHelp)
	fl.StringVar(&f.after, "created-after", "", "only instances created at or after this time (2026-01-31T08:00:00Z) or this long ago (24h)")
	fl.StringVar(&f.before, "created-before", "", "only instances created at or before this time, or this long ago")
	fl.StringVar(&f.prefix, "id-prefix", "", "only instances whose ID starts with this")
}

// query builds the Hub query of the filter flags.
func (f *filter) query(now time.Time) (Query, error) {
	q := Query{InstanceIDPrefix: f.prefix}
	var err error
	if q.CreatedFrom, err = parseTime("created-after", f.after, now); err != nil {
		return q, err
	}
	if q.CreatedTo, err = parseTime("created-before", f.before, now); err != nil {
		return q, err
	}
	for _, s := range f.statuses {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		c, ok := statusName(s)
		if !ok {
			return q, usageErrorf("--runtime-status %q: use Pending, Running, Completed, ContinuedAsNew, Failed, Canceled, Terminated or Suspended", s)
		}
		q.RuntimeStatus = append(q.RuntimeStatus, c)
	}
	return q, nil
}

var statusNames = []string{"Pending", "Running", "Completed", "ContinuedAsNew", "Failed", "Canceled", "Terminated", "Suspended"}

// statusName returns a runtime status in its canonical spelling (the
// flag is case-insensitive, unlike the HTTP API's parameter).
func statusName(s string) (string, bool) {
	for _, n := range statusNames {
		if strings.EqualFold(n, s) {
			return n, true
		}
	}
	return "", false
}

// shorten cuts s to n runes with an ellipsis, on one line.
func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// requireID checks a required --id.
func requireID(id string) error {
	if strings.TrimSpace(id) == "" {
		return usageErrorf("--id is required: the instance ID (durable get-instances lists them)")
	}
	return nil
}

// empty reports whether no filter flag was given.
func (f *filter) empty() bool {
	return len(f.statuses) == 0 && f.after == "" && f.before == "" && f.prefix == ""
}
