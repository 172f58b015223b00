package replaycheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/funchost/funchost/host/dfwire"
	sp "github.com/funchost/funchost/storageprovider"
)

// API is a running host's Durable Functions management API as a source of
// histories: the instances are listed and read over HTTP
// (GET …/instances?runtimeStatus=…, GET …/instances/{id}?showHistory=true
// &showHistoryOutput=true), so that production is checked with the host's
// key rather than storage keys. A funchost host answers with its stored
// events (dfwire.StoredEvents) and replays exactly; any other Durable
// Functions host answers with the standard historyEvents, which
// Reconstruct turns into an approximate history (History.Approximate says
// what is approximate).
type API struct {
	// URL is the host's base URL (http://localhost:7071) or the management
	// API's own (…/runtime/webhooks/durabletask, or the loopback
	// listener's …/durabletask).
	URL string
	// Key is the durabletask_extension system key or the master key, sent
	// as the code query parameter ("" for none).
	Key string
	// TaskHub names the task hub when the host serves several ("" for its
	// own).
	TaskHub string
	// Client sends the requests (default: one with a one-minute timeout).
	Client *http.Client
	// PageSize is the number of instances asked for per list page
	// (default 100).
	PageSize int
}

// FromAPI reads the histories of the instances q selects through api.
// Without InstanceIDs it pages through the instance list (its
// continuation token) filtered by q.Statuses (default NonTerminal);
// Pending instances have no history yet and are left out.
func FromAPI(ctx context.Context, api API, q Query) ([]History, error) {
	c, err := api.client()
	if err != nil {
		return nil, err
	}
	ids := q.InstanceIDs
	if len(ids) == 0 {
		if ids, err = c.list(ctx, q.Statuses); err != nil {
			return nil, err
		}
	}
	out := make([]History, 0, len(ids))
	for _, id := range ids {
		st, err := c.status(ctx, id)
		if err != nil {
			return nil, err
		}
		if st.RuntimeStatus == sp.StatusPending.String() {
			continue
		}
		h, err := FromStatus(st, c.base)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].InstanceID < out[j].InstanceID })
	return out, nil
}

// FromStatus turns a status object with its historyEvents (showHistory,
// showHistoryOutput and showInput, as FromAPI asks for them) into a
// History: exact when the entries carry funchost's stored events,
// reconstructed (Reconstruct) otherwise. source names where it came from.
func FromStatus(st *dfwire.Status, source string) (History, error) {
	h := History{InstanceID: st.InstanceID, Name: st.Name, Version: st.Version, RuntimeStatus: st.RuntimeStatus,
		Source: source}
	entries := make([]dfwire.HistoryEvent, len(st.HistoryEvents))
	for i, raw := range st.HistoryEvents {
		if err := json.Unmarshal(raw, &entries[i]); err != nil {
			return h, fmt.Errorf("replaycheck: instance %s: history event %d: %w", st.InstanceID, i, err)
		}
	}
	evs, err := dfwire.StoredHistory(entries)
	if errors.Is(err, dfwire.ErrNotStored) {
		evs, h.Approximate, err = Reconstruct(st, entries)
	}
	if err != nil {
		return h, fmt.Errorf("replaycheck: instance %s: %w", st.InstanceID, err)
	}
	h.Events = evs
	return h, nil
}

// apiClient is API with its base URL resolved.
type apiClient struct {
	api  API
	base string // the management API's URL, no trailing slash
	http *http.Client
}

func (a API) client() (*apiClient, error) {
	u, err := url.Parse(strings.TrimSpace(a.URL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("replaycheck: %q is not a host's base URL (e.g. http://localhost:7071)", a.URL)
	}
	if a.Key == "" {
		a.Key = u.Query().Get("code")
	}
	u.RawQuery, u.Fragment = "", ""
	path := strings.TrimSuffix(u.Path, "/")
	if !strings.HasSuffix(path, dfwire.WebhookPath) && !strings.HasSuffix(path, dfwire.LocalRPCPath) {
		path += dfwire.WebhookPath
	}
	u.Path = path
	c := a.Client
	if c == nil {
		c = &http.Client{Timeout: time.Minute}
	}
	return &apiClient{api: a, base: u.String(), http: c}, nil
}

// get sends GET path?q (with the key and task hub) and returns the answer.
func (c *apiClient) get(ctx context.Context, path string, q url.Values, hdr http.Header) (*http.Response, []byte, error) {
	if c.api.Key != "" {
		q.Set("code", c.api.Key)
	}
	if c.api.TaskHub != "" {
		q.Set("taskHub", c.api.TaskHub)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path+"?"+q.Encode(), nil)
	if err != nil {
		return nil, nil, fmt.Errorf("replaycheck: %w", err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("replaycheck: GET %s%s: %w (is the host running at that URL?)", c.base, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("replaycheck: GET %s%s: reading the answer: %w", c.base, path, err)
	}
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		return nil, nil, fmt.Errorf("replaycheck: GET %s%s: %s: give the durabletask_extension system key or the master key", c.base, path, resp.Status)
	}
	return resp, body, nil
}

func (c *apiClient) pageSize() int {
	if c.api.PageSize > 0 {
		return c.api.PageSize
	}
	return 100
}

// list returns the IDs of every instance in statuses, page by page.
func (c *apiClient) list(ctx context.Context, statuses []sp.OrchestrationStatus) ([]string, error) {
	if len(statuses) == 0 {
		statuses = NonTerminal
	}
	names := make([]string, len(statuses))
	for i, s := range statuses {
		names[i] = s.String()
	}
	var ids []string
	token := ""
	for {
		q := url.Values{"runtimeStatus": {strings.Join(names, ",")}, "top": {strconv.Itoa(c.pageSize())}, "showInput": {"false"}}
		hdr := http.Header{}
		if token != "" {
			hdr.Set(dfwire.ContinuationTokenHeader, token)
		}
		resp, body, err := c.get(ctx, "/instances", q, hdr)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("replaycheck: listing the instances at %s: %s: %s", c.base, resp.Status, shortBody(body))
		}
		var page []dfwire.Status
		if err := json.Unmarshal(body, &page); err != nil {
			return nil, fmt.Errorf("replaycheck: listing the instances at %s: the answer is not a list of statuses: %w", c.base, err)
		}
		for _, st := range page {
			ids = append(ids, st.InstanceID)
		}
		next := resp.Header.Get(dfwire.ContinuationTokenHeader)
		if next == "" || next == token || len(page) == 0 {
			return ids, nil
		}
		token = next
	}
}

// status reads one instance's status with its whole history.
func (c *apiClient) status(ctx context.Context, id string) (*dfwire.Status, error) {
	q := url.Values{"showHistory": {"true"}, "showHistoryOutput": {"true"}, "showInput": {"true"},
		dfwire.ExactHistoryParam: {"true"}}
	resp, body, err := c.get(ctx, "/instances/"+url.PathEscape(id), q, nil)
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusOK, http.StatusAccepted, http.StatusInternalServerError:
		// 500 is how the API shows a status it does not know; the body
		// still says.
	case http.StatusNotFound:
		return nil, fmt.Errorf("replaycheck: instance %s at %s: %s: %w", id, c.base, shortBody(body), sp.ErrInstanceNotFound)
	default:
		return nil, fmt.Errorf("replaycheck: instance %s at %s: %s: %s", id, c.base, resp.Status, shortBody(body))
	}
	var st dfwire.Status
	if err := json.Unmarshal(body, &st); err != nil || st.InstanceID == "" {
		return nil, fmt.Errorf("replaycheck: instance %s at %s: the answer is not a status object (%v): %s", id, c.base, err, shortBody(body))
	}
	return &st, nil
}

func shortBody(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
