package mgmtapi

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/dfwire"
	"github.com/funchost/funchost/host/durableclient"
	"github.com/funchost/funchost/internal/payload"
	sp "github.com/funchost/funchost/storageprovider"
)

// ContinuationTokenHeader carries list paging tokens in both directions.
const ContinuationTokenHeader = dfwire.ContinuationTokenHeader

// request is one API call in progress.
type request struct {
	h *handler
	w http.ResponseWriter
	r *http.Request
	q query
	c *durableclient.Client
}

// param returns a decoded path parameter of the route.
func (rq *request) param(name string) string { return rq.r.PathValue(name) }

func (rq *request) writeError(code int, msg string) { _ = dfwire.WriteError(rq.w, code, msg) }

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
			rq.writeError(http.StatusNotFound, msg)
		} else {
			rq.internal(err)
		}
		return false
	}
	rq.c = c
	return true
}

// internal answers 500 as the extension does for unexpected errors. The
// body says what failed in words (durableclient.PublicMessage); the full
// error, with storage URLs and response dumps, goes to the log only.
//
// When storage is unavailable (durableclient.IsUnavailable) it answers
// 503 with Retry-After instead: the operation was not acknowledged, and
// the same request may succeed later.
func (rq *request) internal(err error) {
	rq.h.log.Error("durable management API request failed", "method", rq.r.Method, "path", rq.r.URL.Path, "err", err)
	if durableclient.IsUnavailable(err) {
		rq.w.Header().Set("Retry-After", strconv.Itoa(int(durableclient.UnavailableRetryAfter/time.Second)))
		rq.writeError(http.StatusServiceUnavailable, durableclient.UnavailableMessage)
		return
	}
	rq.writeError(http.StatusInternalServerError, "Something went wrong while processing your request: "+durableclient.PublicMessage(err)+" (the host log has the details)")
}

func (rq *request) links() durableclient.LinkOptions {
	return durableclient.LinkOptions{
		BasePath:                           rq.h.basePath,
		ReturnInternalServerErrorOnFailure: rq.q.boolean("returnInternalServerErrorOnFailure", false),
	}
}

// body reads the request body as JSON: "" for an empty body, an error
// message for invalid JSON, and false after answering 413.
//
// The body is read once into the string the engine keeps (sized by
// Content-Length, within the body limit) and validated in place, so a
// large input costs one copy, not the three of a growing buffer, a
// []byte→string conversion and a second validation.
func (rq *request) body() (payload.Text, string, bool) {
	text, err := readBody(http.MaxBytesReader(rq.w, rq.r.Body, rq.h.maxBody), min(rq.r.ContentLength, rq.h.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			rq.writeError(http.StatusRequestEntityTooLarge, fmt.Sprintf("The request body is larger than %d bytes.", rq.h.maxBody))
			return "", "", false
		}
		rq.writeError(http.StatusBadRequest, "Reading the request body failed: "+err.Error())
		return "", "", false
	}
	if text == "" {
		return "", "", true
	}
	if !payload.Valid(text) {
		return "", "Invalid JSON content", true
	}
	return payload.Text(text), "", true
}

// readBody reads r into one string, allocated once at sizeHint bytes (the
// request's Content-Length within the body limit; <= 0 when unknown). The
// full size is reserved only after the first MiB has arrived, so that a
// client cannot make the host reserve the limit by announcing a length it
// never sends.
func readBody(r io.Reader, sizeHint int64) (string, error) {
	const first = 1 << 20
	var sb strings.Builder
	sb.Grow(int(min(max(sizeHint, 0), first)))
	n, err := io.CopyN(&sb, r, first)
	if errors.Is(err, io.EOF) {
		return sb.String(), nil
	}
	if err != nil {
		return "", err
	}
	if sizeHint > n {
		sb.Grow(int(sizeHint - n))
	}
	if _, err := io.Copy(&sb, r); err != nil {
		return "", err
	}
	return sb.String(), nil
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
		rq.writeError(http.StatusBadRequest, err.Error())
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

func (rq *request) conflict(id string) {
	rq.writeError(http.StatusConflict, fmt.Sprintf("An instance with ID '%s' already exists.", id))
}

// requestURL is the URL the caller used, for Location headers.
func (rq *request) requestURL() string {
	uri := rq.r.RequestURI
	if !strings.HasPrefix(uri, "/") {
		return rq.r.URL.String() // absolute-form request target
	}
	return rq.c.RequestBaseURL(rq.r) + uri
}

// operationResult maps the error of a control operation to its status.
func (rq *request) operationResult(err error) {
	switch {
	case err == nil:
		rq.w.WriteHeader(http.StatusAccepted)
	case errors.Is(err, sp.ErrInstanceNotFound):
		notFound(rq.w, rq.r)
	case errors.Is(err, bindings.ErrInstanceNotRunning):
		rq.w.WriteHeader(http.StatusGone)
	default:
		rq.internal(err)
	}
}

func writeText(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(msg))
}
