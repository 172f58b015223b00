package mgmtapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/durableclient"
	sp "github.com/funchost/funchost/storageprovider"
)

// ContinuationTokenHeader carries list paging tokens in both directions.
const ContinuationTokenHeader = "x-ms-continuation-token"

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
func (q query) statuses(name string) ([]sp.OrchestrationStatus, error) {
	var out []sp.OrchestrationStatus
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
			out = append(out, s)
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
func (q query) filter() (from, to time.Time, statuses []sp.OrchestrationStatus, err error) {
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

// request is one API call in progress.
type request struct {
	h *handler
	w http.ResponseWriter
	r *http.Request
	q query
	c *durableclient.Client
}

func writeJSON(w http.ResponseWriter, code int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// writeError writes the extension's error body: {"Message": "..."}.
func writeError(w http.ResponseWriter, code int, msg string) {
	b, _ := json.Marshal(struct {
		Message string `json:"Message"`
	}{msg})
	writeJSON(w, code, b)
}

func notFound(w http.ResponseWriter) { w.WriteHeader(http.StatusNotFound) }

// client resolves the request's durable client, answering 404 for a task
// hub this host does not serve.
func (rq *request) client() bool {
	c, err := rq.h.clients(rq.q.get("taskHub"), rq.q.get("connection"))
	if err != nil {
		if errors.Is(err, ErrUnknownTaskHub) {
			msg := fmt.Sprintf("The task hub '%s' is not served by this host.", rq.q.get("taskHub"))
			if conn := rq.q.get("connection"); conn != "" {
				msg = fmt.Sprintf("The task hub '%s' (connection '%s') is not served by this host.", rq.q.get("taskHub"), conn)
			}
			writeError(rq.w, http.StatusNotFound, msg)
		} else {
			rq.internal(err)
		}
		return false
	}
	rq.c = c
	return true
}

// internal answers 500 as the extension does for unexpected errors.
func (rq *request) internal(err error) {
	rq.h.log.Error("durable management API request failed", "method", rq.r.Method, "path", rq.r.URL.Path, "err", err)
	writeError(rq.w, http.StatusInternalServerError, "Something went wrong while processing your request: "+err.Error())
}

func (rq *request) links() durableclient.LinkOptions {
	return durableclient.LinkOptions{
		BasePath:                           rq.h.basePath,
		ReturnInternalServerErrorOnFailure: rq.q.boolean("returnInternalServerErrorOnFailure", false),
	}
}

// body reads the request body as JSON: nil for an empty body, an error
// message for invalid JSON, and false after answering 413.
func (rq *request) body() (json.RawMessage, string, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(rq.w, rq.r.Body, rq.h.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(rq.w, http.StatusRequestEntityTooLarge, fmt.Sprintf("The request body is larger than %d bytes.", rq.h.maxBody))
			return nil, "", false
		}
		writeError(rq.w, http.StatusBadRequest, "Reading the request body failed: "+err.Error())
		return nil, "", false
	}
	if len(b) == 0 {
		return nil, "", true
	}
	if !json.Valid(b) {
		return nil, "Invalid JSON content", true
	}
	return json.RawMessage(b), "", true
}

// wait parses timeout and pollingInterval; both must be given to wait.
func (rq *request) wait() (timeout, interval time.Duration, waiting, ok bool) {
	if !rq.q.has("timeout") || !rq.q.has("pollingInterval") {
		return 0, 0, false, true
	}
	var err error
	if timeout, err = rq.q.seconds("timeout"); err == nil {
		interval, err = rq.q.seconds("pollingInterval")
	}
	if err == nil && interval > timeout {
		err = errors.New("pollingInterval must not be greater than timeout")
	}
	if err != nil {
		writeError(rq.w, http.StatusBadRequest, err.Error())
		return 0, 0, false, false
	}
	return timeout, interval, true, true
}

// respondStarted answers a start or restart: the check-status response,
// or the result of waiting when timeout and pollingInterval were given.
func (rq *request) respondStarted(id string, timeout, interval time.Duration, waiting bool) {
	var err error
	if waiting {
		err = rq.c.WaitAndRespond(rq.w, rq.r, id, timeout, interval, rq.links())
	} else {
		err = rq.c.WriteCheckStatusResponse(rq.w, rq.r, id, rq.links())
	}
	if err != nil {
		rq.h.log.Warn("durable management API: writing the response failed", "instanceId", id, "err", err)
	}
}

func conflict(w http.ResponseWriter, id string) {
	writeError(w, http.StatusConflict, fmt.Sprintf("An instance with ID '%s' already exists.", id))
}

// start serves POST /orchestrators/{functionName}[/{instanceId}].
func (rq *request) start(name, id string) {
	if !rq.client() {
		return
	}
	input, bad, ok := rq.body()
	if !ok {
		return
	}
	if bad != "" {
		writeError(rq.w, http.StatusBadRequest, bad)
		return
	}
	timeout, interval, waiting, ok := rq.wait()
	if !ok {
		return
	}
	var opts []bindings.StartOption
	if id != "" {
		opts = append(opts, bindings.WithInstanceID(id))
	}
	if v := rq.q.get("version"); v != "" {
		opts = append(opts, bindings.WithVersion(v))
	}
	var in any
	if input != nil {
		in = input
	}
	newID, err := rq.c.StartNew(rq.r.Context(), name, in, opts...)
	switch {
	case errors.Is(err, sp.ErrInstanceExists):
		conflict(rq.w, id)
		return
	case errors.Is(err, bindings.ErrInvalidInstanceID), errors.Is(err, bindings.ErrUnknownOrchestrator):
		writeError(rq.w, http.StatusBadRequest, err.Error())
		return
	case err != nil:
		rq.internal(err)
		return
	}
	rq.respondStarted(newID, timeout, interval, waiting)
}

// requestURL is the URL the caller used, for Location headers.
func (rq *request) requestURL() string {
	uri := rq.r.RequestURI
	if !strings.HasPrefix(uri, "/") {
		return rq.r.URL.String() // absolute-form request target
	}
	return rq.c.RequestBaseURL(rq.r) + uri
}

// status serves GET /instances/{instanceId}.
func (rq *request) status(id string) {
	if !rq.client() {
		return
	}
	st, err := rq.c.GetStatus(rq.r.Context(), id, bindings.StatusOptions{
		ShowHistory:       rq.q.boolean("showHistory", false),
		ShowHistoryOutput: rq.q.boolean("showHistoryOutput", false),
		HideInput:         !rq.q.boolean("showInput", true),
	})
	if errors.Is(err, sp.ErrInstanceNotFound) {
		notFound(rq.w)
		return
	}
	if err != nil {
		rq.internal(err)
		return
	}
	code := http.StatusOK
	switch st.RuntimeStatus {
	case sp.StatusRunning, sp.StatusPending, sp.StatusContinuedAsNew, sp.StatusSuspended:
		code = http.StatusAccepted
		rq.w.Header().Set("Location", rq.requestURL())
		rq.w.Header().Set("Retry-After", "5")
	case sp.StatusFailed:
		if rq.q.boolean("returnInternalServerErrorOnFailure", false) {
			code = http.StatusInternalServerError
		}
	case sp.StatusCompleted, sp.StatusTerminated, sp.StatusCanceled:
	default:
		code = http.StatusInternalServerError
	}
	writeJSON(rq.w, code, durableclient.MarshalStatus(st))
}

// list serves GET /instances.
func (rq *request) list() {
	if !rq.client() {
		return
	}
	var iq bindings.InstanceQuery
	var err error
	iq.CreatedTimeFrom, iq.CreatedTimeTo, iq.RuntimeStatus, err = rq.q.filter()
	if err == nil && rq.q.has("top") {
		iq.PageSize, err = strconv.Atoi(strings.TrimSpace(rq.q.get("top")))
		if err != nil || iq.PageSize <= 0 {
			err = fmt.Errorf("'%s' is not a valid value for top; give a positive number", rq.q.get("top"))
		}
	}
	if err != nil {
		writeError(rq.w, http.StatusBadRequest, err.Error())
		return
	}
	if iq.PageSize == 0 {
		iq.PageSize = 100
	}
	iq.InstanceIDPrefix = rq.q.get("instanceIdPrefix")
	iq.ShowInput = rq.q.boolean("showInput", true)
	iq.ContinuationToken = rq.r.Header.Get(ContinuationTokenHeader)
	page, err := rq.c.ListInstances(rq.r.Context(), iq)
	if err != nil {
		rq.internal(err)
		return
	}
	// Always present; empty on the last page.
	rq.w.Header().Set(ContinuationTokenHeader, page.ContinuationToken)
	writeJSON(rq.w, http.StatusOK, durableclient.MarshalStatusList(page.Instances))
}

func purged(w http.ResponseWriter, n int) {
	writeJSON(w, http.StatusOK, []byte(fmt.Sprintf(`{"instancesDeleted":%d}`, n)))
}

// purge serves DELETE /instances/{instanceId}.
func (rq *request) purge(id string) {
	if !rq.client() {
		return
	}
	n, err := rq.c.PurgeInstance(rq.r.Context(), id)
	switch {
	case errors.Is(err, sp.ErrInstanceNotFound):
		notFound(rq.w)
	case errors.Is(err, bindings.ErrInstanceNotTerminal):
		writeError(rq.w, http.StatusPreconditionFailed, fmt.Sprintf("The orchestration instance '%s' is not in a terminal state (Completed, Failed, Terminated or Canceled); terminate it before purging.", id))
	case err != nil:
		rq.internal(err)
	default:
		purged(rq.w, n)
	}
}

// purgeByFilter serves DELETE /instances.
func (rq *request) purgeByFilter() {
	if !rq.client() {
		return
	}
	if strings.TrimSpace(rq.q.get("createdTimeFrom")) == "" {
		writeError(rq.w, http.StatusBadRequest, "Please provide value for 'createdTimeFrom' parameter.")
		return
	}
	var f bindings.PurgeFilter
	var err error
	f.CreatedTimeFrom, f.CreatedTimeTo, f.RuntimeStatus, err = rq.q.filter()
	if err != nil {
		writeError(rq.w, http.StatusBadRequest, err.Error())
		return
	}
	if f.CreatedTimeTo.IsZero() {
		f.CreatedTimeTo = time.Now().UTC()
	}
	n, err := rq.c.PurgeInstances(rq.r.Context(), f)
	if err != nil {
		rq.internal(err)
		return
	}
	if n == 0 {
		notFound(rq.w)
		return
	}
	purged(rq.w, n)
}

// checkInstance answers 404/410 for an instance that is missing or
// terminal, as the extension checks before validating an event's content.
func (rq *request) checkInstance(id string) bool {
	st, err := rq.c.GetStatus(rq.r.Context(), id, bindings.StatusOptions{HideInput: true})
	switch {
	case errors.Is(err, sp.ErrInstanceNotFound):
		notFound(rq.w)
		return false
	case err != nil:
		rq.internal(err)
		return false
	case st.RuntimeStatus.IsTerminal():
		rq.w.WriteHeader(http.StatusGone)
		return false
	}
	return true
}

// raiseEvent serves POST /instances/{instanceId}/raiseEvent/{eventName}.
func (rq *request) raiseEvent(id, event string) {
	if !rq.client() {
		return
	}
	bad := ""
	mt, _, err := mime.ParseMediaType(rq.r.Header.Get("Content-Type"))
	if err != nil || !strings.EqualFold(mt, "application/json") {
		bad = "'Content-Type' must contain 'application/json'."
	}
	var data json.RawMessage
	if bad == "" {
		var ok bool
		if data, bad, ok = rq.body(); !ok {
			return
		}
	}
	if bad != "" {
		// Not found and gone take precedence over bad content.
		if rq.checkInstance(id) {
			writeError(rq.w, http.StatusBadRequest, bad)
		}
		return
	}
	var payload any
	if data != nil {
		payload = data
	}
	err = rq.c.RaiseEvent(rq.r.Context(), id, event, payload)
	rq.operationResult(err)
}

// operationResult maps the error of a control operation to its status.
func (rq *request) operationResult(err error) {
	switch {
	case err == nil:
		rq.w.WriteHeader(http.StatusAccepted)
	case errors.Is(err, sp.ErrInstanceNotFound):
		notFound(rq.w)
	case errors.Is(err, bindings.ErrInstanceNotRunning):
		rq.w.WriteHeader(http.StatusGone)
	default:
		rq.internal(err)
	}
}

// operation serves POST /instances/{instanceId}/{operation}.
func (rq *request) operation(id, op string) {
	switch op {
	case "terminate", "suspend", "resume", "rewind", "restart":
	default:
		notFound(rq.w)
		return
	}
	if !rq.client() {
		return
	}
	ctx, reason := rq.r.Context(), rq.q.get("reason")
	switch op {
	case "terminate":
		rq.operationResult(rq.c.Terminate(ctx, id, reason))
	case "suspend":
		rq.operationResult(rq.c.Suspend(ctx, id, reason))
	case "resume":
		rq.operationResult(rq.c.Resume(ctx, id, reason))
	case "rewind":
		rq.rewind(id, reason)
	case "restart":
		timeout, interval, waiting, ok := rq.wait()
		if !ok {
			return
		}
		newID, err := rq.c.Restart(ctx, id, rq.q.boolean("restartWithNewInstanceId", true))
		switch {
		case errors.Is(err, sp.ErrInstanceNotFound):
			writeError(rq.w, http.StatusBadRequest, "InstanceId does not match a valid orchestration instance.")
		case errors.Is(err, sp.ErrInstanceExists):
			conflict(rq.w, id)
		case err != nil:
			rq.internal(err)
		default:
			rq.respondStarted(newID, timeout, interval, waiting)
		}
	}
}

// rewind serves POST /instances/{instanceId}/rewind. Its 404 and 412
// carry plain-text bodies, as in the newer extension: the durable-functions
// npm client uses the body as its error message.
func (rq *request) rewind(id, reason string) {
	err := rq.c.Rewind(rq.r.Context(), id, reason)
	switch {
	case errors.Is(err, sp.ErrInstanceNotFound):
		writeText(rq.w, http.StatusNotFound, fmt.Sprintf("No instance with ID '%s' found.", id))
	case errors.Is(err, bindings.ErrInstanceNotFailed):
		writeText(rq.w, http.StatusPreconditionFailed, "The rewind operation is only supported on failed orchestration instances.")
	default:
		rq.operationResult(err)
	}
}

func writeText(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(msg))
}
