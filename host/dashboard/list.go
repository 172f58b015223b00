package dashboard

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
)

// allStatuses is the order statuses are counted and offered in.
var allStatuses = []sp.OrchestrationStatus{
	sp.StatusRunning, sp.StatusPending, sp.StatusSuspended, sp.StatusCompleted,
	sp.StatusFailed, sp.StatusTerminated, sp.StatusCanceled, sp.StatusContinuedAsNew,
}

// Sort orders of the instance list.
const (
	sortCreatedDesc = "created-desc"
	sortCreatedAsc  = "created-asc"
	sortUpdatedDesc = "updated-desc"
	sortUpdatedAsc  = "updated-asc"
)

var sortLabels = []struct{ Value, Label string }{
	{sortCreatedDesc, "Created, newest first"},
	{sortCreatedAsc, "Created, oldest first"},
	{sortUpdatedDesc, "Last updated, newest first"},
	{sortUpdatedAsc, "Last updated, oldest first"},
}

// listQuery is the instance list's filter, order and position, parsed
// from the page's query string.
type listQuery struct {
	Statuses []sp.OrchestrationStatus
	Name     string // case-insensitive substring of the orchestrator name
	Prefix   string // instance ID prefix
	From, To time.Time
	Sort     string
	Size     int
	After    string // continuation token: the last row of the previous page
}

// inputTimeLayouts are the forms the time filters accept; without a zone
// they are UTC (the form's datetime-local fields send the first).
var inputTimeLayouts = []string{"2006-01-02T15:04", "2006-01-02T15:04:05", time.RFC3339Nano, "2006-01-02"}

func parseInputTime(field, v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, nil
	}
	for _, l := range inputTimeLayouts {
		if t, err := time.Parse(l, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%s: %q is not a time; use the form 2024-05-01T13:30 (UTC)", field, v)
}

// parseListQuery reads the list's query parameters; an invalid value is an
// error naming the field, so that a mistyped URL is never silently widened
// into "everything".
func parseListQuery(v url.Values) (listQuery, error) {
	q := listQuery{Name: strings.TrimSpace(v.Get("name")), Prefix: strings.TrimSpace(v.Get("prefix")), Sort: v.Get("sort"), After: v.Get("after")}
	for _, s := range v["status"] {
		for _, item := range strings.Split(s, ",") {
			if item = strings.TrimSpace(item); item == "" {
				continue
			}
			st, err := sp.ParseOrchestrationStatus(item)
			if err != nil {
				return q, fmt.Errorf("status: %q is not a runtime status; use Running, Pending, Suspended, Completed, Failed, Terminated, Canceled or ContinuedAsNew", item)
			}
			if !slices.Contains(q.Statuses, st) {
				q.Statuses = append(q.Statuses, st)
			}
		}
	}
	var err error
	if q.From, err = parseInputTime("from", v.Get("from")); err != nil {
		return q, err
	}
	if q.To, err = parseInputTime("to", v.Get("to")); err != nil {
		return q, err
	}
	if !q.From.IsZero() && !q.To.IsZero() && q.To.Before(q.From) {
		return q, fmt.Errorf("to: %s is before from (%s)", q.To.Format(time.RFC3339), q.From.Format(time.RFC3339))
	}
	switch q.Sort {
	case "":
		q.Sort = sortCreatedDesc
	case sortCreatedDesc, sortCreatedAsc, sortUpdatedDesc, sortUpdatedAsc:
	default:
		return q, fmt.Errorf("sort: %q is not an order; use %s, %s, %s or %s", q.Sort, sortCreatedDesc, sortCreatedAsc, sortUpdatedDesc, sortUpdatedAsc)
	}
	q.Size = DefaultPageSize
	if s := strings.TrimSpace(v.Get("size")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 500 {
			return q, fmt.Errorf("size: %q is not a page size; use a number from 1 to 500", s)
		}
		q.Size = n
	}
	if q.After != "" {
		if _, err := decodeToken(q.After); err != nil {
			return q, fmt.Errorf("after: the continuation token is not valid (%v); start again from the first page", err)
		}
	}
	return q, nil
}

// values renders q back into query parameters (without the token), for
// links that keep the filter.
func (q listQuery) values() url.Values {
	v := url.Values{}
	for _, s := range q.Statuses {
		v.Add("status", s.String())
	}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("name", q.Name)
	set("prefix", q.Prefix)
	if !q.From.IsZero() {
		v.Set("from", q.From.Format("2006-01-02T15:04:05"))
	}
	if !q.To.IsZero() {
		v.Set("to", q.To.Format("2006-01-02T15:04:05"))
	}
	if q.Sort != sortCreatedDesc {
		v.Set("sort", q.Sort)
	}
	if q.Size != DefaultPageSize {
		v.Set("size", strconv.Itoa(q.Size))
	}
	return v
}

// pageToken is a list position: the sort key of the last row shown. Paging
// by key rather than by offset keeps pages stable while instances come
// and go.
type pageToken struct {
	T  int64  `json:"t"` // sort time, Unix nanoseconds
	ID string `json:"i"`
}

func encodeToken(t pageToken) string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(s string) (pageToken, error) {
	var t pageToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &t)
	}
	return t, err
}

// listResult is one page of the instance list.
type listResult struct {
	Rows []*sp.OrchestrationState
	// Counts holds, per status in allStatuses order, the scanned instances
	// that match every filter but the status filter.
	Counts []int
	// Matching is the number of scanned instances matching the whole filter.
	Matching int
	// Offset is the number of matching rows before this page.
	Offset int
	// Next is the token of the next page, "" on the last.
	Next string
	// Scanned is the number of status rows read; Truncated is set when the
	// scan stopped at the limit with more rows in storage.
	Scanned   int
	Truncated bool
}

// list reads up to the scan limit of status rows (without payloads) that
// match the filters storage can apply (ID prefix, creation time), counts
// them by status, applies the name and status filters, sorts them and
// cuts the page after q.After.
func (h *Handler) list(ctx context.Context, q listQuery) (*listResult, error) {
	sq := sp.InstanceQuery{CreatedTimeFrom: q.From, CreatedTimeTo: q.To, InstanceIDPrefix: q.Prefix, PageSize: min(1000, h.scanLimit)}
	var rows []*sp.OrchestrationState
	res := &listResult{Counts: make([]int, len(allStatuses))}
	for {
		page, err := h.store.QueryOrchestrationStates(ctx, sq)
		if err != nil {
			return nil, err
		}
		res.Scanned += len(page.States)
		for _, s := range page.States {
			if strings.HasPrefix(s.InstanceID, "@") {
				continue // an entity: the entities view lists it
			}
			if q.Name != "" && !strings.Contains(strings.ToLower(s.Name), strings.ToLower(q.Name)) {
				continue
			}
			if i := slices.Index(allStatuses, s.RuntimeStatus); i >= 0 {
				res.Counts[i]++
			}
			if len(q.Statuses) == 0 || slices.Contains(q.Statuses, s.RuntimeStatus) {
				rows = append(rows, s)
			}
		}
		if page.ContinuationToken == "" {
			break
		}
		if res.Scanned >= h.scanLimit {
			res.Truncated = true
			break
		}
		sq.ContinuationToken = page.ContinuationToken
	}
	res.Matching = len(rows)
	key := sortKey(q.Sort)
	desc := strings.HasSuffix(q.Sort, "-desc")
	cmpRows := func(a, b *sp.OrchestrationState) int {
		c := cmp.Or(cmp.Compare(key(a), key(b)), strings.Compare(a.InstanceID, b.InstanceID))
		if desc {
			return -c
		}
		return c
	}
	slices.SortFunc(rows, cmpRows)
	start := 0
	if q.After != "" {
		t, _ := decodeToken(q.After) // validated by parseListQuery
		after := &sp.OrchestrationState{InstanceID: t.ID}
		start, _ = slices.BinarySearchFunc(rows, after, func(row, _ *sp.OrchestrationState) int {
			c := cmp.Or(cmp.Compare(key(row), t.T), strings.Compare(row.InstanceID, t.ID))
			if desc {
				c = -c
			}
			if c <= 0 {
				return -1 // at or before the token: not on this page
			}
			return 1
		})
	}
	end := min(start+q.Size, len(rows))
	res.Rows, res.Offset = rows[start:end], start
	if end < len(rows) {
		last := rows[end-1]
		res.Next = encodeToken(pageToken{T: key(last), ID: last.InstanceID})
	}
	return res, nil
}

// sortKey returns the time a sort order compares, in Unix nanoseconds.
func sortKey(order string) func(*sp.OrchestrationState) int64 {
	if strings.HasPrefix(order, "updated") {
		return func(s *sp.OrchestrationState) int64 { return unixNano(s.LastUpdatedTime) }
	}
	return func(s *sp.OrchestrationState) int64 { return unixNano(s.CreatedTime) }
}

// unixNano is t in Unix nanoseconds, 0 for the zero time (which UnixNano
// cannot represent).
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}
