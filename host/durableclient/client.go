// Package durableclient implements bindings.DurableClient over a
// storageprovider.TaskHub: the orchestrationClient / durableClient binding
// that starts, queries and controls orchestration instances, and the
// check-status responses that Durable Functions' HTTP starters return
// (in package dfwire's JSON).
//
// The client never runs orchestrations; it writes start messages through
// TaskHub.CreateInstance and control messages (events, terminate, suspend,
// resume, rewind) through TaskHub.SendTaskMessages, after checking the
// instance's status the way the Durable Functions HTTP API does. The
// engine processes the messages.
package durableclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/dfwire"
	"github.com/funchost/funchost/internal/entitywire"
	"github.com/funchost/funchost/internal/options"
	"github.com/funchost/funchost/internal/payload"
	sp "github.com/funchost/funchost/storageprovider"
)

// DefaultConnectionName is the connection name put in management URLs when
// Options.ConnectionName is empty (Durable Functions' default for Azure
// Storage, which resolves to AzureWebJobsStorage).
const DefaultConnectionName = "Storage"

// DefaultWebhookBase is the management API base used when
// Options.WebhookBase is empty.
const DefaultWebhookBase = "http://localhost:7071" + dfwire.WebhookPath

// Options configure a Client.
type Options struct {
	// Hub is the task hub the client addresses. Required.
	Hub sp.TaskHub
	// IsOrchestrator reports whether an orchestrator function of that name
	// exists; StartNew rejects other names with
	// bindings.ErrUnknownOrchestrator. Nil accepts every name.
	IsOrchestrator func(name string) bool
	// IsEntity reports whether an entity function of that name exists;
	// SignalEntity rejects other names with bindings.ErrUnknownEntity.
	// Nil accepts every name.
	IsEntity func(name string) bool
	// ConnectionName is the storage connection *name* written to the
	// connection= parameter of management URLs (default "Storage").
	ConnectionName string
	// WebhookBase is the absolute URL of the management API, e.g.
	// "https://myapp.example.com/runtime/webhooks/durabletask" (default
	// DefaultWebhookBase). Its path is used for check-status URLs built
	// from a request; the whole URL for CreateHTTPManagementPayload.
	WebhookBase string
	// Code is the system key to add to management URLs as code=…; empty
	// when the host has no keys configured.
	Code string
	// UseForwardedHost takes scheme and host of check-status URLs from the
	// X-Forwarded-Proto and X-Forwarded-Host headers when both are present
	// (host.json httpSettings.useForwardedHost).
	UseForwardedHost bool
	// Now returns the current time (default time.Now); tests fix it.
	Now func() time.Time
	// DefaultVersion is the orchestration version StartNew stamps on
	// instances started without bindings.WithVersion (host.json
	// defaultVersion; docs/versioning.md).
	DefaultVersion string
	// OnCreate, when set, is called with a new instance's ExecutionStarted
	// before it is written (it may add the trace context, see
	// telemetry.Telemetry.CreateHook); the function it returns is called
	// with the outcome of the write.
	OnCreate func(ctx context.Context, start *sp.HistoryEvent) func(error)
	// OnRaise, when set, is called with an external event before it is
	// sent to the instance whose status row is target
	// (telemetry.Telemetry.RaiseHook adds the trace context and logs the
	// request); the function it returns is called with the outcome.
	OnRaise func(ctx context.Context, target *sp.OrchestrationState, ev *sp.HistoryEvent) func(error)
	// OnSignal, when set, is called with an entity signal's EventRaised
	// before it is sent (telemetry.Telemetry.SignalHook); the function it
	// returns is called with the outcome.
	OnSignal func(ctx context.Context, entity bindings.EntityID, operation string, ev *sp.HistoryEvent) func(error)
}

// Client is a durable client for one task hub. It is safe for concurrent
// use. Create it with New.
type Client struct {
	hub         sp.TaskHub
	isOrch      func(string) bool
	isEntity    func(string) bool
	conn        string
	webhookBase string // absolute, without trailing slash or query
	basePath    string // path of webhookBase
	linkQuery   string // query string of every management URL
	forwarded   bool
	now         func() time.Time
	version     string // default orchestration version
	onCreate    func(context.Context, *sp.HistoryEvent) func(error)
	onRaise     func(context.Context, *sp.OrchestrationState, *sp.HistoryEvent) func(error)
	onSignal    func(context.Context, bindings.EntityID, string, *sp.HistoryEvent) func(error)
}

var _ bindings.DurableClient = (*Client)(nil)

// New returns a client for opts.Hub.
func New(opts Options) *Client {
	c := &Client{
		hub:       opts.Hub,
		isOrch:    opts.IsOrchestrator,
		isEntity:  opts.IsEntity,
		conn:      opts.ConnectionName,
		forwarded: opts.UseForwardedHost,
		now:       opts.Now,
		version:   opts.DefaultVersion,
		onCreate:  opts.OnCreate,
		onRaise:   opts.OnRaise,
		onSignal:  opts.OnSignal,
	}
	if c.conn == "" {
		c.conn = DefaultConnectionName
	}
	c.linkQuery = dfwire.LinkQuery(c.hub.Name(), c.conn, opts.Code)
	if c.now == nil {
		c.now = time.Now
	}
	base := strings.TrimSpace(opts.WebhookBase)
	if base == "" {
		base = DefaultWebhookBase
	}
	// A query (e.g. ?code=…) on the base is dropped: the key travels in
	// Code, so it is never written twice.
	if u, err := url.Parse(base); err == nil && u.Scheme != "" && u.Host != "" {
		u.RawQuery, u.Fragment = "", ""
		base = u.String()
		c.basePath = strings.TrimSuffix(u.EscapedPath(), "/")
	} else {
		c.basePath = dfwire.WebhookPath
	}
	c.webhookBase = strings.TrimSuffix(base, "/")
	return c
}

// TaskHubName returns the name of the task hub the client addresses.
func (c *Client) TaskHubName() string { return c.hub.Name() }

// ConnectionName returns the connection name written to management URLs.
func (c *Client) ConnectionName() string { return c.conn }

// Hub returns the task hub the client addresses.
func (c *Client) Hub() sp.TaskHub { return c.hub }

// timestamp returns the current time at the precision the task hub
// stores.
func (c *Client) timestamp() time.Time { return sp.Timestamp(c.now()) }

// NewInstanceID returns a fresh instance ID: 32 lower-case hex characters
// (a random GUID in "N" format).
func NewInstanceID() string {
	u := uuid.New()
	return strings.ReplaceAll(u.String(), "-", "")
}

// toJSON renders a payload as JSON text with payload.Marshal (a
// json.RawMessage is validated and kept byte for byte, so large inputs are
// not re-encoded), and maps JSON null to "" as well: "" is the storage
// providers' representation of no value.
func toJSON(v any) (string, error) {
	s, err := payload.Marshal(v)
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(s) == "null" {
		return "", nil
	}
	return s, nil
}

// StartNew starts orchestrator with input and returns the instance ID. An
// ID given with bindings.WithInstanceID is validated; without one a new ID
// is made up. Starting an ID whose instance is not terminal fails with an
// error wrapping bindings.ErrInstanceExists; the check and the start are
// one atomic TaskHub.CreateInstance call.
func (c *Client) StartNew(ctx context.Context, orchestrator string, input any, opts ...bindings.Option) (string, error) {
	so, err := options.Fold("StartNew", options.ForStart, opts)
	if err != nil {
		return "", fmt.Errorf("durableclient: start %q: %w", orchestrator, err)
	}
	if orchestrator == "" || (c.isOrch != nil && !c.isOrch(orchestrator)) {
		return "", fmt.Errorf("durableclient: start %q: %w: the function doesn't exist, is disabled, or is not an orchestrator function", orchestrator, bindings.ErrUnknownOrchestrator)
	}
	id := so.InstanceID
	if id == "" {
		id = NewInstanceID()
	} else if err := bindings.ValidateInstanceID(id); err != nil {
		return "", fmt.Errorf("durableclient: start %q: %w", orchestrator, err)
	}
	in, err := toJSON(input)
	if err != nil {
		return "", fmt.Errorf("durableclient: start %q as %q: encoding the input: %w", orchestrator, id, err)
	}
	version := so.Version
	if so.Applied&options.FieldVersion == 0 {
		version = c.version
	}
	if err := c.create(ctx, id, orchestrator, version, in, so.StartAt); err != nil {
		return "", fmt.Errorf("durableclient: start %q as instance %q: %w", orchestrator, id, err)
	}
	return id, nil
}

// create writes the ExecutionStarted message of a new execution of id;
// callers wrap its error.
func (c *Client) create(ctx context.Context, id, name, version, input string, startAt time.Time) error {
	execID := NewInstanceID()
	ev := sp.NewExecutionStartedEvent(c.timestamp(), sp.OrchestrationInstance{InstanceID: id, ExecutionID: execID}, name, version, input)
	if !startAt.IsZero() {
		t := sp.Timestamp(startAt)
		ev.ScheduledStartTime = &t
	}
	msg := &sp.TaskMessage{Event: ev, Target: sp.OrchestrationInstance{InstanceID: id, ExecutionID: execID}}
	if c.onCreate == nil {
		return fromHub(c.hub.CreateInstance(ctx, msg))
	}
	done := c.onCreate(ctx, ev)
	err := fromHub(c.hub.CreateInstance(ctx, msg))
	if done != nil {
		done(err)
	}
	return err
}

// GetStatus returns an instance's status, or an error wrapping
// bindings.ErrInstanceNotFound. History, when requested, is in the
// Durable Functions HTTP API's shape (see dfwire.History).
func (c *Client) GetStatus(ctx context.Context, instanceID string, opts bindings.StatusOptions) (*bindings.OrchestrationStatus, error) {
	st, history, err := c.readStatus(ctx, instanceID, opts)
	if err != nil {
		return nil, err
	}
	s := statusFromState(st, !opts.HideInput)
	s.History = history
	return s, nil
}

// GetStatusText is GetStatus for the host's HTTP status endpoints (the
// management API, WaitAndRespond): the status object with its payloads
// as the strings the task hub returned (dfwire.PayloadText), which
// dfwire.WriteStatusText writes without copying them, and the runtime
// status the response code depends on. GetStatus's status holds each
// payload as a json.RawMessage, a copy; it stays the author API.
func (c *Client) GetStatusText(ctx context.Context, instanceID string, opts bindings.StatusOptions) (*dfwire.StatusText, bindings.RuntimeStatus, error) {
	st, history, err := c.readStatus(ctx, instanceID, opts)
	if err != nil {
		return nil, 0, err
	}
	s := &dfwire.StatusText{
		Name:            st.Name,
		InstanceID:      st.InstanceID,
		RuntimeStatus:   bindings.RuntimeStatus(st.RuntimeStatus).String(),
		CustomStatus:    dfwire.PayloadText(st.CustomStatus),
		Output:          dfwire.PayloadText(st.Output),
		CreatedTime:     st.CreatedTime,
		LastUpdatedTime: st.LastUpdatedTime,
		Version:         st.Version,
		HistoryEvents:   history,
	}
	if !opts.HideInput {
		s.Input = dfwire.PayloadText(st.Input)
	}
	return s, bindings.RuntimeStatus(st.RuntimeStatus), nil
}

// readStatus reads an instance's status row with its payloads and, when
// opts ask for it, its history as historyEvents.
func (c *Client) readStatus(ctx context.Context, instanceID string, opts bindings.StatusOptions) (*sp.OrchestrationState, []json.RawMessage, error) {
	st, err := c.hub.GetOrchestrationState(ctx, instanceID, true)
	if err != nil {
		return nil, nil, fmt.Errorf("durableclient: status of instance %q: %w", instanceID, fromHub(err))
	}
	// Pending instances have not run yet: Durable Functions never loads
	// their history.
	if !opts.ShowHistory || st.RuntimeStatus == sp.StatusPending {
		return st, nil, nil
	}
	events, err := c.hub.GetOrchestrationHistory(ctx, instanceID)
	if err != nil && !errors.Is(err, sp.ErrInstanceNotFound) {
		return nil, nil, fmt.Errorf("durableclient: history of instance %q: %w", instanceID, err)
	}
	return st, dfwire.MarshalHistory(dfwire.History(events, !opts.HideInput, opts.ShowHistoryOutput)), nil
}

// runtimeStatus returns an instance's status row without its payloads.
func (c *Client) runtimeStatus(ctx context.Context, instanceID string) (*sp.OrchestrationState, error) {
	st, err := c.hub.GetOrchestrationState(ctx, instanceID, false)
	return st, fromHub(err)
}

// statusFromState converts a status row to the client's status shape.
func statusFromState(st *sp.OrchestrationState, showInput bool) *bindings.OrchestrationStatus {
	s := &bindings.OrchestrationStatus{
		Name:            st.Name,
		InstanceID:      st.InstanceID,
		RuntimeStatus:   bindings.RuntimeStatus(st.RuntimeStatus),
		CustomStatus:    dfwire.Payload(st.CustomStatus),
		Output:          dfwire.Payload(st.Output),
		CreatedTime:     st.CreatedTime,
		LastUpdatedTime: st.LastUpdatedTime,
		Version:         st.Version,
	}
	if showInput {
		s.Input = dfwire.Payload(st.Input)
	}
	return s
}

// WireStatus returns s as the HTTP API's status object.
func WireStatus(s *bindings.OrchestrationStatus) *dfwire.Status {
	return &dfwire.Status{
		Name:            s.Name,
		InstanceID:      s.InstanceID,
		RuntimeStatus:   s.RuntimeStatus.String(),
		Input:           s.Input,
		CustomStatus:    s.CustomStatus,
		Output:          s.Output,
		CreatedTime:     s.CreatedTime,
		LastUpdatedTime: s.LastUpdatedTime,
		Version:         s.Version,
		HistoryEvents:   s.History,
	}
}

// ListInstances returns one page of instances matching q. Inputs are
// included only with q.ShowInput.
func (c *Client) ListInstances(ctx context.Context, q bindings.InstanceQuery) (*bindings.InstancePage, error) {
	res, err := c.hub.QueryOrchestrationStates(ctx, sp.InstanceQuery{
		CreatedTimeFrom:       q.CreatedTimeFrom,
		CreatedTimeTo:         q.CreatedTimeTo,
		RuntimeStatus:         storageStatuses(q.RuntimeStatus),
		InstanceIDPrefix:      q.InstanceIDPrefix,
		PageSize:              q.PageSize,
		ContinuationToken:     q.ContinuationToken,
		FetchInputsAndOutputs: true, // outputs are always shown
	})
	if err != nil {
		return nil, fmt.Errorf("durableclient: listing instances of task hub %q: %w", c.hub.Name(), fromHub(err))
	}
	page := &bindings.InstancePage{
		Instances:         make([]*bindings.OrchestrationStatus, 0, len(res.States)),
		ContinuationToken: res.ContinuationToken,
	}
	for _, st := range res.States {
		page.Instances = append(page.Instances, statusFromState(st, q.ShowInput))
	}
	return page, nil
}

// checkRunning succeeds when the instance exists and is not terminal: the
// precondition of raise event, terminate, suspend and resume.
func (c *Client) checkRunning(ctx context.Context, op, instanceID string) error {
	_, err := c.running(ctx, op, instanceID)
	return err
}

// running is checkRunning returning the instance's status row.
func (c *Client) running(ctx context.Context, op, instanceID string) (*sp.OrchestrationState, error) {
	st, err := c.runtimeStatus(ctx, instanceID)
	if err != nil {
		return nil, fmt.Errorf("durableclient: %s instance %q: %w", op, instanceID, err)
	}
	if st.RuntimeStatus.IsTerminal() {
		return nil, fmt.Errorf("durableclient: %s instance %q: %w (it is %s)", op, instanceID, bindings.ErrInstanceNotRunning, st.RuntimeStatus)
	}
	return st, nil
}

// send delivers one control event, built by an sp.New…Event constructor,
// to the current execution of instanceID.
func (c *Client) send(ctx context.Context, op, instanceID string, ev *sp.HistoryEvent) error {
	msg := &sp.TaskMessage{Event: ev, Target: sp.OrchestrationInstance{InstanceID: instanceID}}
	if err := c.hub.SendTaskMessages(ctx, msg); err != nil {
		return fmt.Errorf("durableclient: %s instance %q: %w", op, instanceID, fromHub(err))
	}
	return nil
}

// RaiseEvent sends the external event eventName with data (any JSON value;
// json.RawMessage is sent as is) to a non-terminal instance. It fails with
// bindings.ErrInstanceNotFound or bindings.ErrInstanceNotRunning.
func (c *Client) RaiseEvent(ctx context.Context, instanceID, eventName string, data any) error {
	if eventName == "" {
		return fmt.Errorf("durableclient: raise event on instance %q: the event name must not be empty", instanceID)
	}
	in, err := toJSON(data)
	if err != nil {
		return fmt.Errorf("durableclient: raise event %q on instance %q: encoding the data: %w", eventName, instanceID, err)
	}
	st, err := c.running(ctx, "raise event "+eventName+" on", instanceID)
	if err != nil {
		return err
	}
	ev := sp.NewEventRaisedEvent(c.timestamp(), eventName, in)
	if c.onRaise == nil {
		return c.send(ctx, "raise event "+eventName+" on", instanceID, ev)
	}
	done := c.onRaise(ctx, st, ev)
	err = c.send(ctx, "raise event "+eventName+" on", instanceID, ev)
	if done != nil {
		done(err)
	}
	return err
}

// Terminate ends a non-terminal instance; reason becomes its output.
func (c *Client) Terminate(ctx context.Context, instanceID, reason string) error {
	if err := c.checkRunning(ctx, "terminate", instanceID); err != nil {
		return err
	}
	r, _ := dfwire.Marshal(reason)
	return c.send(ctx, "terminate", instanceID, sp.NewExecutionTerminatedEvent(c.timestamp(), string(r)))
}

// Suspend pauses a non-terminal instance (accepted when already
// suspended, as in Durable Functions).
func (c *Client) Suspend(ctx context.Context, instanceID, reason string) error {
	if err := c.checkRunning(ctx, "suspend", instanceID); err != nil {
		return err
	}
	return c.send(ctx, "suspend", instanceID, sp.NewExecutionSuspendedEvent(c.timestamp(), reason))
}

// Resume continues a suspended instance (accepted for any non-terminal
// instance, as in Durable Functions).
func (c *Client) Resume(ctx context.Context, instanceID, reason string) error {
	if err := c.checkRunning(ctx, "resume", instanceID); err != nil {
		return err
	}
	return c.send(ctx, "resume", instanceID, sp.NewExecutionResumedEvent(c.timestamp(), reason))
}

// Rewind asks the engine to re-run the failed work of a Failed instance.
// Other statuses fail with bindings.ErrInstanceNotFailed.
func (c *Client) Rewind(ctx context.Context, instanceID, reason string) error {
	st, err := c.runtimeStatus(ctx, instanceID)
	if err != nil {
		return fmt.Errorf("durableclient: rewind instance %q: %w", instanceID, err)
	}
	if st.RuntimeStatus != sp.StatusFailed {
		return fmt.Errorf("durableclient: rewind instance %q: %w (it is %s)", instanceID, bindings.ErrInstanceNotFailed, st.RuntimeStatus)
	}
	return c.send(ctx, "rewind", instanceID, sp.NewExecutionRewoundEvent(c.timestamp(), reason))
}

// Restart starts the instance's orchestrator again with its original input
// and version, under a new ID (newInstanceID) or the same one, and returns
// the ID used. Restarting under the same ID while the instance is not
// terminal fails with bindings.ErrInstanceExists.
func (c *Client) Restart(ctx context.Context, instanceID string, newInstanceID bool) (string, error) {
	st, err := c.hub.GetOrchestrationState(ctx, instanceID, true)
	if err != nil {
		return "", fmt.Errorf("durableclient: restart instance %q: %w", instanceID, fromHub(err))
	}
	id := instanceID
	if newInstanceID {
		id = NewInstanceID()
	}
	if err := c.create(ctx, id, st.Name, st.Version, st.Input, time.Time{}); err != nil {
		return "", fmt.Errorf("durableclient: restart instance %q (%s) as %q: %w", instanceID, st.Name, id, err)
	}
	return id, nil
}

// PurgeInstance deletes a terminal instance and returns 1. A missing
// instance gives bindings.ErrInstanceNotFound, a non-terminal one
// bindings.ErrInstanceNotTerminal; entities (@name@key) are purged
// whatever their status.
func (c *Client) PurgeInstance(ctx context.Context, instanceID string) (int, error) {
	st, err := c.runtimeStatus(ctx, instanceID)
	if err != nil {
		return 0, fmt.Errorf("durableclient: purge instance %q: %w", instanceID, err)
	}
	// Entities never end; Durable Functions purges them by ID all the same.
	if !st.RuntimeStatus.IsTerminal() && !entitywire.IsEntity(instanceID) {
		return 0, fmt.Errorf("durableclient: purge instance %q: %w (it is %s)", instanceID, bindings.ErrInstanceNotTerminal, st.RuntimeStatus)
	}
	if err := c.hub.PurgeInstance(ctx, instanceID); err != nil {
		return 0, fmt.Errorf("durableclient: purge instance %q: %w", instanceID, fromHub(err))
	}
	return 1, nil
}

// PurgeInstances deletes the terminal instances matching f and returns how
// many were deleted.
func (c *Client) PurgeInstances(ctx context.Context, f bindings.PurgeFilter) (int, error) {
	n, err := c.hub.PurgeInstances(ctx, sp.PurgeFilter{CreatedTimeFrom: f.CreatedTimeFrom, CreatedTimeTo: f.CreatedTimeTo,
		RuntimeStatus: storageStatuses(f.RuntimeStatus)})
	if err != nil {
		return n, fmt.Errorf("durableclient: purging instances of task hub %q: %w", c.hub.Name(), err)
	}
	return n, nil
}

// storageStatuses converts author statuses to the task hub's (the two
// enums are numbered alike).
func storageStatuses(in []bindings.RuntimeStatus) []sp.OrchestrationStatus {
	if in == nil {
		return nil
	}
	out := make([]sp.OrchestrationStatus, len(in))
	for i, s := range in {
		out[i] = sp.OrchestrationStatus(s)
	}
	return out
}
