package engine

import (
	"encoding/json"
	"time"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/internal/entitywire"
	sp "github.com/funchost/funchost/storageprovider"
)

// Entities report through the same Observer as orchestrations, with Type
// Entity: each operation's outcome (Completed or Failed, with its
// request's trace context, so that tracing can make the operation's span a
// child of its sender's), state created or deleted, locks granted and
// released; an orchestration's request to an entity is an EventSent. An
// entity batch never replays, so none of these is a replay event.

// emitEntityRequest reports an operation request an orchestration sent to
// an entity (not lock requests or releases).
func (e *execution) emitEntityRequest(a *action) {
	var r entitywire.Request
	if json.Unmarshal([]byte(a.input), &r) != nil || r.Op == nil {
		return
	}
	ev := e.orchEvent(EventSent)
	ev.Type, ev.TargetInstanceID, ev.Input, ev.Reason = Entity, a.instanceID, r.Input, e.name
	if id, err := entitywire.Parse(a.instanceID); err == nil {
		ev.Name = id.Name
	}
	ev.Operation, ev.OperationID, ev.Signal, ev.TaskTrace = *r.Op, r.ID, r.Signal, r.ParentTraceContext
	if r.Due != nil {
		ev.FireAt = r.Due.Time
	}
	e.emit(ev)
}

// requestTrace is the trace context an orchestration's request to an
// entity carries: a pre-allocated span id for the request's span (nil
// when the orchestration is not traced).
func (e *execution) requestTrace() *sp.TraceContext { return e.childTrace() }

// entityEvent is an event of the batch's entity.
func (b *entityBatch) entityEvent(k LifecycleKind) LifecycleEvent {
	return LifecycleEvent{Kind: k, Type: Entity, InstanceID: b.instanceID, Name: b.id.Name, Hub: b.w.hubName, TaskEventID: -1,
		RuntimeStatus: sp.StatusRunning, Time: b.now}
}

// operationTrace is the trace context of an operation's own span: a span
// id pre-allocated under the request's context before the operation
// runs, so that what the operation sends can name its span as parent; nil
// when the request is not traced.
func operationTrace(r *entitywire.Request) *sp.TraceContext {
	if r.ParentTraceContext == nil {
		return nil
	}
	return childOf(&sp.TraceContext{TraceParent: r.ParentTraceContext.TraceParent, TraceState: r.ParentTraceContext.TraceState})
}

// childOf is a context whose parent is own's span (own.TraceParent is the
// span's own traceparent), with a fresh span id for the child; nil when
// own's traceparent is malformed.
func childOf(own *sp.TraceContext) *sp.TraceContext {
	traceID, flags, ok := parseTraceParent(own.TraceParent)
	if !ok {
		return nil
	}
	return &sp.TraceContext{TraceParent: "00-" + traceID + "-" + newSpanID() + "-" + flags, TraceState: own.TraceState}
}

// sender is the Trace of an event an operation sends: the operation
// span's identity, in the field an orchestration's events carry theirs in.
func (c *entityContext) sender() *sp.TraceContext {
	if c.trace == nil {
		return nil
	}
	return &sp.TraceContext{ID: c.trace.TraceParent, TraceState: c.trace.TraceState}
}

// reportSignal records the EventSent of a signal the operation sends to
// the entity id: Type Entity, InstanceID the sending entity, Name and
// TargetInstanceID the target, Reason the sending entity's name (Durable
// Functions' reason), TaskTrace the request's context.
func (c *entityContext) reportSignal(id bindings.EntityID, r *entitywire.Request) {
	if c.b.w.obs == nil {
		return
	}
	ev := c.b.entityEvent(EventSent)
	ev.Name, ev.TargetInstanceID, ev.Reason, ev.Input = id.Name, id.String(), c.b.id.Name, r.Input
	ev.Operation, ev.OperationID, ev.Signal, ev.Trace, ev.TaskTrace = *r.Op, r.ID, true, c.sender(), r.ParentTraceContext
	if r.Due != nil {
		ev.FireAt = r.Due.Time
	}
	c.sent = append(c.sent, ev)
}

// reportStart records the Scheduled event of an orchestration the
// operation starts: the orchestration's scheduled line (Reason the
// entity's name, RequesterInstanceID the entity), with TaskTrace the new
// ExecutionStarted's context, whose span id is the create span's.
func (c *entityContext) reportStart(started *sp.HistoryEvent) {
	if c.b.w.obs == nil {
		return
	}
	inst := started.OrchestrationInstance
	ev := LifecycleEvent{Kind: Scheduled, Type: Orchestrator, InstanceID: inst.InstanceID, ExecutionID: inst.ExecutionID,
		Name: started.Name, Version: started.Version, Hub: c.b.w.hubName, Reason: c.b.id.Name, Input: started.Input, TaskEventID: -1,
		TargetInstanceID: inst.InstanceID, RequesterInstanceID: c.b.instanceID, RuntimeStatus: sp.StatusPending, Time: c.b.now,
		Trace: c.sender(), TaskTrace: started.ParentTraceContext}
	c.sent = append(c.sent, ev)
}

// emitSent reports what a successful operation sent.
func (b *entityBatch) emitSent(evs []LifecycleEvent) {
	for _, ev := range evs {
		observe(b.w.obs, ev)
	}
}

// emitOperation reports how an operation ended and, on success, whether
// it created or deleted the entity's state (before is the state it
// started from; own the operation span's context).
func (b *entityBatch) emitOperation(r *entitywire.Request, before *string, start time.Time, fd *entitywire.FailureDetails, result string, own *sp.TraceContext) {
	if b.w.obs == nil {
		return
	}
	ev := b.entityEvent(Completed)
	ev.Operation, ev.OperationID, ev.Signal, ev.Input, ev.Trace = r.Operation(), r.ID, r.Signal, r.Input, r.ParentTraceContext
	ev.TaskTrace = own
	ev.Time, ev.Duration = start, time.Since(start)
	if fd != nil {
		ev.Kind, ev.RuntimeStatus = Failed, sp.StatusFailed
		ev.Failure = &sp.FailureDetails{ErrorType: fd.ErrorType, ErrorMessage: fd.ErrorMessage, StackTrace: fd.StackTrace}
	} else {
		ev.Output, ev.RuntimeStatus = result, sp.StatusCompleted
	}
	observe(b.w.obs, ev)
	if fd != nil {
		return
	}
	after := b.state.State
	var k LifecycleKind
	switch {
	case before == nil && after != nil:
		k = EntityStateCreated
	case before != nil && after == nil:
		k = EntityStateDeleted
	default:
		return
	}
	st := b.entityEvent(k)
	st.Operation, st.OperationID = r.Operation(), r.ID
	observe(b.w.obs, st)
}

// emitLock reports a lock granted to (acquired) or released by an
// orchestration; id is the lock request's ID.
func (b *entityBatch) emitLock(k LifecycleKind, id, instanceID, executionID string) {
	if b.w.obs == nil {
		return
	}
	ev := b.entityEvent(k)
	ev.OperationID, ev.RequesterInstanceID, ev.RequesterExecutionID = id, instanceID, executionID
	observe(b.w.obs, ev)
}

// emitBatch reports the end of the work item, which received n messages.
func (b *entityBatch) emitBatch(n int) {
	if b.w.obs == nil {
		return
	}
	ev := b.entityEvent(EntityBatch)
	st := &EntityBatchStats{EventsReceived: n, OperationsInBatch: b.size, OperationsExecuted: b.size,
		QueuedMessages: len(b.state.Queue), LockedBy: b.state.LockedBy, Suspended: b.state.Suspended}
	if b.state.State != nil {
		st.UserStateSize = len(*b.state.State)
	}
	ev.Batch = st
	observe(b.w.obs, ev)
}
