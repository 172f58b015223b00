package sampleapp

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/funchost/funchost/bindings"
)

// HttpStart starts the orchestrator named by the route's {functionName}
// with the request's JSON body as input and answers with the check-status
// response (202 and the management URLs).
func HttpStart(w http.ResponseWriter, r *http.Request) {
	start(w, r, "")
}

// HttpStartSingle starts a singleton: the instance ID comes from the route.
// When an instance with that ID exists and is not in a terminal state it
// answers 409. The check and the start are one atomic step, so of several
// racing requests exactly one wins.
func HttpStartSingle(w http.ResponseWriter, r *http.Request) {
	start(w, r, bindings.RouteValue(r, "instanceId"))
}

func start(w http.ResponseWriter, r *http.Request, instanceID string) {
	client := bindings.Client(r)
	if client == nil {
		writeError(w, http.StatusInternalServerError, "this function has no durableClient binding")
		return
	}
	name := bindings.RouteValue(r, "functionName")
	input, err := readJSONBody(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var opts []bindings.Option
	if instanceID != "" {
		opts = append(opts, bindings.WithInstanceID(instanceID))
	}
	id, err := client.StartNew(r.Context(), name, input, opts...)
	switch {
	case errors.Is(err, bindings.ErrInstanceExists):
		writeError(w, http.StatusConflict, fmt.Sprintf("An instance with ID '%s' already exists.", instanceID))
		return
	case errors.Is(err, bindings.ErrInvalidInstanceID), errors.Is(err, bindings.ErrUnknownOrchestrator):
		writeError(w, http.StatusBadRequest, err.Error())
		return
	case errors.Is(err, bindings.ErrStorageUnavailable):
		// Not stored, so not started: the caller may try again.
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "Storage is unavailable: the orchestration was not started. Retry later.")
		return
	case err != nil:
		// The error may name storage endpoints: it goes to the log, not to
		// the caller.
		slog.ErrorContext(r.Context(), "starting an orchestration failed", "orchestrator", name, "err", err)
		writeError(w, http.StatusInternalServerError, "Starting the orchestration failed; the host log has the details.")
		return
	}
	if err := client.CreateCheckStatusResponse(w, r, id); err != nil {
		slog.ErrorContext(r.Context(), "writing the check-status response failed", "instanceId", id, "err", err)
	}
}

// readJSONBody returns the body as raw JSON, or nil for an empty body.
func readJSONBody(r *http.Request) (json.RawMessage, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the request body: %w", err)
	}
	if len(body) == 0 {
		return nil, nil
	}
	if !json.Valid(body) {
		return nil, errors.New("Invalid JSON content")
	}
	return json.RawMessage(body), nil
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"Message": msg})
}
