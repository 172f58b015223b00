package storageprovider

import "time"

// TickPrecision is the precision of every timestamp the task hub stores:
// one .NET tick (100 ns), the resolution of the DateTime values the Durable
// Task Framework writes to tables and messages.
const TickPrecision = 100 * time.Nanosecond

// Timestamp returns t in UTC truncated to TickPrecision. Every time a
// provider or engine stores (event timestamps, FireAt, status row times)
// goes through it, so that a value read back from storage compares equal
// to the one written.
func Timestamp(t time.Time) time.Time { return t.UTC().Truncate(TickPrecision) }

// Now is Timestamp(time.Now()).
func Now() time.Time { return Timestamp(time.Now()) }

// The constructors below build each kind of history event with the fields
// the Durable Task Framework sets for it. All of them take the event's
// timestamp first and store it through Timestamp. Scheduling events
// (TaskScheduled, TimerCreated, SubOrchestrationInstanceCreated, EventSent,
// ExecutionCompleted, ContinueAsNew) carry the id of the orchestrator
// action that produced them; every other event has EventID -1, as in DTFx.
// Optional fields (Tags, ParentInstance, ScheduledStartTime, Generation,
// ...) are set on the returned event by the caller.

// NewExecutionStartedEvent starts execution instance of the orchestrator
// name; input is JSON text ("" for null).
func NewExecutionStartedEvent(ts time.Time, instance OrchestrationInstance, name, version, input string) *HistoryEvent {
	ev := newEvent(EventExecutionStarted, -1, ts)
	ev.Name, ev.Version, ev.Input = name, version, input
	ev.OrchestrationInstance = &instance
	return ev
}

// NewExecutionCompletedEvent ends an execution with status (Completed,
// Failed or Terminated) and result (JSON text). failure, which the event
// takes over, describes a Failed execution; its message and stack trace
// also fill Reason and Details, the columns DTFx tools read.
func NewExecutionCompletedEvent(ts time.Time, id int, status OrchestrationStatus, result string, failure *FailureDetails) *HistoryEvent {
	ev := newEvent(EventExecutionCompleted, id, ts)
	ev.OrchestrationStatus, ev.Result = status, result
	ev.setFailure(failure)
	return ev
}

// NewExecutionTerminatedEvent asks an instance to terminate; reason is JSON
// text and becomes the instance's output.
func NewExecutionTerminatedEvent(ts time.Time, reason string) *HistoryEvent {
	ev := newEvent(EventExecutionTerminated, -1, ts)
	ev.Input = reason
	return ev
}

// NewExecutionSuspendedEvent pauses an instance; reason is plain text.
func NewExecutionSuspendedEvent(ts time.Time, reason string) *HistoryEvent {
	return newReasonEvent(EventExecutionSuspended, ts, reason)
}

// NewExecutionResumedEvent continues a suspended instance; reason is plain
// text.
func NewExecutionResumedEvent(ts time.Time, reason string) *HistoryEvent {
	return newReasonEvent(EventExecutionResumed, ts, reason)
}

// NewExecutionRewoundEvent asks a failed instance to re-run its failed
// work; reason is plain text.
func NewExecutionRewoundEvent(ts time.Time, reason string) *HistoryEvent {
	return newReasonEvent(EventExecutionRewound, ts, reason)
}

// NewContinueAsNewEvent ends an execution that continues as new; input is
// the next generation's input (JSON text), stored in Result as DTFx does.
func NewContinueAsNewEvent(ts time.Time, id int, input string) *HistoryEvent {
	ev := newEvent(EventContinueAsNew, id, ts)
	ev.OrchestrationStatus, ev.Result = StatusContinuedAsNew, input
	return ev
}

// NewOrchestratorStartedEvent opens an episode; its timestamp is the
// episode's current time for the orchestrator.
func NewOrchestratorStartedEvent(ts time.Time) *HistoryEvent {
	return newEvent(EventOrchestratorStarted, -1, ts)
}

// NewOrchestratorCompletedEvent closes an episode.
func NewOrchestratorCompletedEvent(ts time.Time) *HistoryEvent {
	return newEvent(EventOrchestratorCompleted, -1, ts)
}

// NewTaskScheduledEvent records that action id called activity name with
// input (JSON text).
func NewTaskScheduledEvent(ts time.Time, id int, name, version, input string) *HistoryEvent {
	ev := newEvent(EventTaskScheduled, id, ts)
	ev.Name, ev.Version, ev.Input = name, version, input
	return ev
}

// NewTaskCompletedEvent delivers the result (JSON text) of the activity
// scheduled by action scheduledID.
func NewTaskCompletedEvent(ts time.Time, scheduledID int, result string) *HistoryEvent {
	ev := newEvent(EventTaskCompleted, -1, ts)
	ev.TaskScheduledID, ev.Result = scheduledID, result
	return ev
}

// NewTaskFailedEvent delivers the failure of the activity scheduled by
// action scheduledID; the event takes failure over and copies its message
// and stack trace into Reason and Details.
func NewTaskFailedEvent(ts time.Time, scheduledID int, failure *FailureDetails) *HistoryEvent {
	ev := newEvent(EventTaskFailed, -1, ts)
	ev.TaskScheduledID = scheduledID
	ev.setFailure(failure)
	return ev
}

// NewSubOrchestrationInstanceCreatedEvent records that action id started
// orchestrator name as instance instanceID with input (JSON text).
func NewSubOrchestrationInstanceCreatedEvent(ts time.Time, id int, name, version, instanceID, input string) *HistoryEvent {
	ev := newEvent(EventSubOrchestrationInstanceCreated, id, ts)
	ev.Name, ev.Version, ev.InstanceID, ev.Input = name, version, instanceID, input
	return ev
}

// NewSubOrchestrationInstanceCompletedEvent delivers the output (JSON text)
// of the sub-orchestration started by action scheduledID.
func NewSubOrchestrationInstanceCompletedEvent(ts time.Time, scheduledID int, result string) *HistoryEvent {
	ev := newEvent(EventSubOrchestrationInstanceCompleted, -1, ts)
	ev.TaskScheduledID, ev.Result = scheduledID, result
	return ev
}

// NewSubOrchestrationInstanceFailedEvent delivers the failure of the
// sub-orchestration started by action scheduledID; the event takes failure
// over and copies its message and stack trace into Reason and Details.
func NewSubOrchestrationInstanceFailedEvent(ts time.Time, scheduledID int, failure *FailureDetails) *HistoryEvent {
	ev := newEvent(EventSubOrchestrationInstanceFailed, -1, ts)
	ev.TaskScheduledID = scheduledID
	ev.setFailure(failure)
	return ev
}

// NewTimerCreatedEvent records that action id created a durable timer due
// at fireAt.
func NewTimerCreatedEvent(ts time.Time, id int, fireAt time.Time) *HistoryEvent {
	ev := newEvent(EventTimerCreated, id, ts)
	ev.FireAt = Timestamp(fireAt)
	return ev
}

// NewTimerFiredEvent delivers the timer created by action timerID, due at
// fireAt. Sent as a message, it is not delivered before fireAt.
func NewTimerFiredEvent(ts time.Time, timerID int, fireAt time.Time) *HistoryEvent {
	ev := newEvent(EventTimerFired, -1, ts)
	ev.TimerID, ev.FireAt = timerID, Timestamp(fireAt)
	return ev
}

// NewEventSentEvent records that action id sent the event name with input
// (JSON text) to instance instanceID.
func NewEventSentEvent(ts time.Time, id int, instanceID, name, input string) *HistoryEvent {
	ev := newEvent(EventEventSent, id, ts)
	ev.InstanceID, ev.Name, ev.Input = instanceID, name, input
	return ev
}

// NewEventRaisedEvent delivers the external event name with input (JSON
// text) to an instance.
func NewEventRaisedEvent(ts time.Time, name, input string) *HistoryEvent {
	ev := newEvent(EventEventRaised, -1, ts)
	ev.Name, ev.Input = name, input
	return ev
}

// NewGenericEvent records data (free text) in a history.
func NewGenericEvent(ts time.Time, data string) *HistoryEvent {
	ev := newEvent(EventGenericEvent, -1, ts)
	ev.Data = data
	return ev
}

func newEvent(t EventType, id int, ts time.Time) *HistoryEvent {
	return &HistoryEvent{EventType: t, EventID: id, Timestamp: Timestamp(ts)}
}

func newReasonEvent(t EventType, ts time.Time, reason string) *HistoryEvent {
	ev := newEvent(t, -1, ts)
	ev.Reason = reason
	return ev
}

// setFailure attaches failure (nil for none) and mirrors it in Reason and
// Details.
func (e *HistoryEvent) setFailure(failure *FailureDetails) {
	if failure == nil {
		return
	}
	e.FailureDetails, e.Reason, e.Details = failure, failure.ErrorMessage, failure.StackTrace
}
