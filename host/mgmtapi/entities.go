package mgmtapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/dfwire"
)

// The entity routes (GET/POST/DELETE /entities/{entityName}/{entityKey},
// GET /entities[/{entityName}]) as Durable Functions' HTTP API serves
// them.

// entityID builds the entity ID of the path; alias applies the "$" alias
// of the empty key (GET only, as in Durable Functions).
func (rq *request) entityID(alias bool) bindings.EntityID {
	key := rq.param("entityKey")
	if alias && key == "$" {
		key = ""
	}
	return bindings.NewEntityID(rq.param("entityName"), key)
}

// readEntity serves GET /entities/{entityName}/{entityKey}: 200 with the
// state as body, 404 when the entity has none.
func (rq *request) readEntity() {
	if !rq.client() {
		return
	}
	st, err := rq.c.ReadEntityState(rq.r.Context(), rq.entityID(true))
	switch {
	case errors.Is(err, bindings.ErrInvalidEntityID):
		rq.writeError(http.StatusBadRequest, err.Error())
	case err != nil:
		rq.internal(err)
	case !st.Exists:
		rq.w.WriteHeader(http.StatusNotFound)
	default:
		_ = dfwire.WriteJSON(rq.w, http.StatusOK, st.State)
	}
}

// signalEntity serves POST /entities/{entityName}/{entityKey}?op=… (and
// DELETE, which signals "delete"): 202.
func (rq *request) signalEntity() {
	if !rq.client() {
		return
	}
	op := rq.q.get("op")
	if rq.r.Method == http.MethodDelete {
		op = "delete"
	}
	input, ok := rq.entityInput()
	if !ok {
		return
	}
	err := rq.c.SignalEntity(rq.r.Context(), rq.entityID(false), op, input)
	switch {
	case errors.Is(err, bindings.ErrInvalidEntityID), errors.Is(err, bindings.ErrUnknownEntity):
		rq.writeError(http.StatusBadRequest, err.Error())
	case err != nil:
		rq.internal(err)
	default:
		rq.w.WriteHeader(http.StatusAccepted)
	}
}

// entityInput reads a signal's input: none for an empty body, parsed JSON
// for media type application/json, else the text as a JSON string.
func (rq *request) entityInput() (any, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(rq.w, rq.r.Body, rq.h.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			rq.writeError(http.StatusRequestEntityTooLarge, fmt.Sprintf("The request body is larger than %d bytes.", rq.h.maxBody))
		} else {
			rq.writeError(http.StatusBadRequest, "Reading the request body failed: "+err.Error())
		}
		return nil, false
	}
	if len(b) == 0 {
		return nil, true
	}
	mt, _, _ := mime.ParseMediaType(rq.r.Header.Get("Content-Type"))
	if !strings.EqualFold(mt, "application/json") {
		return string(b), true
	}
	var v json.RawMessage
	if err := json.Unmarshal(b, &v); err != nil {
		rq.writeError(http.StatusBadRequest, "Could not parse JSON content: "+err.Error())
		return nil, false
	}
	return v, true
}

// entityStatus is one item of the entity list.
type entityStatus struct {
	EntityID          bindings.EntityID `json:"entityId"`
	LastOperationTime string            `json:"lastOperationTime"`
	State             json.RawMessage   `json:"state"`
}

// listEntities serves GET /entities[/{entityName}]: a page of entities
// with the continuation header.
func (rq *request) listEntities() {
	if !rq.client() {
		return
	}
	q := bindings.EntityQuery{Name: rq.param("entityName"), PageSize: 100, FetchState: rq.q.boolean("fetchState", false),
		ContinuationToken: rq.r.Header.Get(ContinuationTokenHeader)}
	var err error
	if q.LastOperationFrom, err = rq.q.time("lastOperationTimeFrom"); err == nil {
		q.LastOperationTo, err = rq.q.time("lastOperationTimeTo")
	}
	if err == nil && rq.q.has("top") {
		q.PageSize, err = strconv.Atoi(strings.TrimSpace(rq.q.get("top")))
		if err != nil || q.PageSize <= 0 {
			err = fmt.Errorf("'%s' is not a valid value for top; give a positive number", rq.q.get("top"))
		}
	}
	if err != nil {
		rq.writeError(http.StatusBadRequest, err.Error())
		return
	}
	page, err := rq.c.ListEntities(rq.r.Context(), q)
	if err != nil {
		rq.internal(err)
		return
	}
	out := make([]entityStatus, len(page.Entities))
	for i, e := range page.Entities {
		out[i] = entityStatus{EntityID: e.ID, LastOperationTime: dfwire.FormatStatusTime(e.LastOperationTime), State: e.State}
		if out[i].State == nil {
			out[i].State = json.RawMessage("null")
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		rq.internal(err)
		return
	}
	rq.w.Header().Set(ContinuationTokenHeader, page.ContinuationToken)
	_ = dfwire.WriteJSON(rq.w, http.StatusOK, b)
}
