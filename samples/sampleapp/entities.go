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
func CounterSignal(w http.ResponseWriter, r *http.Request) { signalEntity(w, r, "Counter") }

// CounterGet (GET /api/counters/{key}) answers the Counter entity's state
// as JSON, or 404 when it has none.
func CounterGet(w http.ResponseWriter, r *http.Request) { readEntity[Counter](w, r, "Counter") }

// signalEntity signals operation {op} of entity name with key {key}, the
// JSON body as input.
func signalEntity(w http.ResponseWriter, r *http.Request, name string) {
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
	var in any
	if input != nil {
		in = input
	}
	err = ec.SignalEntity(r.Context(), bindings.NewEntityID(name, bindings.RouteValue(r, "key")), bindings.RouteValue(r, "op"), in)
	switch {
	case errors.Is(err, bindings.ErrInvalidEntityID), errors.Is(err, bindings.ErrUnknownEntity):
		writeError(w, http.StatusBadRequest, err.Error())
	case err != nil:
		writeError(w, http.StatusInternalServerError, err.Error())
	default:
		w.WriteHeader(http.StatusAccepted)
	}
}

// readEntity answers the state of entity name with key {key} as T.
func readEntity[T any](w http.ResponseWriter, r *http.Request, name string) {
	id := bindings.NewEntityID(name, bindings.RouteValue(r, "key"))
	v, exists, err := bindings.ReadEntityState[T](r.Context(), bindings.Client(r), id)
	switch {
	case err != nil:
		writeError(w, http.StatusInternalServerError, err.Error())
	case !exists:
		writeError(w, http.StatusNotFound, "entity "+id.String()+" does not exist")
	default:
		writeJSON(w, http.StatusOK, v)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
