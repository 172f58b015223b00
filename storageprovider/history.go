package storageprovider

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// EventType identifies the kind of a HistoryEvent. The numeric values are
// those of the Durable Task Framework's EventType enum: they appear in queue
// messages and must never be reordered. Tables store the name instead.
type EventType int

// History event types, numbered exactly as in the Durable Task Framework.
const (
	EventExecutionStarted                  EventType = 0
	EventExecutionCompleted                EventType = 1
	EventExecutionFailed                   EventType = 2 // obsolete; never written
	EventExecutionTerminated               EventType = 3
	EventTaskScheduled                     EventType = 4
	EventTaskCompleted                     EventType = 5
	EventTaskFailed                        EventType = 6
	EventSubOrchestrationInstanceCreated   EventType = 7
	EventSubOrchestrationInstanceCompleted EventType = 8
	EventSubOrchestrationInstanceFailed    EventType = 9
	EventTimerCreated                      EventType = 10
	EventTimerFired                        EventType = 11
	EventOrchestratorStarted               EventType = 12
	EventOrchestratorCompleted             EventType = 13
	EventEventSent                         EventType = 14
	EventEventRaised                       EventType = 15
	EventContinueAsNew                     EventType = 16
	EventGenericEvent                      EventType = 17
	EventHistoryState                      EventType = 18
	EventExecutionSuspended                EventType = 19
	EventExecutionResumed                  EventType = 20
	EventExecutionRewound                  EventType = 21
)

var eventTypeNames = [...]string{
	"ExecutionStarted", "ExecutionCompleted", "ExecutionFailed", "ExecutionTerminated",
	"TaskScheduled", "TaskCompleted", "TaskFailed", "SubOrchestrationInstanceCreated",
	"SubOrchestrationInstanceCompleted", "SubOrchestrationInstanceFailed", "TimerCreated",
	"TimerFired", "OrchestratorStarted", "OrchestratorCompleted", "EventSent", "EventRaised",
	"ContinueAsNew", "GenericEvent", "HistoryState", "ExecutionSuspended", "ExecutionResumed",
	"ExecutionRewound",
}

// String returns the Durable Task Framework name of the event type, as stored
// in the EventType column of the History table.
func (t EventType) String() string {
	if t >= 0 && int(t) < len(eventTypeNames) {
		return eventTypeNames[t]
	}
	return fmt.Sprintf("EventType(%d)", int(t))
}

// ParseEventType converts a DTFx event type name (case-insensitive) back to
// its EventType.
func ParseEventType(name string) (EventType, error) {
	for i, n := range eventTypeNames {
		if strings.EqualFold(n, name) {
			return EventType(i), nil
		}
	}
	return 0, fmt.Errorf("storageprovider: unknown history event type %q", name)
}

// OrchestrationStatus is the runtime status of an orchestration instance,
// numbered as the Durable Task Framework's OrchestrationStatus enum.
type OrchestrationStatus int

// Orchestration runtime statuses.
const (
	StatusRunning        OrchestrationStatus = 0
	StatusCompleted      OrchestrationStatus = 1
	StatusContinuedAsNew OrchestrationStatus = 2
	StatusFailed         OrchestrationStatus = 3
	StatusCanceled       OrchestrationStatus = 4
	StatusTerminated     OrchestrationStatus = 5
	StatusPending        OrchestrationStatus = 6
	StatusSuspended      OrchestrationStatus = 7
)

var statusNames = [...]string{
	"Running", "Completed", "ContinuedAsNew", "Failed", "Canceled", "Terminated", "Pending", "Suspended",
}

// String returns the status name used in tables and in the HTTP API.
func (s OrchestrationStatus) String() string {
	if s >= 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "Unknown"
}

// ParseOrchestrationStatus parses a status name. Names are matched exactly
// (the HTTP API treats `running` as invalid, as Durable Functions does);
// decimal enum values are accepted too.
func ParseOrchestrationStatus(name string) (OrchestrationStatus, error) {
	for i, n := range statusNames {
		if n == name {
			return OrchestrationStatus(i), nil
		}
	}
	var v int
	if _, err := fmt.Sscanf(name, "%d", &v); err == nil && v >= 0 && v < len(statusNames) && fmt.Sprint(v) == name {
		return OrchestrationStatus(v), nil
	}
	return 0, fmt.Errorf("storageprovider: unknown orchestration status %q", name)
}

// IsTerminal reports whether the status is final: Completed, Failed,
// Terminated or Canceled. An instance ID in a terminal status may be reused.
func (s OrchestrationStatus) IsTerminal() bool {
	switch s {
	case StatusCompleted, StatusFailed, StatusTerminated, StatusCanceled:
		return true
	}
	return false
}

// OrchestrationInstance names one execution of an orchestration. An empty
// ExecutionID in a message target means "whatever execution is current".
type OrchestrationInstance struct {
	InstanceID  string `json:"InstanceId"`
	ExecutionID string `json:"ExecutionId"`
}

// ParentInstance describes the orchestration that started a sub-orchestration.
type ParentInstance struct {
	Name                  string                 `json:"Name"`
	Version               string                 `json:"Version,omitempty"`
	OrchestrationInstance *OrchestrationInstance `json:"OrchestrationInstance"`
	TaskScheduleID        int                    `json:"TaskScheduleId"`
}

// FailureDetails describes an error raised by an activity, a sub-orchestration
// or an orchestrator, as in the Durable Task Framework.
type FailureDetails struct {
	ErrorType      string          `json:"ErrorType"`
	ErrorMessage   string          `json:"ErrorMessage"`
	StackTrace     string          `json:"StackTrace,omitempty"`
	InnerFailure   *FailureDetails `json:"InnerFailure,omitempty"`
	IsNonRetriable bool            `json:"IsNonRetriable,omitempty"`
}

// HistoryEvent is one entry of an orchestration's event-sourced history.
//
// It is a flat union of the Durable Task Framework's HistoryEvent subclasses:
// which fields are meaningful depends on EventType (the constructors in
// events.go set exactly those; docs/storage-layout.md, "History table",
// lists them per type). Field and JSON names follow
// DTFx so that stored histories stay readable by DTFx tools. Payload fields
// (Input, Result) hold JSON text; the empty string means "no value" (null).
type HistoryEvent struct {
	EventType EventType `json:"EventType"`
	// EventID is the action id for scheduling events (TaskScheduled,
	// TimerCreated, SubOrchestrationInstanceCreated, EventSent,
	// ExecutionCompleted, ContinueAsNew) and -1 otherwise.
	EventID   int       `json:"EventId"`
	IsPlayed  bool      `json:"IsPlayed,omitempty"`
	Timestamp time.Time `json:"Timestamp"`

	// Name is the orchestrator, activity, sub-orchestration or event name.
	Name    string `json:"Name,omitempty"`
	Version string `json:"Version,omitempty"`
	// Input is the JSON input (ExecutionStarted, TaskScheduled,
	// SubOrchestrationInstanceCreated, EventRaised, EventSent) or the
	// termination reason (ExecutionTerminated, plain text).
	Input string `json:"Input,omitempty"`
	// Result is the JSON output of a completed task, sub-orchestration or
	// execution (for ContinueAsNew: the next generation's input).
	Result string `json:"Result,omitempty"`
	// Reason and Details describe failures, suspend/resume and rewind.
	Reason         string          `json:"Reason,omitempty"`
	Details        string          `json:"Details,omitempty"`
	FailureDetails *FailureDetails `json:"FailureDetails,omitempty"`

	// ExecutionStarted fields.
	OrchestrationInstance *OrchestrationInstance `json:"OrchestrationInstance,omitempty"`
	ParentInstance        *ParentInstance        `json:"ParentInstance,omitempty"`
	Tags                  map[string]string      `json:"Tags,omitempty"`
	ScheduledStartTime    *time.Time             `json:"ScheduledStartTime,omitempty"`
	Generation            int                    `json:"Generation,omitempty"`

	// ExecutionCompleted / ContinueAsNew.
	OrchestrationStatus OrchestrationStatus `json:"OrchestrationStatus,omitempty"`

	// TaskCompleted, TaskFailed, SubOrchestrationInstanceCompleted/Failed:
	// the EventID of the scheduling event this completes.
	TaskScheduledID int `json:"TaskScheduledId,omitempty"`

	// SubOrchestrationInstanceCreated and EventSent: the target instance.
	InstanceID string `json:"InstanceId,omitempty"`

	// TimerCreated / TimerFired.
	FireAt  time.Time `json:"FireAt,omitzero"`
	TimerID int       `json:"TimerId,omitempty"`

	// GenericEvent.
	Data string `json:"Data,omitempty"`

	// ParentTraceContext is the W3C trace context of distributed tracing
	// (ExecutionStarted, TaskScheduled), persisted with history and
	// messages as DTFx persists it, so that traces survive replays and
	// hosts (docs/observability.md).
	ParentTraceContext *TraceContext `json:"ParentTraceContext,omitempty"`
}

// TraceContext is DTFx's DistributedTraceContext: the parent to use and,
// on ExecutionStarted, the orchestration span's own identity once its
// first episode ran.
type TraceContext struct {
	// TraceParent is the parent's W3C traceparent
	// ("00-{trace id}-{span id}-{flags}"); TraceState its tracestate.
	TraceParent string `json:"TraceParent"`
	TraceState  string `json:"TraceState,omitempty"`
	// ID is the orchestration span's traceparent, SpanID its span id and
	// ActivityStartTime when its first episode began (ExecutionStarted
	// only).
	ID                string     `json:"Id,omitempty"`
	SpanID            string     `json:"SpanId,omitempty"`
	ActivityStartTime *time.Time `json:"ActivityStartTime,omitempty"`
}

// Clone returns a copy of tc (nil for nil).
func (tc *TraceContext) Clone() *TraceContext {
	if tc == nil {
		return nil
	}
	c := *tc
	if tc.ActivityStartTime != nil {
		t := *tc.ActivityStartTime
		c.ActivityStartTime = &t
	}
	return &c
}

// Clone returns a deep copy of the event.
func (e *HistoryEvent) Clone() *HistoryEvent {
	if e == nil {
		return nil
	}
	c := *e
	if e.FailureDetails != nil {
		c.FailureDetails = e.FailureDetails.clone()
	}
	if e.OrchestrationInstance != nil {
		oi := *e.OrchestrationInstance
		c.OrchestrationInstance = &oi
	}
	if e.ParentInstance != nil {
		pi := *e.ParentInstance
		if pi.OrchestrationInstance != nil {
			oi := *pi.OrchestrationInstance
			pi.OrchestrationInstance = &oi
		}
		c.ParentInstance = &pi
	}
	if e.Tags != nil {
		c.Tags = make(map[string]string, len(e.Tags))
		for k, v := range e.Tags {
			c.Tags[k] = v
		}
	}
	if e.ScheduledStartTime != nil {
		t := *e.ScheduledStartTime
		c.ScheduledStartTime = &t
	}
	c.ParentTraceContext = e.ParentTraceContext.Clone()
	return &c
}

func (f *FailureDetails) clone() *FailureDetails {
	if f == nil {
		return nil
	}
	c := *f
	c.InnerFailure = f.InnerFailure.clone()
	return &c
}

// String renders the event briefly, for logs and error messages.
func (e *HistoryEvent) String() string {
	switch e.EventType {
	case EventTaskScheduled, EventSubOrchestrationInstanceCreated, EventEventRaised:
		return fmt.Sprintf("%s(%d, %q)", e.EventType, e.EventID, e.Name)
	case EventEventSent:
		return fmt.Sprintf("%s(%d, %q to %q)", e.EventType, e.EventID, e.Name, e.InstanceID)
	case EventTimerCreated:
		return fmt.Sprintf("%s(%d, fireAt=%s)", e.EventType, e.EventID, e.FireAt.UTC().Format(time.RFC3339Nano))
	}
	return fmt.Sprintf("%s(%d)", e.EventType, e.EventID)
}

// MarshalJSONEvents is a helper for tests and tools: it renders events as a
// JSON array.
func MarshalJSONEvents(events []*HistoryEvent) ([]byte, error) { return json.Marshal(events) }

// TaskMessage is a message on its way to an orchestration instance (a
// control-queue message) or to an activity (a work-item message).
type TaskMessage struct {
	// Event is the history event the message delivers.
	Event *HistoryEvent `json:"Event"`
	// Target is the orchestration the message is for; for a TaskScheduled
	// message, the orchestration that scheduled the activity.
	Target OrchestrationInstance `json:"OrchestrationInstance"`
	// SequenceNumber orders messages sent by one process; providers may use
	// it as a tie-breaker.
	SequenceNumber int64 `json:"SequenceNumber,omitempty"`
}

// Clone returns a deep copy of the message.
func (m *TaskMessage) Clone() *TaskMessage {
	if m == nil {
		return nil
	}
	c := *m
	c.Event = m.Event.Clone()
	return &c
}
