package durableclient

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/dfwire"
)

// LinkOptions adjust the management URLs built from a request.
type LinkOptions struct {
	// BasePath is the path the management API is served under for this
	// request (default: the path of Options.WebhookBase). The loopback
	// listener passes "/durabletask".
	BasePath string
	// ReturnInternalServerErrorOnFailure adds
	// returnInternalServerErrorOnFailure=true to statusQueryGetUri and makes
	// a wait that ends Failed answer 500.
	ReturnInternalServerErrorOnFailure bool
}

// RequestBaseURL returns scheme://host of the request as its caller saw it:
// the request's own scheme and Host header, or X-Forwarded-Proto and
// X-Forwarded-Host when UseForwardedHost is on and both are present.
func (c *Client) RequestBaseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if c.forwarded {
		fh := firstValue(r.Header.Get("X-Forwarded-Host"))
		fp := firstValue(r.Header.Get("X-Forwarded-Proto"))
		if fh != "" && fp != "" {
			scheme, host = strings.ToLower(fp), fh
		}
	}
	return scheme + "://" + host
}

// firstValue returns the first entry of a comma-separated proxy header
// (proxy chains append their own values).
func firstValue(h string) string {
	if i := strings.IndexByte(h, ','); i >= 0 {
		h = h[:i]
	}
	return strings.TrimSpace(h)
}

// links returns the management URL builder for base (absolute URL of the
// management API, no trailing slash).
func (c *Client) links(base string) dfwire.Links {
	return dfwire.Links{Base: base, Query: c.linkQuery}
}

// CreateHTTPManagementPayload returns the management URLs of an instance
// relative to Options.WebhookBase, rewindPostUri included.
func (c *Client) CreateHTTPManagementPayload(instanceID string) bindings.HTTPManagementPayload {
	return c.links(c.webhookBase).CheckStatus(instanceID, false)
}

// ManagementPayload returns the management URLs of an instance built from
// the request's scheme and host, as the check-status response carries them
// (without rewindPostUri).
func (c *Client) ManagementPayload(r *http.Request, instanceID string, o LinkOptions) dfwire.CheckStatus {
	path := c.basePath
	if o.BasePath != "" {
		path = strings.TrimSuffix(o.BasePath, "/")
	}
	p := c.links(c.RequestBaseURL(r)+path).CheckStatus(instanceID, o.ReturnInternalServerErrorOnFailure)
	p.RewindPostURI = ""
	return p
}

// CreateCheckStatusResponse writes Durable Functions' 202 check-status
// response: Location (the status URL), Retry-After: 10 and the management
// URLs as JSON.
func (c *Client) CreateCheckStatusResponse(w http.ResponseWriter, r *http.Request, instanceID string) error {
	return c.WriteCheckStatusResponse(w, r, instanceID, LinkOptions{})
}

// WriteCheckStatusResponse is CreateCheckStatusResponse with LinkOptions.
func (c *Client) WriteCheckStatusResponse(w http.ResponseWriter, r *http.Request, instanceID string, o LinkOptions) error {
	return dfwire.WriteCheckStatus(w, c.ManagementPayload(r, instanceID, o))
}

// Defaults of WaitForCompletionOrCreateCheckStatusResponse, as in Durable
// Functions.
const (
	DefaultWaitTimeout     = 10 * time.Second
	DefaultPollingInterval = time.Second
	// MinPollingInterval is the shortest interval WaitForCompletion polls
	// at, whatever it is asked: a pollingInterval near 0 would make one
	// request read the status row from storage in a tight loop.
	MinPollingInterval = 100 * time.Millisecond
)

// WaitForCompletionOrCreateCheckStatusResponse waits up to timeout for the
// instance to reach a terminal status, checking every pollingInterval. It
// writes 200 with the raw output when the instance completed, 200 with the
// status object when it failed, was terminated or canceled, and the 202
// check-status response when it is still running.
func (c *Client) WaitForCompletionOrCreateCheckStatusResponse(w http.ResponseWriter, r *http.Request, instanceID string, timeout, pollingInterval time.Duration) error {
	return c.WaitAndRespond(w, r, instanceID, timeout, pollingInterval, LinkOptions{})
}

// WaitAndRespond is WaitForCompletionOrCreateCheckStatusResponse with
// LinkOptions.
func (c *Client) WaitAndRespond(w http.ResponseWriter, r *http.Request, instanceID string, timeout, pollingInterval time.Duration, o LinkOptions) error {
	if err := c.waitTerminal(r.Context(), instanceID, timeout, pollingInterval); err != nil {
		return err
	}
	// The status as the HTTP API writes it: the output or the status
	// object goes out from the task hub's strings, uncopied.
	st, status, err := c.GetStatusText(r.Context(), instanceID, bindings.StatusOptions{})
	if err != nil {
		return err
	}
	switch {
	case status == bindings.StatusCompleted:
		out := st.Output
		if out == "" {
			out = "null"
		}
		return dfwire.WriteJSONText(w, http.StatusOK, out)
	case status.IsTerminal():
		code := http.StatusOK
		if status == bindings.StatusFailed && o.ReturnInternalServerErrorOnFailure {
			code = http.StatusInternalServerError
		}
		return dfwire.WriteStatusText(w, code, st)
	}
	return c.WriteCheckStatusResponse(w, r, instanceID, o)
}

// WaitForCompletion polls the instance every pollingInterval until it is
// terminal or timeout passed, and returns its last status (with input).
// Zero durations select DefaultWaitTimeout and DefaultPollingInterval;
// shorter intervals than MinPollingInterval are raised to it.
func (c *Client) WaitForCompletion(ctx context.Context, instanceID string, timeout, pollingInterval time.Duration) (*bindings.OrchestrationStatus, error) {
	if err := c.waitTerminal(ctx, instanceID, timeout, pollingInterval); err != nil {
		return nil, err
	}
	return c.GetStatus(ctx, instanceID, bindings.StatusOptions{})
}

// waitTerminal polls the instance's status row, without payloads, until
// it is terminal or timeout passed (durations as WaitForCompletion takes
// them); the caller then reads the status once.
func (c *Client) waitTerminal(ctx context.Context, instanceID string, timeout, pollingInterval time.Duration) error {
	if timeout <= 0 {
		timeout = DefaultWaitTimeout
	}
	if pollingInterval <= 0 {
		pollingInterval = DefaultPollingInterval
	}
	pollingInterval = max(pollingInterval, MinPollingInterval)
	deadline := time.Now().Add(timeout)
	for {
		row, err := c.runtimeStatus(ctx, instanceID)
		if err != nil {
			return fmt.Errorf("durableclient: waiting for instance %q: %w", instanceID, err)
		}
		left := time.Until(deadline)
		if row.RuntimeStatus.IsTerminal() || left <= 0 {
			return nil
		}
		d := min(pollingInterval, left)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("durableclient: waiting for instance %q: %w", instanceID, ctx.Err())
		case <-t.C:
		}
	}
}
