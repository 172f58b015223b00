package engine

import (
	"encoding/json"
	"time"

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

// emitOperation reports how an operation ended and, on success, whether
// it created or deleted the entity's state (before is the state it
// started from).
func (b *entityBatch) emitOperation(r *entitywire.Request, before *string, start time.Time, fd *entitywire.FailureDetails, result string) {
	if b.w.obs == nil {
		return
	}
	ev := b.entityEvent(Completed)
	ev.Operation, ev.OperationID, ev.Signal, ev.Input, ev.Trace = r.Operation(), r.ID, r.Signal, r.Input, r.ParentTraceContext
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
