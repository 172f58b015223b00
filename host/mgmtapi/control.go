package mgmtapi

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/internal/payload"
	sp "github.com/funchost/funchost/storageprovider"
)

// start serves POST /orchestrators/{functionName}[/{instanceId}].
func (rq *request) start() {
	if !rq.client() {
		return
	}
	input, bad, ok := rq.body()
	if !ok {
		return
	}
	if bad != "" {
		rq.writeError(http.StatusBadRequest, bad)
		return
	}
	timeout, interval, waiting, ok := rq.wait()
	if !ok {
		return
	}
	name, id := rq.param("functionName"), rq.param("instanceId")
	var opts []bindings.Option
	if id != "" {
		opts = append(opts, bindings.WithInstanceID(id))
	}
	if v := rq.q.get("version"); v != "" {
		opts = append(opts, bindings.WithVersion(v))
	}
	var in any
	if input != "" {
		in = input
	}
	newID, err := rq.c.StartNew(rq.r.Context(), name, in, opts...)
	switch {
	case errors.Is(err, sp.ErrInstanceExists):
		rq.conflict(id)
		return
	case errors.Is(err, bindings.ErrInvalidInstanceID), errors.Is(err, bindings.ErrUnknownOrchestrator):
		rq.writeError(http.StatusBadRequest, err.Error())
		return
	case err != nil:
		rq.internal(err)
		return
	}
	rq.respondStarted(newID, timeout, interval, waiting)
}

// checkInstance answers 404/410 for an instance that is missing or
// terminal, as the extension checks before validating an event's content.
func (rq *request) checkInstance(id string) bool {
	st, err := rq.c.GetStatus(rq.r.Context(), id, bindings.StatusOptions{HideInput: true})
	switch {
	case errors.Is(err, sp.ErrInstanceNotFound):
		notFound(rq.w, rq.r)
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
func (rq *request) raiseEvent() {
	if !rq.client() {
		return
	}
	id := rq.param("instanceId")
	bad := ""
	mt, _, err := mime.ParseMediaType(rq.r.Header.Get("Content-Type"))
	if err != nil || !strings.EqualFold(mt, "application/json") {
		bad = "'Content-Type' must contain 'application/json'."
	}
	var data payload.Text
	if bad == "" {
		var ok bool
		if data, bad, ok = rq.body(); !ok {
			return
		}
	}
	if bad != "" {
		// Not found and gone take precedence over bad content.
		if rq.checkInstance(id) {
			rq.writeError(http.StatusBadRequest, bad)
		}
		return
	}
	var in any
	if data != "" {
		in = data
	}
	rq.operationResult(rq.c.RaiseEvent(rq.r.Context(), id, rq.param("eventName"), in))
}

// terminate serves POST /instances/{instanceId}/terminate.
func (rq *request) terminate() {
	if rq.client() {
		rq.operationResult(rq.c.Terminate(rq.r.Context(), rq.param("instanceId"), rq.q.get("reason")))
	}
}

// suspend serves POST /instances/{instanceId}/suspend.
func (rq *request) suspend() {
	if rq.client() {
		rq.operationResult(rq.c.Suspend(rq.r.Context(), rq.param("instanceId"), rq.q.get("reason")))
	}
}

// resume serves POST /instances/{instanceId}/resume.
func (rq *request) resume() {
	if rq.client() {
		rq.operationResult(rq.c.Resume(rq.r.Context(), rq.param("instanceId"), rq.q.get("reason")))
	}
}

// restart serves POST /instances/{instanceId}/restart.
func (rq *request) restart() {
	if !rq.client() {
		return
	}
	timeout, interval, waiting, ok := rq.wait()
	if !ok {
		return
	}
	id := rq.param("instanceId")
	newID, err := rq.c.Restart(rq.r.Context(), id, rq.q.boolean("restartWithNewInstanceId", true))
	switch {
	case errors.Is(err, sp.ErrInstanceNotFound):
		rq.writeError(http.StatusBadRequest, "InstanceId does not match a valid orchestration instance.")
	case errors.Is(err, sp.ErrInstanceExists):
		rq.conflict(id)
	case err != nil:
		rq.internal(err)
	default:
		rq.respondStarted(newID, timeout, interval, waiting)
	}
}

// rewind serves POST /instances/{instanceId}/rewind. Its 404 and 412
// carry plain-text bodies, as in the newer extension: the durable-functions
// npm client uses the body as its error message.
func (rq *request) rewind() {
	if !rq.client() {
		return
	}
	id := rq.param("instanceId")
	err := rq.c.Rewind(rq.r.Context(), id, rq.q.get("reason"))
	switch {
	case errors.Is(err, sp.ErrInstanceNotFound):
		writeText(rq.w, http.StatusNotFound, fmt.Sprintf("No instance with ID '%s' found.", id))
	case errors.Is(err, bindings.ErrInstanceNotFailed):
		writeText(rq.w, http.StatusPreconditionFailed, "The rewind operation is only supported on failed orchestration instances.")
	default:
		rq.operationResult(err)
	}
}
