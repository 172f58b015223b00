package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/internal/entitywire"
	sp "github.com/funchost/funchost/storageprovider"
)

// DefaultMaxEntityOperationBatchSize is how many operations one entity
// work item runs when Options.MaxEntityOperationBatchSize is 0 (Durable
// Functions' default outside the Consumption plan).
const DefaultMaxEntityOperationBatchSize = 5000

// earlyTolerance is how early a scheduled signal may arrive and still run.
const earlyTolerance = 100 * time.Millisecond

// processEntity runs and commits one entity work item: the batch of the
// operations its messages (and its queue) allow, committed as one new
// execution whose input is the scheduler state (docs/entities.md).
func (w *Worker) processEntity(ctx context.Context, wi *sp.OrchestrationWorkItem) {
	cp, err := w.safeEntity(wi)
	if err != nil {
		w.log.Error("entity work item failed; abandoning it", "instanceId", wi.InstanceID, "error", err)
		w.abandonOrchestration(ctx, wi)
		return
	}
	if err := w.hub.CompleteOrchestrationWorkItem(ctx, wi, cp); err != nil {
		if errors.Is(err, sp.ErrWorkItemLost) {
			w.log.Info("entity work item lost", "instanceId", wi.InstanceID)
			return
		}
		w.log.Error("committing an entity work item failed", "instanceId", wi.InstanceID, "error", err)
		w.abandonOrchestration(ctx, wi)
	}
}

// safeEntity builds the checkpoint, turning an engine panic into an error.
func (w *Worker) safeEntity(wi *sp.OrchestrationWorkItem) (cp *sp.OrchestrationCheckpoint, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("engine panic processing entity %s: %v", wi.InstanceID, r)
		}
	}()
	b, err := w.newEntityBatch(wi)
	if err != nil {
		return nil, err
	}
	return b.run(wi.NewMessages), nil
}

// entityBatch is one entity work item in progress.
type entityBatch struct {
	w              *Worker
	instanceID     string
	id             entitywire.ID
	fn             bindings.Entity
	isOrchestrator func(string) bool
	now            time.Time
	state          *entitywire.SchedulerState
	recent         *recentIDs
	size           int
	changed        bool
	out            []*sp.TaskMessage
}

func (w *Worker) newEntityBatch(wi *sp.OrchestrationWorkItem) (*entityBatch, error) {
	id, err := entitywire.Parse(wi.InstanceID)
	if err != nil {
		return nil, err
	}
	var input string
	for _, ev := range wi.History {
		if ev.EventType == sp.EventExecutionStarted {
			input = ev.Input
		}
	}
	st, err := entitywire.DecodeState(input)
	if err != nil {
		return nil, fmt.Errorf("entity %s: %w", wi.InstanceID, err)
	}
	fn, _ := lookupFold(w.reg.Entities, id.Name)
	b := &entityBatch{w: w, instanceID: wi.InstanceID, id: id, fn: fn, now: w.clock.now(), state: st,
		recent: parseRecent(st.Recent)}
	b.isOrchestrator = func(name string) bool { _, ok := lookupFold(w.reg.Orchestrators, name); return ok }
	return b, nil
}

// run applies the messages, runs the batch and renders the checkpoint.
func (b *entityBatch) run(msgs []*sp.TaskMessage) *sp.OrchestrationCheckpoint {
	defer b.emitBatch(len(msgs))
	b.triage(msgs)
	batch, lock, more := b.take()
	b.size = len(batch)
	if len(batch) > 0 || lock != nil {
		b.changed = true
	}
	for i, r := range batch {
		b.runOperation(r, i)
	}
	if lock != nil {
		b.grant(lock)
	}
	if more {
		b.out = append(b.out, &sp.TaskMessage{Target: sp.OrchestrationInstance{InstanceID: b.instanceID},
			Event: sp.NewEventRaisedEvent(b.now, entitywire.EventContinue, "")})
	}
	cp := &sp.OrchestrationCheckpoint{OutboundMessages: b.out}
	if !b.changed {
		return cp
	}
	b.state.Recent = b.recent.String()
	input := b.state.Encode()
	inst := sp.OrchestrationInstance{InstanceID: b.instanceID, ExecutionID: newExecutionID()}
	cp.NewEvents = []*sp.HistoryEvent{
		sp.NewOrchestratorStartedEvent(b.now),
		sp.NewExecutionStartedEvent(b.now, inst, b.instanceID, "", input),
		sp.NewOrchestratorCompletedEvent(b.now),
	}
	cp.ReplaceHistory = true
	cp.State = &sp.OrchestrationState{InstanceID: b.instanceID, ExecutionID: inst.ExecutionID, Name: b.instanceID,
		RuntimeStatus: sp.StatusRunning, CreatedTime: b.now, LastUpdatedTime: b.now, Input: input,
		CustomStatus: entitywire.StatusOf(b.state)}
	return cp
}

// triage sorts the new messages into the queue: requests (the lock
// holder's to the front, duplicates dropped, early scheduled ones sent
// back to wait), releases and continues.
func (b *entityBatch) triage(msgs []*sp.TaskMessage) {
	var holder []*entitywire.Request
	for _, m := range msgs {
		ev := m.Event
		if ev == nil || ev.EventType != sp.EventEventRaised {
			continue
		}
		switch {
		case entitywire.IsRequestEvent(ev.Name):
			r := &entitywire.Request{}
			if err := json.Unmarshal([]byte(ev.Input), r); err != nil || r.ID == "" {
				b.w.log.Warn("dropping a malformed entity request", "instanceId", b.instanceID, "error", err)
				continue
			}
			if r.Due != nil && r.Due.After(b.now.Add(earlyTolerance)) {
				b.out = append(b.out, requestMessage(b.now, b.instanceID, r))
				continue
			}
			if !b.recent.add(r.ID) {
				continue // delivered twice
			}
			if r.ParentTraceContext == nil {
				r.ParentTraceContext = ev.ParentTraceContext // a client's signal
			}
			b.changed = true
			if b.state.LockedBy != "" && r.Parent == b.state.LockedBy {
				holder = append(holder, r)
			} else {
				b.state.Queue = append(b.state.Queue, r)
			}
		case ev.Name == entitywire.EventRelease:
			var rel entitywire.Release
			if err := json.Unmarshal([]byte(ev.Input), &rel); err == nil && rel.Parent != "" && rel.Parent == b.state.LockedBy {
				b.state.LockedBy = ""
				b.changed = true
				b.emitLock(LockReleased, rel.ID, rel.Parent, "")
			}
		default:
			b.state.Suspended = false
		}
	}
	if len(holder) > 0 {
		b.state.Queue = append(holder, b.state.Queue...)
	}
}

// take dequeues the operations that may run now: while the queue's head
// is not blocked by another holder's lock, up to the batch size; a lock
// request ends the batch. more reports that runnable work is left.
func (b *entityBatch) take() (batch []*entitywire.Request, lock *entitywire.Request, more bool) {
	max := b.w.opts.MaxEntityOperationBatchSize
	if max <= 0 {
		max = DefaultMaxEntityOperationBatchSize
	}
	for len(b.state.Queue) > 0 {
		head := b.state.Queue[0]
		if b.state.LockedBy != "" && head.Parent != b.state.LockedBy {
			break
		}
		if len(batch) >= max {
			more = true
			break
		}
		b.state.Queue = b.state.Queue[1:]
		if head.IsLock() {
			lock = head
			break
		}
		batch = append(batch, head)
	}
	if len(b.state.Queue) == 0 {
		b.state.Queue = nil
	}
	return batch, lock, more
}

// runOperation runs one operation. A failure (error or panic) restores
// the state the operation started from and drops what it sent; callers get
// the result or the error.
func (b *entityBatch) runOperation(r *entitywire.Request, pos int) {
	before := b.state.State
	c := &entityContext{Context: b.w.entityCtx(), b: b, req: r, pos: pos, trace: operationTrace(r)}
	start := time.Now()
	fd := b.invoke(c)
	if fd != nil {
		b.state.State = before
		b.w.log.Warn("entity operation failed", "instanceId", b.instanceID, "operation", r.Operation(), "error", fd.ErrorMessage)
	} else {
		b.out = append(b.out, c.sends...)
		b.emitSent(c.sent)
	}
	b.emitOperation(r, before, start, fd, c.result, c.trace)
	if r.Signal || r.Parent == "" {
		return
	}
	resp := &entitywire.Response{}
	if fd != nil {
		msg := fd.ErrorMessage
		resp.Result, resp.ExceptionType, resp.FailureDetails = &msg, fd.ErrorType, fd
	} else if c.result != "" {
		resp.Result = &c.result
	}
	b.respond(r, entitywire.Marshal(resp))
}

// invoke calls the entity function and returns the failure, if any.
func (b *entityBatch) invoke(c *entityContext) (fd *entitywire.FailureDetails) {
	if b.fn == nil {
		return &entitywire.FailureDetails{ErrorType: "EntityNotFound", ErrorMessage: fmt.Sprintf(
			"The function '%s' doesn't exist, is disabled, or is not an entity function.", b.id.Name)}
	}
	defer func() {
		if p := recover(); p != nil {
			fd = &entitywire.FailureDetails{ErrorType: "panic", ErrorMessage: fmt.Sprintf(
				"entity '%s' panicked in operation '%s': %v", b.id.Name, c.Operation(), p), StackTrace: string(debug.Stack())}
		}
	}()
	err := b.fn(c)
	if err == nil {
		err = c.resultOK
	}
	if err != nil {
		return &entitywire.FailureDetails{ErrorType: fmt.Sprintf("%T", err), ErrorMessage: err.Error()}
	}
	return nil
}

// respond sends a response event to the request's orchestration.
func (b *entityBatch) respond(r *entitywire.Request, input string) {
	b.out = append(b.out, &sp.TaskMessage{
		Target: sp.OrchestrationInstance{InstanceID: r.Parent, ExecutionID: r.ParentExecution},
		Event:  sp.NewEventRaisedEvent(b.now, r.ID, input)})
}

// grant takes the lock for the request's orchestration and passes the
// request on to the next entity of the lock set, or answers the
// orchestration when this is the last one.
func (b *entityBatch) grant(lock *entitywire.Request) {
	b.state.LockedBy = lock.Parent
	b.changed = true
	b.emitLock(LockAcquired, lock.ID, lock.Parent, lock.ParentExecution)
	next := *lock
	next.Pos++
	if next.Pos < len(next.LockSet) {
		b.out = append(b.out, requestMessage(b.now, next.LockSet[next.Pos].InstanceID(), &next))
		return
	}
	granted := entitywire.LockGranted
	b.respond(lock, entitywire.Marshal(&entitywire.Response{Result: &granted}))
}

// entityCtx is the context entity operations run under: cancelled when
// the worker shuts down.
func (w *Worker) entityCtx() context.Context {
	if w.actCtx != nil {
		return w.actCtx
	}
	return context.Background()
}
