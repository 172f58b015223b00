package dfwire

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/funchost/funchost/bindings"
)

// CheckStatus is the body of the 202 check-status response that HTTP
// starters return (Durable Functions' HttpManagementPayload): the URLs
// that query and control one instance, with {eventName} and {text} as
// placeholders for the caller to fill in. It is the author API's type, so
// that what a starter returns and what the API writes cannot differ;
// rewindPostUri is left out of the check-status response.
type CheckStatus = bindings.HTTPManagementPayload

// Links builds the management URLs of the instances of one task hub.
type Links struct {
	// Base is the absolute URL of the management API without a trailing
	// slash, e.g. "http://localhost:7071/runtime/webhooks/durabletask".
	Base string
	// Query is the query string of every URL (see LinkQuery).
	Query string
}

// LinkQuery is the query string management URLs carry: taskHub and
// connection, and code (the system key) when the host has keys.
func LinkQuery(taskHub, connection, code string) string {
	q := "taskHub=" + url.QueryEscape(taskHub) + "&connection=" + url.QueryEscape(connection)
	if code != "" {
		q += "&code=" + url.QueryEscape(code)
	}
	return q
}

// InstanceURL is the URL of an instance, without query. The ID is
// percent-encoded with %20 for a space (never '+'), so that IDs with
// spaces round-trip.
func (l Links) InstanceURL(instanceID string) string {
	return l.Base + "/instances/" + url.PathEscape(instanceID)
}

// CheckStatus returns every management URL of instanceID, rewindPostUri
// included. failOnError adds returnInternalServerErrorOnFailure=true to
// statusQueryGetUri.
func (l Links) CheckStatus(instanceID string, failOnError bool) CheckStatus {
	inst, q := l.InstanceURL(instanceID), l.Query
	status := inst + "?" + q
	if failOnError {
		status += "&returnInternalServerErrorOnFailure=true"
	}
	return CheckStatus{
		ID:                    instanceID,
		StatusQueryGetURI:     status,
		SendEventPostURI:      inst + "/raiseEvent/{eventName}?" + q,
		TerminatePostURI:      inst + "/terminate?reason={text}&" + q,
		PurgeHistoryDeleteURI: inst + "?" + q,
		RestartPostURI:        inst + "/restart?" + q,
		SuspendPostURI:        inst + "/suspend?reason={text}&" + q,
		ResumePostURI:         inst + "/resume?reason={text}&" + q,
		RewindPostURI:         inst + "/rewind?reason={text}&" + q,
	}
}

// WriteCheckStatus writes the 202 check-status response: Location (the
// status URL), Retry-After: 10 and p as JSON.
func WriteCheckStatus(w http.ResponseWriter, p CheckStatus) error {
	body, err := Marshal(p)
	if err != nil {
		return fmt.Errorf("dfwire: check-status response for instance %q: %w", p.ID, err)
	}
	h := w.Header()
	h.Set("Location", p.StatusQueryGetURI)
	h.Set("Retry-After", "10")
	return WriteJSON(w, http.StatusAccepted, body)
}

// WriteJSON writes body, which must be JSON, with code and ContentType.
func WriteJSON(w http.ResponseWriter, code int, body []byte) error {
	w.Header().Set("Content-Type", ContentType)
	w.WriteHeader(code)
	_, err := w.Write(body)
	return err
}

// WriteStatus writes a status object with code, in pieces as
// WriteStatusText does (the body is not built whole).
func WriteStatus(w http.ResponseWriter, code int, s *Status) error {
	p := s.parts()
	return writeBody(w, code, p.write)
}

// Error is the API's JSON error body: {"Message": "..."}.
type Error struct {
	Message string `json:"Message"`
}

// WriteError writes an Error body with code.
func WriteError(w http.ResponseWriter, code int, message string) error {
	b, _ := Marshal(Error{Message: message})
	return WriteJSON(w, code, b)
}

// PurgeResult is the body of a successful purge.
type PurgeResult struct {
	InstancesDeleted int `json:"instancesDeleted"`
}

// WritePurgeResult writes 200 with a PurgeResult of n.
func WritePurgeResult(w http.ResponseWriter, n int) error {
	b, _ := Marshal(PurgeResult{InstancesDeleted: n})
	return WriteJSON(w, http.StatusOK, b)
}
