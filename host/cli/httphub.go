package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/dfwire"
)

// httpHub reaches the task hub through a running host's Durable Functions
// management API (docs/http-api.md), so that production is operated with
// the host's system key instead of storage keys.
type httpHub struct {
	base    string // the management API's absolute URL, no trailing slash
	key     string
	taskHub string
	client  *http.Client
}

// newHTTPHub takes the host's base URL (https://app.example.com) or the
// management API's own (…/runtime/webhooks/durabletask, or the loopback
// listener's …/durabletask).
func newHTTPHub(raw, key, taskHub string, timeout time.Duration) (*httpHub, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageErrorf("--url %q: give the host's base URL, e.g. http://localhost:7071 or https://myapp.azurewebsites.net", raw)
	}
	if key == "" {
		key = u.Query().Get("code")
	}
	u.RawQuery, u.Fragment = "", ""
	path := strings.TrimSuffix(u.Path, "/")
	if !strings.HasSuffix(path, dfwire.WebhookPath) && !strings.HasSuffix(path, dfwire.LocalRPCPath) {
		path += dfwire.WebhookPath
	}
	u.Path = path
	return &httpHub{base: u.String(), key: key, taskHub: taskHub, client: &http.Client{Timeout: timeout}}, nil
}

func (h *httpHub) Describe() string {
	if h.taskHub != "" {
		return "task hub " + h.taskHub + " (" + h.base + ")"
	}
	return "the host's task hub (" + h.base + ")"
}

// response is one answer of the API.
type response struct {
	code int
	hdr  http.Header
	body []byte
}

// message is the API's error text: the JSON Message, else the body.
func (r *response) message() string {
	var e dfwire.Error
	if json.Unmarshal(r.body, &e) == nil && e.Message != "" {
		return e.Message
	}
	if s := strings.TrimSpace(string(r.body)); s != "" {
		return s
	}
	return http.StatusText(r.code)
}

// do sends one request to path (below the API's base) with query q.
func (h *httpHub) do(ctx context.Context, method, path string, q url.Values, body []byte, hdr map[string]string) (*response, error) {
	if q == nil {
		q = url.Values{}
	}
	if h.key != "" {
		q.Set("code", h.key)
	}
	if h.taskHub != "" {
		q.Set("taskHub", h.taskHub)
	}
	u := h.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w (is the host running at that URL?)", method, h.base+path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the answer: %w", method, h.base+path, err)
	}
	r := &response{code: resp.StatusCode, hdr: resp.Header, body: b}
	if r.code == http.StatusUnauthorized || r.code == http.StatusForbidden {
		return nil, fmt.Errorf("%s %s: %d %s: pass the durabletask_extension system key or the master key with --key (or $FUNCHOST_KEY)",
			method, h.base+path, r.code, http.StatusText(r.code))
	}
	return r, nil
}

// unexpected is the error for an answer the operation does not expect.
func (r *response) unexpected(what string) error {
	return fmt.Errorf("%s: the host answered %d: %s", what, r.code, r.message())
}

func instancePath(id string) string { return "/instances/" + url.PathEscape(id) }

func (h *httpHub) List(ctx context.Context, q Query) (*Page, error) {
	v := url.Values{}
	if len(q.RuntimeStatus) > 0 {
		v.Set("runtimeStatus", strings.Join(q.RuntimeStatus, ","))
	}
	if !q.CreatedFrom.IsZero() {
		v.Set("createdTimeFrom", q.CreatedFrom.UTC().Format(time.RFC3339Nano))
	}
	if !q.CreatedTo.IsZero() {
		v.Set("createdTimeTo", q.CreatedTo.UTC().Format(time.RFC3339Nano))
	}
	if q.InstanceIDPrefix != "" {
		v.Set("instanceIdPrefix", q.InstanceIDPrefix)
	}
	if q.Top > 0 {
		v.Set("top", strconv.Itoa(q.Top))
	}
	v.Set("showInput", strconv.FormatBool(q.ShowInput))
	var hdr map[string]string
	if q.ContinuationToken != "" {
		hdr = map[string]string{dfwire.ContinuationTokenHeader: q.ContinuationToken}
	}
	r, err := h.do(ctx, http.MethodGet, "/instances", v, nil, hdr)
	if err != nil {
		return nil, err
	}
	if r.code != http.StatusOK {
		return nil, r.unexpected("listing instances")
	}
	page := &Page{ContinuationToken: r.hdr.Get(dfwire.ContinuationTokenHeader)}
	if err := json.Unmarshal(r.body, &page.Instances); err != nil {
		return nil, fmt.Errorf("listing instances: the host's answer is not a list of statuses: %w", err)
	}
	return page, nil
}

func (h *httpHub) Status(ctx context.Context, id string, o StatusOptions) (*dfwire.Status, error) {
	v := url.Values{"showInput": {strconv.FormatBool(o.ShowInput)}}
	if o.History {
		v.Set("showHistory", "true")
		v.Set("showHistoryOutput", "true")
	}
	r, err := h.do(ctx, http.MethodGet, instancePath(id), v, nil, nil)
	if err != nil {
		return nil, err
	}
	if r.code == http.StatusNotFound {
		return nil, notFoundAnswer(r)
	}
	var st dfwire.Status
	if err := json.Unmarshal(r.body, &st); err != nil || st.InstanceID == "" {
		return nil, r.unexpected("reading the status")
	}
	return &st, nil
}

// notFoundAnswer is a 404: an unknown task hub says so in its message,
// an unknown instance does not.
func notFoundAnswer(r *response) error {
	if m := r.message(); strings.Contains(m, "task hub") {
		return notFound(errors.New(m))
	}
	return bindings.ErrInstanceNotFound
}

func (h *httpHub) StartNew(ctx context.Context, orchestrator string, input json.RawMessage, id, version string) (string, error) {
	path := "/orchestrators/" + url.PathEscape(orchestrator)
	if id != "" {
		path += "/" + url.PathEscape(id)
	}
	v := url.Values{}
	if version != "" {
		v.Set("version", version)
	}
	if input == nil {
		input = json.RawMessage("null")
	}
	r, err := h.do(ctx, http.MethodPost, path, v, input, nil)
	if err != nil {
		return "", err
	}
	switch r.code {
	case http.StatusAccepted, http.StatusOK:
	case http.StatusConflict:
		return "", bindings.ErrInstanceExists
	default:
		return "", r.unexpected("starting " + orchestrator)
	}
	var cs dfwire.CheckStatus
	if err := json.Unmarshal(r.body, &cs); err != nil || cs.ID == "" {
		return "", r.unexpected("starting " + orchestrator)
	}
	return cs.ID, nil
}

func (h *httpHub) RaiseEvent(ctx context.Context, id, event string, data json.RawMessage) error {
	if data == nil {
		data = json.RawMessage("null")
	}
	r, err := h.do(ctx, http.MethodPost, instancePath(id)+"/raiseEvent/"+url.PathEscape(event), nil, data, nil)
	if err != nil {
		return err
	}
	return controlAnswer(r, "raising "+event)
}

// controlAnswer maps the answer of a control operation.
func controlAnswer(r *response, what string) error {
	switch r.code {
	case http.StatusAccepted, http.StatusOK:
		return nil
	case http.StatusNotFound:
		return notFoundAnswer(r)
	case http.StatusGone:
		return bindings.ErrInstanceNotRunning
	case http.StatusPreconditionFailed:
		return fmt.Errorf("%s: %w", r.message(), bindings.ErrInstanceNotFailed)
	}
	return r.unexpected(what)
}

func (h *httpHub) Control(ctx context.Context, op Operation, id, reason string) error {
	v := url.Values{}
	if reason != "" {
		v.Set("reason", reason)
	}
	r, err := h.do(ctx, http.MethodPost, instancePath(id)+"/"+string(op), v, nil, nil)
	if err != nil {
		return err
	}
	return controlAnswer(r, string(op))
}

func (h *httpHub) Restart(ctx context.Context, id string, newID bool) (string, error) {
	v := url.Values{"restartWithNewInstanceId": {strconv.FormatBool(newID)}}
	r, err := h.do(ctx, http.MethodPost, instancePath(id)+"/restart", v, nil, nil)
	if err != nil {
		return "", err
	}
	switch r.code {
	case http.StatusAccepted, http.StatusOK:
	case http.StatusBadRequest, http.StatusNotFound:
		return "", bindings.ErrInstanceNotFound
	case http.StatusConflict:
		return "", bindings.ErrInstanceExists
	default:
		return "", r.unexpected("restarting")
	}
	var cs dfwire.CheckStatus
	if err := json.Unmarshal(r.body, &cs); err != nil || cs.ID == "" {
		return "", r.unexpected("restarting")
	}
	return cs.ID, nil
}

func (h *httpHub) Purge(ctx context.Context, id string) error {
	r, err := h.do(ctx, http.MethodDelete, instancePath(id), nil, nil, nil)
	if err != nil {
		return err
	}
	switch r.code {
	case http.StatusOK:
		return nil
	case http.StatusNotFound:
		return notFoundAnswer(r)
	case http.StatusPreconditionFailed:
		return bindings.ErrInstanceNotTerminal
	}
	return r.unexpected("purging")
}

func (h *httpHub) DeleteTaskHub(context.Context) error {
	return fmt.Errorf("%w: the management API has no route that deletes a task hub; run delete-task-hub on storage (without --url, with --connection-string if needed)", errNotSupported)
}

func (h *httpHub) Close(context.Context) error { h.client.CloseIdleConnections(); return nil }
