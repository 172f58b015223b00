package mgmtapi

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/dfwire"
	"github.com/funchost/funchost/host/durableclient"
	sp "github.com/funchost/funchost/storageprovider"
)

// status serves GET /instances/{instanceId}.
func (rq *request) status() {
	if !rq.client() {
		return
	}
	showHistory := rq.q.boolean("showHistory", false)
	exact := showHistory && rq.q.boolean(dfwire.ExactHistoryParam, false)
	opts := bindings.StatusOptions{
		ShowHistory:       showHistory && !exact,
		ShowHistoryOutput: rq.q.boolean("showHistoryOutput", false),
		HideInput:         !rq.q.boolean("showInput", true),
	}
	// The status with its payloads as the task hub's strings, written
	// from them in pieces: a large input or output is not copied.
	st, status, err := rq.c.GetStatusText(rq.r.Context(), rq.param("instanceId"), opts)
	if err == nil && exact {
		err = rq.exactHistory(st, status, opts)
	}
	if errors.Is(err, sp.ErrInstanceNotFound) {
		notFound(rq.w, rq.r)
		return
	}
	if err != nil {
		rq.internal(err)
		return
	}
	code := http.StatusOK
	switch status {
	case bindings.StatusRunning, bindings.StatusPending, bindings.StatusContinuedAsNew, bindings.StatusSuspended:
		code = http.StatusAccepted
		rq.w.Header().Set("Location", rq.requestURL())
		rq.w.Header().Set("Retry-After", "5")
	case bindings.StatusFailed:
		if rq.q.boolean("returnInternalServerErrorOnFailure", false) {
			code = http.StatusInternalServerError
		}
	case bindings.StatusCompleted, bindings.StatusTerminated, bindings.StatusCanceled:
	default:
		code = http.StatusInternalServerError
	}
	_ = dfwire.WriteStatusText(rq.w, code, st)
}

// exactHistory sets st's history with funchost's extension
// (dfwire.StoredEvents), so that the history fetched over HTTP replays
// exactly like the one in storage (the replay checker's --url source).
// Pending instances have no history, as without the extension.
func (rq *request) exactHistory(st *dfwire.StatusText, status bindings.RuntimeStatus, opts bindings.StatusOptions) error {
	if status == bindings.StatusPending {
		return nil
	}
	events, err := rq.c.Hub().GetOrchestrationHistory(rq.r.Context(), st.InstanceID)
	if err != nil && !errors.Is(err, sp.ErrInstanceNotFound) {
		return fmt.Errorf("mgmtapi: history of instance %q: %w", st.InstanceID, err)
	}
	st.HistoryEvents = dfwire.MarshalHistory(dfwire.HistoryWithStored(events, !opts.HideInput, opts.ShowHistoryOutput))
	return nil
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
		rq.writeError(http.StatusBadRequest, err.Error())
		return
	}
	if iq.PageSize == 0 {
		iq.PageSize = 100
	}
	iq.InstanceIDPrefix = rq.q.get("instanceIdPrefix")
	iq.ShowInput = rq.q.boolean("showInput", true)
	iq.ContinuationToken = rq.r.Header.Get(ContinuationTokenHeader)
	if len(iq.ContinuationToken) > maxContinuationToken {
		rq.writeError(http.StatusBadRequest, fmt.Sprintf("Invalid %s header: %d characters long; tokens this host issues are at most %d.", ContinuationTokenHeader, len(iq.ContinuationToken), maxContinuationToken))
		return
	}
	page, err := rq.c.ListInstances(rq.r.Context(), iq)
	if errors.Is(err, sp.ErrInvalidContinuationToken) {
		rq.writeError(http.StatusBadRequest, fmt.Sprintf("Invalid %s header: pass back the token of the previous page unchanged (%s).", ContinuationTokenHeader, durableclient.PublicMessage(err)))
		return
	}
	if err != nil {
		rq.internal(err)
		return
	}
	list := make([]*dfwire.Status, len(page.Instances))
	for i, s := range page.Instances {
		list[i] = durableclient.WireStatus(s)
	}
	// Always present; empty on the last page.
	rq.w.Header().Set(ContinuationTokenHeader, page.ContinuationToken)
	_ = dfwire.WriteStatusList(rq.w, http.StatusOK, list)
}

// maxContinuationToken bounds the continuation token a list request may
// carry; longer ones are refused before storage is asked.
const maxContinuationToken = 4096

// purge serves DELETE /instances/{instanceId}.
func (rq *request) purge() {
	if !rq.client() {
		return
	}
	id := rq.param("instanceId")
	n, err := rq.c.PurgeInstance(rq.r.Context(), id)
	switch {
	case errors.Is(err, sp.ErrInstanceNotFound):
		notFound(rq.w, rq.r)
	case errors.Is(err, bindings.ErrInstanceNotTerminal):
		rq.writeError(http.StatusPreconditionFailed, fmt.Sprintf("The orchestration instance '%s' is not in a terminal state (Completed, Failed, Terminated or Canceled); terminate it before purging.", id))
	case err != nil:
		rq.internal(err)
	default:
		_ = dfwire.WritePurgeResult(rq.w, n)
	}
}

// purgeByFilter serves DELETE /instances.
func (rq *request) purgeByFilter() {
	if !rq.client() {
		return
	}
	if strings.TrimSpace(rq.q.get("createdTimeFrom")) == "" {
		rq.writeError(http.StatusBadRequest, "Please provide value for 'createdTimeFrom' parameter.")
		return
	}
	var f bindings.PurgeFilter
	var err error
	f.CreatedTimeFrom, f.CreatedTimeTo, f.RuntimeStatus, err = rq.q.filter()
	if err != nil {
		rq.writeError(http.StatusBadRequest, err.Error())
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
		notFound(rq.w, rq.r)
		return
	}
	_ = dfwire.WritePurgeResult(rq.w, n)
}
