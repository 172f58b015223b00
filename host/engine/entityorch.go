package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/internal/entitywire"
	"github.com/funchost/funchost/internal/options"
	"github.com/funchost/funchost/internal/payload"
)

// The orchestration side of entities: calls, signals and critical
// sections. Each message to an entity is a SendEvent action (EventSent in
// history), and each answer an external event named by the request ID, so
// replay and non-determinism checks cover them like any other decision.

// Misuse texts of critical sections, as Durable Functions words them.
var (
	errNestedLock       = errors.New("Must not enter another critical section from within a critical section.")
	errLockNotGranted   = errors.New("Must await the completion of the lock request prior to calling any entity.")
	errCallNotLocked    = errors.New("While holding locks, cannot call entities whose lock is not held.")
	errCallPending      = errors.New("Must not call an entity from a critical section while a prior call to the same entity is still pending.")
	errSignalLocked     = errors.New("While holding locks, cannot signal entities whose lock is held.")
	errLockedSubOrch    = errors.New("While holding locks, cannot call suborchestrators.")
	errEmptyLockSet     = errors.New("LockEntities needs at least one entity")
	errUnlockNotGranted = errors.New("UnlockEntities: the lock request has not completed; await LockEntities' task first")
)

// criticalSection is the lock an orchestration holds (or is acquiring).
type criticalSection struct {
	id      string // the lock request's ID
	ids     []entitywire.ID
	granted bool
	pending map[string]bool // entity instance IDs with a call in flight
}

func (cs *criticalSection) holds(instanceID string) bool {
	return slices.ContainsFunc(cs.ids, func(id entitywire.ID) bool { return id.InstanceID() == instanceID })
}

// sendRequest sends a request to an entity as a SendEvent action and
// returns the action.
func (c *orchestrationContext) sendRequest(target string, r *entitywire.Request) *action {
	var due = r.Due
	name := entitywire.EventOp
	if due != nil {
		name = entitywire.EventName(due.Time)
	}
	if !r.IsLock() {
		r.ParentTraceContext = c.e.requestTrace()
	}
	return c.e.schedule(&action{kind: kindSendEvent, name: name, instanceID: target, input: entitywire.Marshal(r), requestID: r.ID})
}

// CallEntity runs an operation on an entity and completes with its result;
// an operation that fails fails the task with an *EntityOperationError.
func (c *orchestrationContext) CallEntity(id bindings.EntityID, operation string, input any) bindings.Task {
	e := c.e
	if err := e.enter("CallEntity"); err != nil {
		return e.failedTask(err)
	}
	target := id.String()
	if err := bindings.ValidateEntityID(id); err != nil {
		return e.failedTask(fmt.Errorf("CallEntity %s %q: %w", target, operation, err))
	}
	cs := c.locks
	if cs != nil {
		var err error
		switch {
		case !cs.granted:
			err = errLockNotGranted
		case !cs.holds(target):
			err = errCallNotLocked
		case cs.pending[target]:
			err = errCallPending
		}
		if err != nil {
			return e.failedTask(fmt.Errorf("CallEntity %s %q: %w", target, operation, err))
		}
	}
	in, err := payload.Marshal(input)
	if err != nil {
		return e.failedTask(fmt.Errorf("CallEntity %s %q: serialising the input: %w", target, operation, err))
	}
	if err := e.countAction(); err != nil {
		return e.failedTask(fmt.Errorf("CallEntity %s %q: %w", target, operation, err))
	}
	guid := e.requestID()
	sent := c.sendRequest(target, &entitywire.Request{Op: &operation, Input: in, ID: guid, Parent: e.instanceID,
		ParentExecution: e.executionID, Timestamp: entitywire.Time{Time: e.now}})
	e.markEntityWait(guid, "WaitForEntityResponse:")
	wait := c.WaitForExternalEvent(guid).(*task)
	sent.onAdopt = func(recorded string) { e.rekeyWaiter(guid, recorded, wait) }
	if cs != nil {
		cs.pending[target] = true
	}
	out := e.newTask()
	wait.then(func() {
		if cs != nil {
			delete(cs.pending, target)
		}
		out.complete(entityResult(id, operation, wait))
	})
	return out
}

// entityResult turns a response event into a task outcome.
func entityResult(id bindings.EntityID, operation string, wait *task) (string, error) {
	if wait.err != nil {
		return "", wait.err
	}
	var r entitywire.Response
	if err := json.Unmarshal([]byte(wait.result), &r); err != nil {
		return "", fmt.Errorf("CallEntity %s %q: bad response %q: %w", id, operation, wait.result, err)
	}
	if r.IsError() {
		oe := &bindings.EntityOperationError{Entity: id, Operation: operation, ErrorType: r.ExceptionType}
		if r.Result != nil {
			oe.Message = *r.Result
		}
		if fd := r.FailureDetails; fd != nil {
			oe.ErrorType, oe.Message = fd.ErrorType, fd.ErrorMessage
		}
		return "", oe
	}
	if r.Result == nil {
		return "", nil
	}
	return *r.Result, nil
}

// SignalEntity sends a one-way operation to an entity. Misuse (a bad ID,
// an input that does not serialise, signalling an entity this
// orchestration holds locked) fails the orchestration.
func (c *orchestrationContext) SignalEntity(id bindings.EntityID, operation string, input any, opts ...bindings.Option) {
	e := c.e
	if e.enter("SignalEntity") != nil {
		return
	}
	target := id.String()
	so, err := options.Fold("SignalEntity", options.ForSignal, opts)
	if err == nil {
		err = bindings.ValidateEntityID(id)
	}
	if err == nil && c.locks != nil && c.locks.holds(target) {
		err = errSignalLocked
	}
	in, merr := payload.Marshal(input)
	if err == nil && merr != nil {
		err = fmt.Errorf("serialising the input: %w", merr)
	}
	if err != nil {
		e.misused(fmt.Errorf("SignalEntity %s %q: %w", target, operation, err))
		return
	}
	if e.countAction() != nil {
		return
	}
	r := &entitywire.Request{Op: &operation, Signal: true, Input: in, ID: e.requestID(), Parent: e.instanceID,
		ParentExecution: e.executionID, Timestamp: entitywire.Time{Time: e.now}}
	if !so.ScheduledTime.IsZero() {
		r.Due = &entitywire.Time{Time: so.ScheduledTime.UTC()}
	}
	c.sendRequest(target, r)
}

// LockEntities starts a critical section: it asks for the locks of the
// entities in entity-ID order (so that two orchestrations locking the same
// entities cannot deadlock) and completes when all are held.
func (c *orchestrationContext) LockEntities(ids ...bindings.EntityID) bindings.Task {
	e := c.e
	if err := e.enter("LockEntities"); err != nil {
		return e.failedTask(err)
	}
	if c.locks != nil {
		return e.failedTask(fmt.Errorf("LockEntities: %w", errNestedLock))
	}
	if len(ids) == 0 {
		return e.failedTask(errEmptyLockSet)
	}
	set := make([]entitywire.ID, 0, len(ids))
	for _, id := range ids {
		if err := bindings.ValidateEntityID(id); err != nil {
			return e.failedTask(fmt.Errorf("LockEntities: %w", err))
		}
		n := bindings.NewEntityID(id.Name, id.Key)
		set = append(set, entitywire.ID{Name: n.Name, Key: n.Key})
	}
	slices.SortFunc(set, func(a, b entitywire.ID) int {
		return strings.Compare(a.InstanceID(), b.InstanceID())
	})
	set = slices.Compact(set)
	if err := e.countAction(); err != nil {
		return e.failedTask(fmt.Errorf("LockEntities: %w", err))
	}
	guid := e.requestID()
	cs := &criticalSection{id: guid, ids: set, pending: map[string]bool{}}
	c.locks = cs
	sent := c.sendRequest(set[0].InstanceID(), &entitywire.Request{ID: guid, Parent: e.instanceID, ParentExecution: e.executionID,
		Timestamp: entitywire.Time{Time: e.now}, LockSet: set})
	e.markEntityWait(guid, "WaitForLockAcquisitionCompleted:")
	wait := c.WaitForExternalEvent(guid).(*task)
	sent.onAdopt = func(recorded string) {
		e.rekeyWaiter(guid, recorded, wait)
		cs.id = recorded
	}
	out := e.newTask()
	wait.then(func() {
		cs.granted = wait.err == nil
		out.complete("", wait.err)
	})
	return out
}

// UnlockEntities ends the critical section: a release to every locked
// entity. Without a critical section it does nothing.
func (c *orchestrationContext) UnlockEntities() {
	if c.e.enter("UnlockEntities") != nil || c.locks == nil {
		return
	}
	if !c.locks.granted {
		c.e.misused(errUnlockNotGranted)
		return
	}
	c.releaseLocks()
}

// releaseLocks sends the releases of the critical section, if any; the
// engine calls it when the orchestrator returns (completion, failure,
// ContinueAsNew) so locks never outlive their holder's execution.
func (c *orchestrationContext) releaseLocks() {
	cs := c.locks
	if cs == nil {
		return
	}
	c.locks = nil
	rel := entitywire.Marshal(&entitywire.Release{Parent: c.e.instanceID, ID: cs.id})
	for _, id := range cs.ids {
		c.e.schedule(&action{kind: kindSendEvent, name: entitywire.EventRelease, instanceID: id.InstanceID(), input: rel})
	}
}

// IsLocked reports whether the orchestration is in a critical section and
// which locked entities are available (no call to them in flight).
func (c *orchestrationContext) IsLocked() (bool, []bindings.EntityID) {
	if c.e.enter("IsLocked") != nil {
		return false, nil
	}
	cs := c.locks
	if cs == nil || !cs.granted {
		return false, nil
	}
	var out []bindings.EntityID
	for _, id := range cs.ids {
		if !cs.pending[id.InstanceID()] {
			out = append(out, bindings.EntityID{Name: id.Name, Key: id.Key})
		}
	}
	return true, out
}
