// Package dfwire is the Durable Functions wire format: the JSON that the
// Durable Functions HTTP API, and every tool written for it, reads and
// writes. It holds the instance status object (Status), the history events
// of showHistory=true (HistoryEvent, built from storage history by
// History), the check-status payload of HTTP starters (CheckStatus, built
// by Links), purge results and error bodies, with the writers that put
// them on an http.ResponseWriter with Durable Functions' headers.
//
// The durable client binding (host/durableclient) and the management API
// (host/mgmtapi) write this JSON; the operator CLI and the dashboard read
// it with the same types. Every type decodes with encoding/json. Status
// encodes with its own MarshalJSON so that large payloads are copied byte
// for byte rather than re-encoded; call it (or MarshalStatusList) directly
// instead of json.Marshal, which would re-compact them. StatusText is the
// same status object with its payloads held as the strings the task hub
// returned (PayloadText); WriteStatusText writes it in pieces, each payload
// from its string, so that building and writing a status object never
// copies a large payload (docs/reliability.md, "Large payloads").
//
// docs/http-api.md describes the JSON field by field with examples.
package dfwire

import (
	"bytes"
	"encoding/json"
)

// Paths where the management API is served: WebhookPath on the host's
// main listener (behind the system key), LocalRPCPath on the loopback
// listener (no keys), as the Durable extension serves them.
const (
	WebhookPath  = "/runtime/webhooks/durabletask"
	LocalRPCPath = "/durabletask"
)

// ContentType is the Content-Type of every JSON body of the API.
const ContentType = "application/json; charset=utf-8"

// ContinuationTokenHeader carries list paging tokens in both directions.
const ContinuationTokenHeader = "x-ms-continuation-token"

// Marshal encodes v as JSON without HTML escaping (URLs keep their '&',
// payloads their '<') and without the encoder's trailing newline, as the
// Durable extension writes JSON.
func Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
