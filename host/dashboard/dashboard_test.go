package dashboard

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/funchost/funchost/bindings"
	sp "github.com/funchost/funchost/storageprovider"
)

// fakeStore serves fixed status rows, sorted by instance ID like the
// Azure Storage provider, a page at a time.
type fakeStore struct {
	states    []*sp.OrchestrationState
	histories map[string][]*sp.HistoryEvent
	queries   int
	err       error
	panics    bool
}

func (f *fakeStore) QueryOrchestrationStates(_ context.Context, q sp.InstanceQuery) (*sp.InstanceQueryResult, error) {
	f.queries++
	if f.panics {
		panic("store exploded")
	}
	if f.err != nil {
		return nil, f.err
	}
	rows := slices.Clone(f.states)
	slices.SortFunc(rows, func(a, b *sp.OrchestrationState) int { return strings.Compare(a.InstanceID, b.InstanceID) })
	start := 0
	if q.ContinuationToken != "" {
		start, _ = strconv.Atoi(q.ContinuationToken)
	}
	var page []*sp.OrchestrationState
	i := start
	for ; i < len(rows) && len(page) < q.PageSize; i++ {
		s := rows[i]
		if !strings.HasPrefix(s.InstanceID, q.InstanceIDPrefix) || (!q.CreatedTimeFrom.IsZero() && s.CreatedTime.Before(q.CreatedTimeFrom)) ||
			(!q.CreatedTimeTo.IsZero() && s.CreatedTime.After(q.CreatedTimeTo)) {
			continue
		}
		if q.FetchInputsAndOutputs {
			panic("the list must not read payloads")
		}
		page = append(page, s)
	}
	res := &sp.InstanceQueryResult{States: page}
	if i < len(rows) {
		res.ContinuationToken = strconv.Itoa(i)
	}
	return res, nil
}

func (f *fakeStore) GetOrchestrationState(_ context.Context, id string, _ bool) (*sp.OrchestrationState, error) {
	if f.err != nil {
		return nil, f.err
	}
	for _, s := range f.states {
		if s.InstanceID == id {
			return s, nil
		}
	}
	return nil, fmt.Errorf("fake: %q: %w", id, sp.ErrInstanceNotFound)
}

func (f *fakeStore) GetOrchestrationHistory(_ context.Context, id string) ([]*sp.HistoryEvent, error) {
	return f.histories[id], nil
}

// fakeClient records actions and fails them as the real client would.
type fakeClient struct {
	bindings.DurableClient
	store *fakeStore
	calls []string
}

func (c *fakeClient) TaskHubName() string { return "TestHub" }

func (c *fakeClient) state(op, id string) (*sp.OrchestrationState, error) {
	c.calls = append(c.calls, op+" "+id)
	st, err := c.store.GetOrchestrationState(context.Background(), id, false)
	if err != nil {
		return nil, fmt.Errorf("durableclient: %s instance %q: %w", op, id, err)
	}
	return st, nil
}

func (c *fakeClient) running(op, id string) error {
	st, err := c.state(op, id)
	if err == nil && st.RuntimeStatus.IsTerminal() {
		err = fmt.Errorf("durableclient: %s instance %q: %w (it is %s)", op, id, bindings.ErrInstanceNotRunning, st.RuntimeStatus)
	}
	return err
}

func (c *fakeClient) RaiseEvent(_ context.Context, id, name string, data any) error {
	if err := c.running("raise "+name, id); err != nil {
		return err
	}
	c.calls[len(c.calls)-1] += " " + string(data.(json.RawMessage))
	return nil
}
func (c *fakeClient) Terminate(_ context.Context, id, reason string) error {
	return c.running("terminate", id)
}
func (c *fakeClient) Rewind(_ context.Context, id, _ string) error {
	st, err := c.state("rewind", id)
	if err == nil && st.RuntimeStatus != sp.StatusFailed {
		err = fmt.Errorf("durableclient: rewind instance %q: %w", id, bindings.ErrInstanceNotFailed)
	}
	return err
}
func (c *fakeClient) Restart(_ context.Context, id string, newID bool) (string, error) {
	if _, err := c.state("restart", id); err != nil {
		return "", err
	}
	if newID {
		return "new-" + id, nil
	}
	return id, nil
}
func (c *fakeClient) PurgeInstance(_ context.Context, id string) (int, error) {
	st, err := c.state("purge", id)
	if err == nil && !st.RuntimeStatus.IsTerminal() {
		err = fmt.Errorf("durableclient: purge instance %q: %w (it is %s)", id, bindings.ErrInstanceNotTerminal, st.RuntimeStatus)
	}
	if err != nil {
		return 0, err
	}
	return 1, nil
}

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// testStates are 30 instances: i-00 … i-29, created a minute apart in
// reverse ID order, every third Failed, the rest Completed but i-05
// (Running); names alternate between Alpha and Beta.
func testStates() []*sp.OrchestrationState {
	var out []*sp.OrchestrationState
	for i := range 30 {
		st := &sp.OrchestrationState{InstanceID: fmt.Sprintf("i-%02d", i), Name: []string{"Alpha", "Beta"}[i%2], Version: "v" + strconv.Itoa(i%3),
			RuntimeStatus: sp.StatusCompleted, CreatedTime: t0.Add(time.Duration(30-i) * time.Minute), LastUpdatedTime: t0.Add(time.Duration(i) * time.Hour)}
		if i%3 == 0 {
			st.RuntimeStatus = sp.StatusFailed
		}
		if i == 5 {
			st.RuntimeStatus = sp.StatusRunning
		}
		out = append(out, st)
	}
	return out
}

func newTestHandler(store *fakeStore) (*Handler, *fakeClient) {
	c := &fakeClient{store: store}
	h := New(Options{Client: c, Store: store, BasePath: "/runtime/webhooks/durabletask/dashboard", ScanLimit: 1000,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return t0.Add(48 * time.Hour) }})
	return h, c
}

func TestParseListQuery(t *testing.T) {
	for _, tc := range []struct {
		query string
		err   string // "" = valid
	}{
		{"", ""},
		{"status=Running&status=Failed,Completed&name=x&prefix=p&from=2024-05-01T10:00&to=2024-05-02&sort=updated-asc&size=20", ""},
		{"status=running", `status: "running" is not a runtime status`},
		{"from=yesterday", `from: "yesterday" is not a time`},
		{"from=2024-05-02&to=2024-05-01", "to: 2024-05-01T00:00:00Z is before from"},
		{"sort=name", `sort: "name" is not an order`},
		{"size=0", `size: "0" is not a page size`},
		{"size=5000", `size: "5000" is not a page size`},
		{"after=!!!", "after: the continuation token is not valid"},
	} {
		v, _ := url.ParseQuery(tc.query)
		_, err := parseListQuery(v)
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("parseListQuery(%q) = %v, want %q", tc.query, err, tc.err)
		}
	}
}

func TestListCountsFiltersSortsAndPages(t *testing.T) {
	store := &fakeStore{states: testStates()}
	h, _ := newTestHandler(store)
	q, _ := parseListQuery(url.Values{"size": {"7"}})
	// Walk every page: rows come newest first, each once.
	var got []string
	for page := 0; ; page++ {
		res, err := h.list(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if page == 0 {
			want := []int{1, 0, 0, 19, 10, 0, 0, 0} // Running, Pending, Suspended, Completed, Failed, ...
			if !slices.Equal(res.Counts, want) || res.Matching != 30 || res.Truncated {
				t.Errorf("counts %v matching %d truncated %v, want %v 30 false", res.Counts, res.Matching, res.Truncated, want)
			}
		}
		if res.Offset != len(got) {
			t.Errorf("page %d offset %d, want %d", page, res.Offset, len(got))
		}
		for _, s := range res.Rows {
			got = append(got, s.InstanceID)
		}
		if res.Next == "" {
			break
		}
		q.After = res.Next
	}
	var want []string
	for i := range 30 {
		want = append(want, fmt.Sprintf("i-%02d", i)) // i-00 is the newest
	}
	if !slices.Equal(got, want) {
		t.Errorf("paged rows %v, want %v", got, want)
	}

	// Filters: the counts ignore the status filter, the rows do not.
	q, _ = parseListQuery(url.Values{"status": {"Failed"}, "name": {"alp"}, "sort": {"updated-desc"}})
	res, err := h.list(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range res.Rows {
		ids = append(ids, s.InstanceID)
	}
	if want := []string{"i-24", "i-18", "i-12", "i-06", "i-00"}; !slices.Equal(ids, want) {
		t.Errorf("Failed Alpha rows by last update %v, want %v", ids, want)
	}
	if res.Counts[3] != 10 || res.Counts[4] != 5 {
		t.Errorf("Alpha counts %v: want 10 Completed and 5 Failed", res.Counts)
	}
}

func TestListStopsAtTheScanLimit(t *testing.T) {
	store := &fakeStore{states: testStates()}
	h, _ := newTestHandler(store)
	h.scanLimit = 10
	q, _ := parseListQuery(url.Values{})
	res, err := h.list(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Truncated || res.Scanned != 10 || store.queries != 1 {
		t.Errorf("truncated %v after %d rows in %d queries; want the scan to stop at 10 rows", res.Truncated, res.Scanned, store.queries)
	}
}

// do sends a request to h and returns the status and body.
func do(t *testing.T, h http.Handler, method, target, body string, hdr ...string) (int, string, http.Header) {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String(), rec.Header()
}

func TestPagesAndBadInput(t *testing.T) {
	store := &fakeStore{states: testStates(), histories: map[string][]*sp.HistoryEvent{}}
	h, _ := newTestHandler(store)
	for _, tc := range []struct {
		name, target string
		status       int
		contains     string
	}{
		{"list", "/", 200, `href="/runtime/webhooks/durabletask/dashboard/instances/i-05"`},
		{"list keeps the key in links", "/?code=k%261", 200, `/instances/i-05?code=k%261`},
		{"list fragment", "/?fragment=results", 200, `<ul class="counts"`},
		{"bad status", "/?status=running", 400, "is not a runtime status"},
		{"instance", "/instances/i-05", 200, "<span class=\"name\">Beta</span>"},
		{"instance with the version", "/instances/i-04", 200, "v1"},
		{"summary fragment", "/instances/i-05?fragment=summary", 200, `data-updated=`},
		{"unknown instance", "/instances/nope", 404, "No instance with ID"},
		{"impossible instance ID", "/instances/@entity", 404, "No instance can have the ID"},
		{"timeline", "/instances/i-05/timeline", 200, `"spans":[{"k":"orchestration"`},
		{"timeline of an unknown instance", "/instances/nope/timeline", 404, `"error":"No instance with ID`},
		{"event number not a number", "/instances/i-05/events/x", 400, "is not an event number"},
		{"event past the history", "/instances/i-05/events/3", 404, "there is no event 3"},
		{"no such page", "/nope", 404, "There is no dashboard page"},
		{"unclean path", "/instances//timeline", 404, "There is no dashboard page"},
		{"no such asset", "/static/nope.js", 404, "no such dashboard asset"},
	} {
		status, body, hdr := do(t, h, "GET", tc.target, "")
		if status != tc.status || !strings.Contains(body, tc.contains) {
			t.Errorf("%s: GET %s = %d, want %d with %q; body:\n%.600s", tc.name, tc.target, status, tc.status, tc.contains, body)
		}
		if hdr.Get("Content-Security-Policy") == "" || hdr.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: missing security headers: %v", tc.name, hdr)
		}
	}
	// The mount point itself redirects to the list, keeping the query.
	if status, _, hdr := do(t, http.StripPrefix("/d", h), "GET", "/d?code=k", ""); status != http.StatusMovedPermanently || hdr.Get("Location") != "/runtime/webhooks/durabletask/dashboard/?code=k" {
		t.Errorf("mount point: %d to %q", status, hdr.Get("Location"))
	}
}

func TestStaticAssetsAreCacheable(t *testing.T) {
	h, _ := newTestHandler(&fakeStore{})
	status, _, hdr := do(t, h, "GET", "/static/dashboard.css", "")
	if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/css") || hdr.Get("ETag") == "" {
		t.Fatalf("dashboard.css: %d %v", status, hdr)
	}
	if status, _, _ := do(t, h, "GET", "/static/dashboard.css", "", "If-None-Match", hdr.Get("ETag")); status != http.StatusNotModified {
		t.Errorf("conditional GET: %d, want 304", status)
	}
}

func TestActions(t *testing.T) {
	store := &fakeStore{states: testStates()}
	h, client := newTestHandler(store)
	big := `{"event":"E","data":"` + strings.Repeat("x", DefaultMaxBodyBytes) + `"}`
	for _, tc := range []struct {
		name, target, body string
		hdr                []string
		status             int
		contains           string
	}{
		{"raise", "/instances/i-05/raise", `{"event":"Approval","data":"{\"ok\": true}"}`, nil, 200, `"message":"Event \"Approval\" sent."`},
		{"raise without data sends null", "/instances/i-05/raise", `{"event":"Ping"}`, nil, 200, `Ping`},
		{"raise with invalid JSON", "/instances/i-05/raise", `{"event":"Approval","data":"{\n  \"ok\": yes}"}`, nil, 400, "the payload is not valid JSON: line 2, column 9"},
		{"raise with two values", "/instances/i-05/raise", `{"event":"Approval","data":"1 2"}`, nil, 400, "unexpected data after the top-level value"},
		{"raise with a cut value", "/instances/i-05/raise", `{"event":"Approval","data":"[1,"}`, nil, 400, "unexpected end of file"},
		{"raise without a name", "/instances/i-05/raise", `{"data":"1"}`, nil, 400, "give the event's name"},
		{"raise with a bad name", "/instances/i-05/raise", `{"event":"a/b"}`, nil, 400, "must not contain"},
		{"raise on a completed instance", "/instances/i-01/raise", `{"event":"E"}`, nil, 409, "no longer running"},
		{"raise on an unknown instance", "/instances/nope/raise", `{"event":"E"}`, nil, 404, "No instance with ID"},
		{"unknown field", "/instances/i-05/terminate", `{"reasons":"x"}`, nil, 400, `unknown field \"reasons\"`},
		{"not JSON", "/instances/i-05/terminate", `reason=x`, nil, 400, "not a valid action"},
		{"terminate", "/instances/i-05/terminate", `{"reason":"stop"}`, nil, 200, "Terminate sent"},
		{"terminate a completed instance", "/instances/i-01/terminate", ``, nil, 409, "no longer running"},
		{"rewind a completed instance", "/instances/i-01/rewind", `{}`, nil, 409, "Only Failed instances can be rewound"},
		{"rewind", "/instances/i-03/rewind", `{}`, nil, 200, "Rewind sent"},
		{"restart under a new ID", "/instances/i-01/restart", `{"newInstanceId":true}`, nil, 200, `"location":"/runtime/webhooks/durabletask/dashboard/instances/new-i-01"`},
		{"purge a running instance", "/instances/i-05/purge", `{}`, nil, 409, "terminate it first"},
		{"purge", "/instances/i-01/purge?code=k", `{}`, nil, 200, `"location":"/runtime/webhooks/durabletask/dashboard/?code=k"`},
		{"unknown action", "/instances/i-05/explode", `{}`, nil, 404, `\"explode\" is not an action`},
		{"oversized body", "/instances/i-05/raise", big, nil, 413, "larger than"},
		{"form post", "/instances/i-05/terminate", `{}`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 403, "application/json"},
		{"cross-site", "/instances/i-05/terminate", `{}`, []string{"Sec-Fetch-Site", "cross-site"}, 403, "Sec-Fetch-Site: cross-site"},
		{"other origin", "/instances/i-05/terminate", `{}`, []string{"Origin", "http://evil.example"}, 403, "Origin http://evil.example"},
		{"same origin", "/instances/i-05/terminate", `{}`, []string{"Origin", "http://example.com", "Sec-Fetch-Site", "same-origin"}, 200, "Terminate sent"},
	} {
		status, body, hdr := do(t, h, "POST", tc.target, tc.body, tc.hdr...)
		if status != tc.status || !strings.Contains(body, tc.contains) || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
			t.Errorf("%s: POST %s = %d %s, want %d with %q", tc.name, tc.target, status, body, tc.status, tc.contains)
		}
	}
	if !slices.Contains(client.calls, `raise Approval i-05 {"ok": true}`) || !slices.Contains(client.calls, "raise Ping i-05 null") {
		t.Errorf("the client saw %q", client.calls)
	}
}

func TestStoreFailuresAndPanicsAreAnswered(t *testing.T) {
	store := &fakeStore{states: testStates(), err: errors.New("connection refused")}
	h, _ := newTestHandler(store)
	if status, body, _ := do(t, h, "GET", "/", ""); status != http.StatusBadGateway || !strings.Contains(body, "connection refused") {
		t.Errorf("store down: %d %s", status, body)
	}
	store.err = context.DeadlineExceeded
	if status, _, _ := do(t, h, "GET", "/instances/i-01/timeline", ""); status != http.StatusGatewayTimeout {
		t.Errorf("store timeout: %d", status)
	}
	store.err, store.panics = nil, true
	if status, body, _ := do(t, h, "GET", "/", ""); status != http.StatusInternalServerError || !strings.Contains(body, "failed to serve") {
		t.Errorf("panicking store: %d %s", status, body)
	}
	store.panics = false
	if status, _, _ := do(t, h, "GET", "/", ""); status != http.StatusOK {
		t.Errorf("after a panic the dashboard answers %d", status)
	}
}

func TestLargeTimelinesAreGzipped(t *testing.T) {
	var history []*sp.HistoryEvent
	for i := range 2000 {
		history = append(history, &sp.HistoryEvent{EventType: sp.EventTaskScheduled, EventID: i, Name: "Work", Timestamp: ms(i), Input: `"some input"`})
	}
	store := &fakeStore{states: testStates(), histories: map[string][]*sp.HistoryEvent{"i-05": history}}
	h, _ := newTestHandler(store)
	_, plain, _ := do(t, h, "GET", "/instances/i-05/timeline", "")
	status, zipped, hdr := do(t, h, "GET", "/instances/i-05/timeline", "", "Accept-Encoding", "gzip, deflate")
	if status != 200 || hdr.Get("Content-Encoding") != "gzip" || len(zipped)*4 > len(plain) {
		t.Fatalf("gzipped timeline: %d %v, %d bytes (plain %d)", status, hdr, len(zipped), len(plain))
	}
	zr, err := gzip.NewReader(strings.NewReader(zipped))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(zr)
	if string(b) != plain || !json.Valid(b) {
		t.Error("the gzipped timeline differs from the plain one")
	}
}

func TestSummaryRefreshIsCheapWhileNothingChanges(t *testing.T) {
	store := &fakeStore{states: testStates(), histories: map[string][]*sp.HistoryEvent{}}
	h, _ := newTestHandler(store)
	marker := url.QueryEscape(stateMarker(store.states[5]))
	if status, body, _ := do(t, h, "GET", "/instances/i-05?fragment=summary&since="+marker, ""); status != http.StatusNoContent || body != "" {
		t.Errorf("unchanged instance: %d %q, want 204", status, body)
	}
	store.states[5].LastUpdatedTime = store.states[5].LastUpdatedTime.Add(time.Second)
	if status, body, _ := do(t, h, "GET", "/instances/i-05?fragment=summary&since="+marker, ""); status != http.StatusOK || !strings.Contains(body, "data-updated") {
		t.Errorf("changed instance: %d %.200s", status, body)
	}
	// A refresh of a purged instance says so in JSON, for the page to show.
	if status, body, _ := do(t, h, "GET", "/instances/gone?fragment=summary&since="+marker, ""); status != http.StatusNotFound || !strings.Contains(body, `"error":"No instance with ID \"gone\"`) {
		t.Errorf("purged instance: %d %s", status, body)
	}
}

// TestMountPointFromTheRequest serves one handler under two prefixes, as
// the host does on its two listeners: links follow each request's prefix.
func TestMountPointFromTheRequest(t *testing.T) {
	store := &fakeStore{states: testStates()}
	h := New(Options{Client: &fakeClient{store: store}, Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	mux := http.NewServeMux()
	mux.Handle("/runtime/webhooks/durabletask/dashboard/", http.StripPrefix("/runtime/webhooks/durabletask/dashboard", h))
	mux.Handle("/durabletask/dashboard/", http.StripPrefix("/durabletask/dashboard", h))
	for _, base := range []string{"/runtime/webhooks/durabletask/dashboard", "/durabletask/dashboard"} {
		_, body, _ := do(t, mux, "GET", base+"/", "")
		if !strings.Contains(body, `href="`+base+`/instances/i-05"`) || !strings.Contains(body, `data-base="`+base+`"`) {
			t.Errorf("under %s the links are wrong:\n%.1500s", base, body)
		}
	}
}
