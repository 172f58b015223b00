package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/internal/entitywire"
	"github.com/funchost/funchost/internal/options"
	"github.com/funchost/funchost/internal/payload"
	sp "github.com/funchost/funchost/storageprovider"
	"github.com/google/uuid"
)

// entityContext is the engine's bindings.EntityContext for one operation
// of a batch. It works on the batch's state; the messages it produces are
// kept only if the operation succeeds.
type entityContext struct {
	context.Context
	b        *entityBatch
	req      *entitywire.Request
	pos      int
	result   string
	resultOK error // a Return value that could not be serialised
	sends    []*sp.TaskMessage
	// trace is the operation span's own context (nil when the request is
	// not traced); sent are the Observer events of what it sends, reported
	// only if the operation succeeds.
	trace *sp.TraceContext
	sent  []LifecycleEvent
}

var _ bindings.EntityContext = (*entityContext)(nil)

func (c *entityContext) ID() bindings.EntityID {
	return bindings.EntityID{Name: c.b.id.Name, Key: c.b.id.Key}
}

func (c *entityContext) Operation() string { return c.req.Operation() }
func (c *entityContext) HasInput() bool    { return c.req.Input != "" }
func (c *entityContext) BatchSize() int    { return c.b.size }
func (c *entityContext) BatchPosition() int {
	return c.pos
}

func (c *entityContext) Input(v any) error {
	if err := payload.Unmarshal(c.req.Input, v); err != nil {
		return fmt.Errorf("entity %s: operation %q: decoding input: %w", c.b.instanceID, c.Operation(), err)
	}
	return nil
}

func (c *entityContext) HasState() bool { return c.b.state.State != nil }

func (c *entityContext) State(v any) error {
	if c.b.state.State == nil {
		return nil
	}
	if err := payload.Unmarshal(*c.b.state.State, v); err != nil {
		return fmt.Errorf("entity %s: decoding state: %w", c.b.instanceID, err)
	}
	return nil
}

func (c *entityContext) SetState(v any) error {
	s, err := payload.Marshal(v)
	if err != nil {
		return fmt.Errorf("entity %s: encoding state: %w", c.b.instanceID, err)
	}
	if s == "" {
		s = "null"
	}
	c.b.state.State = &s
	return nil
}

func (c *entityContext) DeleteState() { c.b.state.State = nil }

func (c *entityContext) Return(v any) {
	s, err := payload.Marshal(v)
	c.result, c.resultOK = s, err
}

func (c *entityContext) SignalEntity(id bindings.EntityID, operation string, input any, opts ...bindings.Option) error {
	so, err := options.Fold("SignalEntity", options.ForSignal, opts)
	if err != nil {
		return fmt.Errorf("entity %s: signal %s: %w", c.b.instanceID, id, err)
	}
	if err := bindings.ValidateEntityID(id); err != nil {
		return fmt.Errorf("entity %s: signal %s: %w", c.b.instanceID, id, err)
	}
	in, err := payload.Marshal(input)
	if err != nil {
		return fmt.Errorf("entity %s: signal %s: encoding input: %w", c.b.instanceID, id, err)
	}
	r := &entitywire.Request{Op: &operation, Signal: true, Input: in, ID: uuid.NewString(), Parent: c.b.instanceID}
	if !so.ScheduledTime.IsZero() {
		r.Due = &entitywire.Time{Time: sp.Timestamp(so.ScheduledTime)}
	}
	if c.trace != nil {
		r.ParentTraceContext = childOf(c.trace)
	}
	c.sends = append(c.sends, requestMessage(c.b.now, id.String(), r))
	c.reportSignal(id, r)
	return nil
}

func (c *entityContext) StartNewOrchestration(name string, input any, opts ...bindings.Option) (string, error) {
	so, err := options.Fold("StartNewOrchestration", options.ForEntityStart, opts)
	if err != nil {
		return "", fmt.Errorf("entity %s: start %q: %w", c.b.instanceID, name, err)
	}
	if c.b.isOrchestrator != nil && !c.b.isOrchestrator(name) {
		return "", fmt.Errorf("entity %s: start %q: %w", c.b.instanceID, name, bindings.ErrUnknownOrchestrator)
	}
	id := so.InstanceID
	if id == "" {
		id = uuid.NewString()
	}
	if err := bindings.ValidateInstanceID(id); err != nil {
		return "", fmt.Errorf("entity %s: start %q: %w", c.b.instanceID, name, err)
	}
	in, err := payload.Marshal(input)
	if err != nil {
		return "", fmt.Errorf("entity %s: start %q: encoding input: %w", c.b.instanceID, name, err)
	}
	inst := sp.OrchestrationInstance{InstanceID: id, ExecutionID: newExecutionID()}
	ev := sp.NewExecutionStartedEvent(c.b.now, inst, name, so.Version, in)
	if c.trace != nil {
		ev.ParentTraceContext = childOf(c.trace)
	}
	c.sends = append(c.sends, &sp.TaskMessage{Target: inst, Event: ev})
	c.reportStart(ev)
	return id, nil
}

// requestMessage addresses a request to an entity instance.
func requestMessage(now time.Time, target string, r *entitywire.Request) *sp.TaskMessage {
	var due time.Time
	if r.Due != nil {
		due = r.Due.Time
	}
	return &sp.TaskMessage{Target: sp.OrchestrationInstance{InstanceID: target},
		Event: sp.NewEventRaisedEvent(now, entitywire.EventName(due), entitywire.Marshal(r))}
}
