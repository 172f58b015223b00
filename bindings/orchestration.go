package bindings

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"time"
)

// Orchestrator is the Go shape of an orchestrationTrigger function. Its
// result is serialised to JSON as the orchestration's output; a returned
// error fails the orchestration.
type Orchestrator func(ctx OrchestrationContext) (any, error)

// OrchestrationContext is an orchestrator's view of its instance. Every
// method is deterministic under replay: an orchestrator that calls only
// these (and pure Go) produces the same decisions each time it is replayed.
//
// The methods that schedule work return a Task at once; Await blocks the
// orchestrator until the task completes. An OrchestrationContext must only be
// used from the orchestrator's own goroutine.
type OrchestrationContext interface {
	// InstanceID returns the orchestration's instance ID.
	InstanceID() string
	// Name returns the orchestrator function's name.
	Name() string
	// Input decodes the orchestration's JSON input into v.
	Input(v any) error
	// IsReplaying reports whether the orchestrator is re-running decisions
	// already recorded in history.
	IsReplaying() bool
	// CurrentUTCDateTime returns the deterministic current time: the
	// timestamp of the episode being replayed, truncated to 100 ns.
	CurrentUTCDateTime() time.Time
	// NewGUID returns a deterministic name-based (version 5) UUID, as
	// Durable Functions computes it.
	NewGUID() string
	// Logger returns a logger that is silent while IsReplaying is true.
	Logger() *slog.Logger
	// SetCustomStatus sets a JSON-serialisable value readers see as the
	// instance's customStatus.
	SetCustomStatus(v any)

	// CallActivity schedules an activity.
	CallActivity(name string, input any, opts ...CallOption) Task
	// CallSubOrchestrator starts a sub-orchestration and completes with its
	// output. Without WithInstanceID the child's ID is derived
	// deterministically.
	CallSubOrchestrator(name string, input any, opts ...CallOption) Task
	// CreateTimer completes at fireAt (a durable timer).
	CreateTimer(fireAt time.Time) Task
	// WaitForExternalEvent completes when an event with that name
	// (case-insensitive) arrives; events that arrived earlier are buffered
	// FIFO per name. With WithTimeout, the task fails with ErrTimeout if
	// nothing arrives in time.
	WaitForExternalEvent(name string, opts ...WaitOption) Task
	// SendEvent raises an event on another orchestration instance.
	SendEvent(instanceID, eventName string, data any)
	// WhenAll completes when every task has completed. Awaiting it returns
	// the first error among tasks, in argument order.
	WhenAll(tasks ...Task) Task
	// WhenAny completes when one of the tasks completes; awaiting it into an
	// *int yields that task's index.
	WhenAny(tasks ...Task) Task
	// ContinueAsNew restarts the orchestration with a new input and an
	// empty history once the orchestrator returns. Its result is ignored.
	ContinueAsNew(input any, opts ...ContinueAsNewOption)
}

// Task is a unit of durable work scheduled by an orchestrator.
type Task interface {
	// Await blocks the orchestrator until the task completes, then decodes
	// its JSON result into out (which may be nil) or returns its error.
	Await(out any) error
	// IsDone reports whether the task has completed.
	IsDone() bool
}

// Await waits for t and returns its result decoded as T.
func Await[T any](t Task) (T, error) {
	var v T
	err := t.Await(&v)
	return v, err
}

// CallActivity calls an activity and returns its result decoded as T.
func CallActivity[T any](ctx OrchestrationContext, name string, input any, opts ...CallOption) (T, error) {
	return Await[T](ctx.CallActivity(name, input, opts...))
}

// CallSubOrchestrator runs a sub-orchestration and returns its output
// decoded as T.
func CallSubOrchestrator[T any](ctx OrchestrationContext, name string, input any, opts ...CallOption) (T, error) {
	return Await[T](ctx.CallSubOrchestrator(name, input, opts...))
}

// WaitForExternalEvent waits for the named event and returns its payload
// decoded as T.
func WaitForExternalEvent[T any](ctx OrchestrationContext, name string, opts ...WaitOption) (T, error) {
	return Await[T](ctx.WaitForExternalEvent(name, opts...))
}

// GetInput decodes the orchestration's input as T.
func GetInput[T any](ctx interface{ Input(any) error }) (T, error) {
	var v T
	err := ctx.Input(&v)
	return v, err
}

// TypedOrchestrator adapts a function with a typed input to an
// Orchestrator; the input is decoded from JSON before f runs.
func TypedOrchestrator[In, Out any](f func(ctx OrchestrationContext, in In) (Out, error)) Orchestrator {
	return func(ctx OrchestrationContext) (any, error) {
		var in In
		if err := ctx.Input(&in); err != nil {
			return nil, fmt.Errorf("orchestrator %s: decoding input: %w", ctx.Name(), err)
		}
		return f(ctx, in)
	}
}

// RetryPolicy retries a failed activity or sub-orchestration with durable
// timers between attempts, as Durable Functions' RetryOptions do.
type RetryPolicy struct {
	// MaxAttempts is the total number of attempts, including the first
	// (required, ≥ 1).
	MaxAttempts int
	// FirstRetryInterval is the delay before the second attempt (required,
	// > 0).
	FirstRetryInterval time.Duration
	// BackoffCoefficient multiplies the delay after each attempt (default
	// 1).
	BackoffCoefficient float64
	// MaxRetryInterval caps the delay (default 6 days).
	MaxRetryInterval time.Duration
	// RetryTimeout stops retrying once this much time has passed since the
	// first attempt (0: no limit).
	RetryTimeout time.Duration
	// Handle decides whether an error is worth retrying (nil: all are).
	Handle func(err error) bool
}

// Validate reports whether the policy is usable.
func (p RetryPolicy) Validate() error {
	if p.MaxAttempts < 1 {
		return fmt.Errorf("bindings: RetryPolicy.MaxAttempts must be at least 1, got %d", p.MaxAttempts)
	}
	if p.FirstRetryInterval <= 0 {
		return fmt.Errorf("bindings: RetryPolicy.FirstRetryInterval must be positive, got %v", p.FirstRetryInterval)
	}
	if p.BackoffCoefficient < 0 {
		return fmt.Errorf("bindings: RetryPolicy.BackoffCoefficient must not be negative, got %v", p.BackoffCoefficient)
	}
	return nil
}

// CallOptions are the settings of one CallActivity or CallSubOrchestrator
// call, assembled from CallOption values.
type CallOptions struct {
	Retry      *RetryPolicy
	InstanceID string
	Version    string
}

// CallOption configures CallActivity and CallSubOrchestrator.
type CallOption interface{ applyCall(*CallOptions) }

// StartOptions are the settings of one DurableClient.StartNew call.
type StartOptions struct {
	InstanceID string
	Version    string
	// StartAt delays the start until that time (zero: start now).
	StartAt time.Time
}

// StartOption configures DurableClient.StartNew.
type StartOption interface{ applyStart(*StartOptions) }

type retryOption RetryPolicy

func (o retryOption) applyCall(c *CallOptions) { p := RetryPolicy(o); c.Retry = &p }

// WithRetry retries the call according to p.
func WithRetry(p RetryPolicy) CallOption { return retryOption(p) }

// InstanceIDOption sets an instance ID; it works both as a CallOption (the
// sub-orchestration's ID) and as a StartOption.
type InstanceIDOption string

func (o InstanceIDOption) applyCall(c *CallOptions)   { c.InstanceID = string(o) }
func (o InstanceIDOption) applyStart(s *StartOptions) { s.InstanceID = string(o) }

// WithInstanceID sets the instance ID of a sub-orchestration or of a new
// instance started by a client.
func WithInstanceID(id string) InstanceIDOption { return InstanceIDOption(id) }

// VersionOption sets an orchestration version; it works as a CallOption and
// a StartOption.
type VersionOption string

func (o VersionOption) applyCall(c *CallOptions)   { c.Version = string(o) }
func (o VersionOption) applyStart(s *StartOptions) { s.Version = string(o) }

// WithVersion sets the orchestration version recorded for a sub-orchestration
// or new instance.
func WithVersion(v string) VersionOption { return VersionOption(v) }

type startAtOption time.Time

func (o startAtOption) applyStart(s *StartOptions) { s.StartAt = time.Time(o) }

// WithStartAt delays a new instance's start until t.
func WithStartAt(t time.Time) StartOption { return startAtOption(t) }

// ApplyCallOptions folds opts into a CallOptions value.
func ApplyCallOptions(opts []CallOption) CallOptions {
	var c CallOptions
	for _, o := range opts {
		if o != nil {
			o.applyCall(&c)
		}
	}
	return c
}

// ApplyStartOptions folds opts into a StartOptions value.
func ApplyStartOptions(opts []StartOption) StartOptions {
	var s StartOptions
	for _, o := range opts {
		if o != nil {
			o.applyStart(&s)
		}
	}
	return s
}

// WaitOptions are the settings of one WaitForExternalEvent call.
type WaitOptions struct {
	// Timeout, when positive, fails the wait with ErrTimeout after that
	// long (a durable timer).
	Timeout time.Duration
}

// WaitOption configures WaitForExternalEvent.
type WaitOption func(*WaitOptions)

// WithTimeout fails the wait with ErrTimeout if no event arrives within d.
func WithTimeout(d time.Duration) WaitOption { return func(o *WaitOptions) { o.Timeout = d } }

// ApplyWaitOptions folds opts into a WaitOptions value.
func ApplyWaitOptions(opts []WaitOption) WaitOptions {
	var w WaitOptions
	for _, o := range opts {
		if o != nil {
			o(&w)
		}
	}
	return w
}

// ContinueAsNewOptions are the settings of a ContinueAsNew call.
type ContinueAsNewOptions struct {
	// PreserveUnprocessedEvents carries external events that arrived but
	// were not consumed into the next generation.
	PreserveUnprocessedEvents bool
	// Version sets the next generation's version.
	Version string
}

// ContinueAsNewOption configures ContinueAsNew.
type ContinueAsNewOption func(*ContinueAsNewOptions)

// PreserveUnprocessedEvents keeps buffered external events for the next
// generation.
func PreserveUnprocessedEvents() ContinueAsNewOption {
	return func(o *ContinueAsNewOptions) { o.PreserveUnprocessedEvents = true }
}

// ApplyContinueAsNewOptions folds opts into a ContinueAsNewOptions value.
func ApplyContinueAsNewOptions(opts []ContinueAsNewOption) ContinueAsNewOptions {
	var c ContinueAsNewOptions
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}

// MarshalPayload renders a value as the JSON text stored in history; nil
// becomes "" (no value). A json.RawMessage is used as is.
func MarshalPayload(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case json.RawMessage:
		if len(x) == 0 {
			return "", nil
		}
		if !json.Valid(x) {
			return "", fmt.Errorf("bindings: payload is not valid JSON")
		}
		return string(x), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// UnmarshalPayload decodes stored JSON text into out; "" (null) leaves out
// at its zero value. A nil out discards the payload.
func UnmarshalPayload(payload string, out any) error {
	if out == nil || payload == "" {
		return nil
	}
	if raw, ok := out.(*json.RawMessage); ok {
		*raw = json.RawMessage(payload)
		return nil
	}
	return json.Unmarshal([]byte(payload), out)
}
