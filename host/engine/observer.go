package engine

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/funchost/funchost/bindings"

	sp "github.com/funchost/funchost/storageprovider"
)

// The engine reports what happens to orchestrations and activities through
// one small interface, Observer, so that logs, traces and metrics are
// composed outside the engine (package host/telemetry) and every kind of
// durable function — entities too, once they exist — reports the same
// events. docs/observability.md describes the events and how they map to
// Durable Functions' lifecycle logs.

// Observer receives the engine's lifecycle events. Calls are synchronous,
// on the goroutine that processes the work item (or runs the activity), in
// the order the events happen; an Observer must be safe for concurrent use
// across work items, must not block and must not call back into the
// engine. A panicking Observer is contained: the event is dropped.
type Observer interface {
	Lifecycle(ev LifecycleEvent)
}

// FunctionType is the kind of durable function an event is about, named
// as Durable Functions' logs name it.
type FunctionType string

// The function types.
const (
	Orchestrator FunctionType = "Orchestrator"
	Activity     FunctionType = "Activity"
	Entity       FunctionType = "Entity"
)

// LifecycleKind says what happened. The names follow Durable Functions'
// FunctionState values where one exists.
type LifecycleKind int

// The lifecycle kinds.
const (
	// Scheduled: an activity (or sub-orchestration) was called by an
	// orchestrator; Reason is the caller's name. An entity operation that
	// starts an orchestration reports it too: Type Orchestrator, Reason
	// the entity's name, RequesterInstanceID the entity, TaskTrace the new
	// ExecutionStarted's trace context (the create span's pre-allocated
	// id), Trace the operation span's identity (in ID).
	Scheduled LifecycleKind = iota
	// Started: an orchestrator episode begins (IsReplay when history
	// already had events) or an activity starts running.
	Started
	// Awaited: an orchestrator episode ended with work pending.
	Awaited
	// Listening: the orchestrator waits for an external event; Reason is
	// "WaitForExternalEvent:<name>", or for an entity's response
	// "WaitForEntityResponse:<request id>" (a call) or
	// "WaitForLockAcquisitionCompleted:<request id>" (a lock), as Durable
	// Functions words them.
	Listening
	// Completed: an orchestration or activity succeeded (ContinuedAsNew
	// when the orchestration continued as new).
	Completed
	// Failed: an orchestration or activity failed; Failure says why.
	Failed
	// Terminated, Suspended, Resumed, Rewound: the engine applied that
	// request to the execution; Reason is the requester's reason.
	Terminated
	Suspended
	Resumed
	Rewound
	// EventRaised: an external event reached a waiting orchestrator;
	// EventSaved: it was buffered because nobody waited yet. An entity's
	// response to the orchestration (a call's result or a lock grant) is
	// an EventRaised with OperationID the request's ID and no EventName.
	EventRaised
	EventSaved
	// TimerExpired: a durable timer fired (FireAt; ScheduledTime is when
	// it was created, TaskEventID its timer id).
	TimerExpired
	// ResultReceived: the orchestration received the result of an
	// activity or sub-orchestration it called (Type and Name are the
	// callee's; Failure when it failed; ScheduledTime when it was called;
	// TaskTrace the call's trace context). Not a Durable Functions state: the
	// lifecycle logs skip it; traces report the call's Client span.
	ResultReceived
	// EventSent: the orchestration sent an event to another orchestration
	// (EventName; TargetInstanceID the receiver). Not a Durable Functions
	// state: the lifecycle logs skip it; traces report the
	// orchestration_event span. A request to an entity is reported with
	// Type Entity, Name the entity's, Operation, Signal and TaskTrace
	// (the request's trace context, whose span id is pre-allocated for
	// the request's span); lock requests and releases are not reported.
	// An entity operation's signal is an EventSent too, with InstanceID
	// the sending entity, Reason its name and Trace the operation span's
	// identity (in ID), reported once the operation succeeded.
	EventSent
	// LockAcquired, LockReleased: an entity granted its lock to the
	// orchestration RequesterInstanceID (OperationID the lock request's
	// ID) / the holder released it.
	LockAcquired
	LockReleased
	// EntityStateCreated, EntityStateDeleted: an entity operation
	// (Operation, OperationID) created or deleted the entity's state.
	EntityStateCreated
	EntityStateDeleted
	// EntityBatch: an entity work item ended; Batch has its numbers.
	EntityBatch
)

var kindNames = [...]string{"Scheduled", "Started", "Awaited", "Listening", "Completed", "Failed",
	"Terminated", "Suspended", "Resumed", "Rewound", "ExternalEventRaised", "ExternalEventDropped", "TimerExpired", "ResultReceived", "EventSent",
	"LockAcquired", "LockReleased", "EntityStateCreated", "EntityStateDeleted", "EntityBatch"}

// String returns the Durable Functions FunctionState name of the kind
// ("ExternalEventDropped" for EventSaved, as Durable Functions names it).
func (k LifecycleKind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Unknown"
}

// LifecycleEvent is one lifecycle event. Fields that do not apply to the
// kind are zero.
type LifecycleEvent struct {
	Kind LifecycleKind
	Type FunctionType
	// InstanceID is the orchestration instance (for activities: the
	// calling orchestration's), ExecutionID its execution.
	InstanceID  string
	ExecutionID string
	// Name and Version are the function's.
	Name    string
	Version string
	// Hub is the task hub's name.
	Hub string
	// IsReplay reports an event the orchestrator re-lived while replaying
	// committed history.
	IsReplay bool
	// Reason: see the kinds.
	Reason string
	// Input and Output are the JSON payloads (not redacted: redaction is
	// the observer's policy).
	Input  string
	Output string
	// Failure describes a failure.
	Failure *sp.FailureDetails
	// ContinuedAsNew marks a Completed orchestration that continued as
	// new.
	ContinuedAsNew bool
	// TaskEventID is the TaskScheduled event's id for activities, -1
	// otherwise.
	TaskEventID int
	// EventName is the external event's name.
	EventName string
	// TargetInstanceID is the instance a call or an event went to: the
	// sub-orchestration of a ResultReceived, the receiver of EventSent.
	TargetInstanceID string
	// Operation and OperationID are an entity operation's name and
	// request ID (entity events, and EventSent to an entity); Signal
	// marks a one-way operation. An entity operation's Completed or
	// Failed has Trace = the request's trace context, Time = its start
	// and Duration its run time.
	Operation   string
	OperationID string
	Signal      bool
	// RequesterInstanceID and RequesterExecutionID name the orchestration
	// of a lock event.
	RequesterInstanceID  string
	RequesterExecutionID string
	// FireAt is a timer's fire time.
	FireAt time.Time
	// RuntimeStatus is the orchestration's status after the event.
	RuntimeStatus sp.OrchestrationStatus
	// Time is when it happened (the engine clock).
	Time time.Time
	// Duration is how long the activity or the episode ran (Completed,
	// Failed, Awaited, Terminated of orchestrations; activities).
	Duration time.Duration
	// ScheduledTime: see TimerExpired and ResultReceived; for other
	// orchestration events, when the execution was created.
	ScheduledTime time.Time
	// Live marks an orchestrator Started that resumed a live execution
	// (from the session cache, or the work item's next episode) instead of
	// replaying history.
	Live bool
	// InProcess marks an activity run in-process by the orchestration's
	// work item (Options.LocalActivities) rather than from the work-item
	// queue.
	InProcess bool
	// Trace is the distributed-trace context the event belongs to, nil
	// when the instance is not traced: for orchestration events the
	// ExecutionStarted's (the parent and the orchestration span's
	// identity), for an activity run the TaskScheduled's. The
	// observer must not change it.
	Trace *sp.TraceContext
	// TaskTrace is, for ResultReceived of an activity, the call's trace
	// context: its TraceParent holds the span id pre-allocated for the
	// call's Client span. For an entity operation's Completed and Failed
	// it is the operation span's own context, pre-allocated before the
	// operation ran so that what it sends can name it as parent.
	TaskTrace *sp.TraceContext
	// Context is, for an activity's Completed and Failed, the context
	// ActivityObserver.StartActivity returned for the run.
	Context context.Context
	// Batch is an EntityBatch's summary.
	Batch *EntityBatchStats
}

// EntityBatchStats are the numbers of one entity work item, those of
// Durable Functions' per-batch line.
type EntityBatchStats struct {
	// EventsReceived: the work item's messages; OperationsInBatch the
	// operations it took from the queue, OperationsExecuted those it ran
	// (funchost runs every operation it takes).
	EventsReceived, OperationsInBatch, OperationsExecuted int
	// QueuedMessages: requests left waiting in the entity's queue;
	// UserStateSize the length of the state's JSON (0 without state).
	QueuedMessages, UserStateSize int
	// LockedBy is the orchestration holding the lock after the batch;
	// Suspended whether the scheduler left itself suspended.
	LockedBy  string
	Suspended bool
}

// ActivityObserver is an Observer that also wraps each activity run: the
// context StartActivity returns (given the activity's Started event) is
// the one the activity runs with, so that what the observer puts in it —
// a trace span — is the parent of what the activity's code does. The
// activity's Completed or Failed event carries that context back.
type ActivityObserver interface {
	Observer
	StartActivity(ctx context.Context, started LifecycleEvent) context.Context
}

// observe delivers ev to o, containing a panic of the observer.
func observe(o Observer, ev LifecycleEvent) {
	if o == nil {
		return
	}
	defer func() { _ = recover() }()
	o.Lifecycle(ev)
}

// orchEvent is an orchestration event of e, filled with what every such
// event carries.
func (e *execution) orchEvent(k LifecycleKind) LifecycleEvent {
	ev := LifecycleEvent{Kind: k, Type: Orchestrator, InstanceID: e.instanceID, ExecutionID: e.executionID, Name: e.name,
		Hub: e.hub, IsReplay: e.replaying, TaskEventID: -1, RuntimeStatus: sp.StatusRunning, Time: e.now}
	if e.started != nil {
		ev.Version, ev.Trace, ev.ScheduledTime = e.started.Version, e.started.ParentTraceContext, e.started.Timestamp
	}
	return ev
}

// emit reports an orchestration event of e.
func (e *execution) emit(ev LifecycleEvent) { observe(e.obs, ev) }

// emitEpisodeStart reports the start of an episode.
func (e *execution) emitEpisodeStart(replay, live bool) {
	if e.obs == nil || e.started == nil {
		return
	}
	e.episodeStart, e.announced = time.Now(), true
	ev := e.orchEvent(Started)
	ev.IsReplay, ev.Live = replay, live
	ev.Input = e.started.Input
	e.emit(ev)
}

// emitEpisodeEnd reports how an episode ended: awaited, or the outcome.
func (e *execution) emitEpisodeEnd() {
	if e.obs == nil || e.started == nil {
		return
	}
	e.announced = false
	ev := e.orchEvent(Awaited)
	ev.IsReplay = false
	if !e.episodeStart.IsZero() {
		ev.Duration = time.Since(e.episodeStart)
	}
	if e.suspended {
		ev.RuntimeStatus = sp.StatusSuspended
	}
	if e.done {
		ev.RuntimeStatus = e.status
		switch e.status {
		case sp.StatusCompleted, sp.StatusContinuedAsNew:
			ev.Kind, ev.Output = Completed, e.output
			ev.ContinuedAsNew = e.status == sp.StatusContinuedAsNew
		case sp.StatusFailed:
			ev.Kind, ev.Failure, ev.Output = Failed, e.failure, e.output
		case sp.StatusTerminated:
			ev.Kind, ev.Reason = Terminated, terminateReason(e.output)
		}
	}
	e.emit(ev)
}

// emitControl reports a control request (suspend, resume, rewind) applied
// as a new event.
func (e *execution) emitControl(k LifecycleKind, reason string) {
	if e.obs == nil || e.replaying || e.started == nil {
		return
	}
	ev := e.orchEvent(k)
	ev.Reason = reason
	if k == Suspended {
		ev.RuntimeStatus = sp.StatusSuspended
	}
	e.emit(ev)
}

// terminateReason is the plain text of a terminate reason stored as JSON.
func terminateReason(output string) string {
	var reason string
	if err := json.Unmarshal([]byte(output), &reason); err != nil {
		return output
	}
	return reason
}

// runActivity runs one activity call as runActivity does, reporting its
// start and outcome to the observer.
func (w *Worker) runActivity(ctx context.Context, act bindings.Activity, msg *sp.TaskMessage, inProcess bool) *sp.HistoryEvent {
	if w.obs == nil {
		return runActivity(ctx, act, msg, w.clock)
	}
	started := activityEvent(Started, msg, w.hubName, w.clock.now())
	started.InProcess = inProcess
	if ao, ok := w.obs.(ActivityObserver); ok {
		ctx = startActivity(ao, ctx, started)
	}
	observe(w.obs, started)
	start := time.Now()
	res := runActivity(ctx, act, msg, w.clock)
	ev := activityEvent(Completed, msg, w.hubName, res.Timestamp)
	ev.Duration, ev.Context, ev.InProcess = time.Since(start), ctx, inProcess
	if res.EventType == sp.EventTaskFailed {
		ev.Kind, ev.Failure, ev.RuntimeStatus = Failed, res.FailureDetails, sp.StatusFailed
	} else {
		ev.Output, ev.RuntimeStatus = res.Result, sp.StatusCompleted
	}
	observe(w.obs, ev)
	return res
}

// activityEvent is an event of the activity a TaskScheduled message runs.
func activityEvent(k LifecycleKind, msg *sp.TaskMessage, hub string, now time.Time) LifecycleEvent {
	ev := msg.Event
	return LifecycleEvent{Kind: k, Type: Activity, InstanceID: msg.Target.InstanceID, ExecutionID: msg.Target.ExecutionID,
		Name: ev.Name, Version: ev.Version, Hub: hub, TaskEventID: ev.EventID, Input: ev.Input, RuntimeStatus: sp.StatusRunning, Time: now,
		Trace: ev.ParentTraceContext}
}

// startActivity calls StartActivity, keeping ctx when the observer
// panics or returns nil.
func startActivity(ao ActivityObserver, ctx context.Context, started LifecycleEvent) (out context.Context) {
	out = ctx
	defer func() { _ = recover() }()
	if c := ao.StartActivity(ctx, started); c != nil {
		out = c
	}
	return out
}

// emitResult reports the result of a call the orchestration made (not
// while replaying: it was reported when it happened).
func (e *execution) emitResult(a *action, res *sp.HistoryEvent) {
	if e.obs == nil || e.replaying {
		return
	}
	ev := e.orchEvent(ResultReceived)
	ev.Name, ev.Version, ev.TaskEventID = a.name, a.version, a.id
	if a.kind == kindActivity {
		ev.Type = Activity
	} else {
		ev.TargetInstanceID = a.instanceID
	}
	if a.scheduled != nil {
		ev.ScheduledTime, ev.TaskTrace = a.scheduled.Timestamp, a.scheduled.ParentTraceContext
	}
	ev.Failure = res.FailureDetails
	ev.RuntimeStatus = sp.StatusCompleted
	if res.EventType == sp.EventTaskFailed || res.EventType == sp.EventSubOrchestrationInstanceFailed {
		ev.RuntimeStatus = sp.StatusFailed
		if ev.Failure == nil {
			ev.Failure = &sp.FailureDetails{ErrorMessage: res.Reason}
		}
	}
	e.emit(ev)
}

// emitScheduled reports a call the orchestrator made: an activity or a
// sub-orchestration (other decisions are not reported as scheduled).
func (e *execution) emitScheduled(a *action, replay bool) {
	var ev LifecycleEvent
	switch a.kind {
	case kindActivity:
		ev = e.orchEvent(Scheduled)
		ev.Type, ev.TaskEventID = Activity, a.id
	case kindSubOrchestration:
		ev = e.orchEvent(Scheduled)
		ev.InstanceID, ev.ExecutionID = a.instanceID, ""
	case kindSendEvent:
		if replay {
			return
		}
		if isEntityInstance(a.instanceID) {
			e.emitEntityRequest(a)
			return
		}
		ev = e.orchEvent(EventSent)
		ev.EventName, ev.TargetInstanceID, ev.Input = a.name, a.instanceID, a.input
		e.emit(ev)
		return
	default:
		return
	}
	ev.Name, ev.Version, ev.Input, ev.Reason, ev.IsReplay = a.name, a.version, a.input, e.name, replay
	ev.RuntimeStatus = sp.StatusPending
	e.emit(ev)
}

// emitEvent reports an external event that reached the orchestrator.
func (e *execution) emitEvent(k LifecycleKind, name string) {
	if e.obs == nil || e.started == nil {
		return
	}
	ev := e.orchEvent(k)
	if _, ok := e.entityWaits[name]; ok {
		// An entity's response (a call's result, a lock grant) is DF's
		// "received an entity response", whether or not it waited.
		ev.Kind, ev.OperationID = EventRaised, name
	} else {
		ev.EventName = name
	}
	e.emit(ev)
}

// markEntityWait records that the event name (a request ID) is the
// response of an entity request, and reason the prefix of its listening
// line ("WaitForEntityResponse:" for a call,
// "WaitForLockAcquisitionCompleted:" for a lock), as Durable Functions
// words them. Only kept while someone observes.
func (e *execution) markEntityWait(name, reason string) {
	if e.obs == nil {
		return
	}
	if e.entityWaits == nil {
		e.entityWaits = map[string]string{}
	}
	e.entityWaits[name] = reason
}

// listenReason is the Reason of the Listening event of a wait for the
// event name.
func (e *execution) listenReason(name string) string {
	if reason, ok := e.entityWaits[name]; ok {
		return reason + name
	}
	return "WaitForExternalEvent:" + name
}

// isEntityInstance reports an entity's instance ID ("@name@key"): what an
// orchestration sends there is entity traffic, not an orchestration event.
func isEntityInstance(id string) bool { return strings.HasPrefix(id, "@") }
