package mgmtapi

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/funchost/funchost/bindings"
	sp "github.com/funchost/funchost/storageprovider"
)

// query holds query parameters by lower-cased name: Durable Functions
// matches parameter names case-insensitively.
type query map[string][]string

func newQuery(raw string) query {
	vals, _ := url.ParseQuery(raw) // keeps what parses, as ASP.NET does
	q := query{}
	for k, v := range vals {
		lk := strings.ToLower(k)
		q[lk] = append(q[lk], v...)
	}
	return q
}

func (q query) get(name string) string {
	if v := q[strings.ToLower(name)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (q query) has(name string) bool { return len(q[strings.ToLower(name)]) > 0 }

// boolean parses true/false case-insensitively; anything else gives def,
// as in the extension.
func (q query) boolean(name string, def bool) bool {
	switch strings.ToLower(strings.TrimSpace(q.get(name))) {
	case "true":
		return true
	case "false":
		return false
	}
	return def
}

// statuses parses runtimeStatus, given comma-separated and/or repeated.
// Names are case-sensitive (Running, not running); a bad name is an error
// rather than silently dropped, since dropping it would turn the filter
// into "all statuses".
func (q query) statuses(name string) ([]bindings.RuntimeStatus, error) {
	var out []bindings.RuntimeStatus
	for _, v := range q[strings.ToLower(name)] {
		for _, item := range strings.Split(v, ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			s, err := sp.ParseOrchestrationStatus(item)
			if err != nil {
				return nil, fmt.Errorf("'%s' is not a valid runtimeStatus; use Pending, Running, Completed, ContinuedAsNew, Failed, Canceled, Terminated or Suspended (case-sensitive)", item)
			}
			out = append(out, bindings.RuntimeStatus(s))
		}
	}
	return out, nil
}

// timeLayouts are the timestamp forms accepted in query parameters; those
// without a zone are taken as UTC.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02"}

func (q query) time(name string) (time.Time, error) {
	v := strings.TrimSpace(q.get(name))
	if v == "" {
		return time.Time{}, nil
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("'%s' is not a valid value for %s; use an ISO 8601 time such as 2024-01-01T00:00:00Z", v, name)
}

// filter parses the filter shared by listing and purging: createdTimeFrom,
// createdTimeTo and runtimeStatus.
func (q query) filter() (from, to time.Time, statuses []bindings.RuntimeStatus, err error) {
	if from, err = q.time("createdTimeFrom"); err != nil {
		return
	}
	if to, err = q.time("createdTimeTo"); err != nil {
		return
	}
	statuses, err = q.statuses("runtimeStatus")
	return
}

// seconds parses a duration given in (decimal) seconds.
func (q query) seconds(name string) (time.Duration, error) {
	v := strings.TrimSpace(q.get(name))
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f > 1e9 {
		return 0, fmt.Errorf("'%s' is not a valid value for %s; give a number of seconds", v, name)
	}
	return time.Duration(f * float64(time.Second)), nil
}
