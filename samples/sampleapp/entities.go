package sampleapp

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/funchost/funchost/bindings"
)

// Counter is the state of the Counter entity. Its methods are the
// entity's operations (bindings.EntityOf): "add" with a number, "reset",
// "get"; "delete" removes the state.
type Counter struct {
	Value int `json:"value"`
}

// Add adds n to the counter.
func (c *Counter) Add(n int) { c.Value += n }

// Reset sets the counter back to zero.
func (c *Counter) Reset() { c.Value = 0 }

// Get returns the counter's value.
func (c *Counter) Get() int { return c.Value }

// CounterSignal (POST /api/counters/{key}/{op}) signals operation op of
// the Counter entity with that key, with the JSON body as input, and
// answers 202.
func CounterSignal(w http.ResponseWriter, r *http.Request) {
	ec := bindings.EntityClientOf(bindings.Client(r))
	if ec == nil {
		writeError(w, http.StatusInternalServerError, "this function has no durableClient binding")
		return
	}
	input, err := readJSONBody(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	id := bindings.NewEntityID("Counter", bindings.RouteValue(r, "key"))
	var in any
	if input != nil {
		in = input
	}
	err = ec.SignalEntity(r.Context(), id, bindings.RouteValue(r, "op"), in)
	switch {
	case errors.Is(err, bindings.ErrInvalidEntityID), errors.Is(err, bindings.ErrUnknownEntity):
		writeError(w, http.StatusBadRequest, err.Error())
	case err != nil:
		writeError(w, http.StatusInternalServerError, err.Error())
	default:
		w.WriteHeader(http.StatusAccepted)
	}
}

// CounterGet (GET /api/counters/{key}) answers the Counter entity's state
// as JSON, or 404 when it has none.
func CounterGet(w http.ResponseWriter, r *http.Request) {
	id := bindings.NewEntityID("Counter", bindings.RouteValue(r, "key"))
	c, exists, err := bindings.ReadEntityState[Counter](r.Context(), bindings.Client(r), id)
	switch {
	case err != nil:
		writeError(w, http.StatusInternalServerError, err.Error())
	case !exists:
		writeError(w, http.StatusNotFound, "entity "+id.String()+" does not exist")
	default:
		writeJSON(w, http.StatusOK, c)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
