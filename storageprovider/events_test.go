package storageprovider

import (
	"reflect"
	"testing"
	"time"
)

func TestTimestamp(t *testing.T) {
	tokyo := time.FixedZone("JST", 9*3600)
	tests := []struct {
		in, want time.Time
	}{
		{time.Date(2024, 1, 2, 3, 4, 5, 123456789, time.UTC), time.Date(2024, 1, 2, 3, 4, 5, 123456700, time.UTC)},
		{time.Date(2024, 1, 2, 12, 0, 0, 199, tokyo), time.Date(2024, 1, 2, 3, 0, 0, 100, time.UTC)},
		{time.Date(2024, 1, 2, 3, 4, 5, 100, time.UTC), time.Date(2024, 1, 2, 3, 4, 5, 100, time.UTC)},
	}
	for _, tt := range tests {
		got := Timestamp(tt.in)
		if !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("Timestamp(%v) = %v, want %v in UTC", tt.in, got, tt.want)
		}
	}
	if n := Now(); n.Location() != time.UTC || n.Nanosecond()%100 != 0 {
		t.Errorf("Now() = %v, want UTC at 100 ns precision", n)
	}
}

// TestEventConstructors checks every constructor against the event DTFx
// writes for it, and that the timestamp goes through Timestamp.
func TestEventConstructors(t *testing.T) {
	raw := time.Date(2024, 5, 6, 7, 8, 9, 987654321, time.FixedZone("X", 3600))
	ts := time.Date(2024, 5, 6, 6, 8, 9, 987654300, time.UTC)
	fire, fireRaw := ts.Add(time.Hour), raw.Add(time.Hour)
	inst := OrchestrationInstance{InstanceID: "i", ExecutionID: "e"}
	fd := func() *FailureDetails {
		return &FailureDetails{ErrorType: "E", ErrorMessage: "boom", StackTrace: "at f()"}
	}
	failed := func(t EventType, id int) *HistoryEvent {
		return &HistoryEvent{EventType: t, EventID: -1, Timestamp: ts, TaskScheduledID: id,
			Reason: "boom", Details: "at f()", FailureDetails: fd()}
	}
	tests := []struct {
		got, want *HistoryEvent
	}{
		{NewExecutionStartedEvent(raw, inst, "Seq", "1", `"in"`),
			&HistoryEvent{EventType: EventExecutionStarted, EventID: -1, Timestamp: ts, Name: "Seq", Version: "1", Input: `"in"`,
				OrchestrationInstance: &inst}},
		{NewExecutionCompletedEvent(raw, 4, StatusCompleted, `"out"`, nil),
			&HistoryEvent{EventType: EventExecutionCompleted, EventID: 4, Timestamp: ts, OrchestrationStatus: StatusCompleted, Result: `"out"`}},
		{NewExecutionCompletedEvent(raw, 5, StatusFailed, `"text"`, fd()),
			&HistoryEvent{EventType: EventExecutionCompleted, EventID: 5, Timestamp: ts, OrchestrationStatus: StatusFailed, Result: `"text"`,
				Reason: "boom", Details: "at f()", FailureDetails: fd()}},
		{NewExecutionTerminatedEvent(raw, `"stop"`),
			&HistoryEvent{EventType: EventExecutionTerminated, EventID: -1, Timestamp: ts, Input: `"stop"`}},
		{NewExecutionSuspendedEvent(raw, "pause"), &HistoryEvent{EventType: EventExecutionSuspended, EventID: -1, Timestamp: ts, Reason: "pause"}},
		{NewExecutionResumedEvent(raw, "go"), &HistoryEvent{EventType: EventExecutionResumed, EventID: -1, Timestamp: ts, Reason: "go"}},
		{NewExecutionRewoundEvent(raw, "again"), &HistoryEvent{EventType: EventExecutionRewound, EventID: -1, Timestamp: ts, Reason: "again"}},
		{NewContinueAsNewEvent(raw, 2, `7`),
			&HistoryEvent{EventType: EventContinueAsNew, EventID: 2, Timestamp: ts, OrchestrationStatus: StatusContinuedAsNew, Result: `7`}},
		{NewOrchestratorStartedEvent(raw), &HistoryEvent{EventType: EventOrchestratorStarted, EventID: -1, Timestamp: ts}},
		{NewOrchestratorCompletedEvent(raw), &HistoryEvent{EventType: EventOrchestratorCompleted, EventID: -1, Timestamp: ts}},
		{NewTaskScheduledEvent(raw, 0, "Say", "2", `"x"`),
			&HistoryEvent{EventType: EventTaskScheduled, EventID: 0, Timestamp: ts, Name: "Say", Version: "2", Input: `"x"`}},
		{NewTaskCompletedEvent(raw, 3, `1`), &HistoryEvent{EventType: EventTaskCompleted, EventID: -1, Timestamp: ts, TaskScheduledID: 3, Result: `1`}},
		{NewTaskFailedEvent(raw, 3, fd()), failed(EventTaskFailed, 3)},
		{NewSubOrchestrationInstanceCreatedEvent(raw, 1, "Child", "v", "c1", `null`),
			&HistoryEvent{EventType: EventSubOrchestrationInstanceCreated, EventID: 1, Timestamp: ts, Name: "Child", Version: "v",
				InstanceID: "c1", Input: `null`}},
		{NewSubOrchestrationInstanceCompletedEvent(raw, 1, `"r"`),
			&HistoryEvent{EventType: EventSubOrchestrationInstanceCompleted, EventID: -1, Timestamp: ts, TaskScheduledID: 1, Result: `"r"`}},
		{NewSubOrchestrationInstanceFailedEvent(raw, 1, fd()), failed(EventSubOrchestrationInstanceFailed, 1)},
		{NewTimerCreatedEvent(raw, 6, fireRaw), &HistoryEvent{EventType: EventTimerCreated, EventID: 6, Timestamp: ts, FireAt: fire}},
		{NewTimerFiredEvent(raw, 6, fireRaw), &HistoryEvent{EventType: EventTimerFired, EventID: -1, Timestamp: ts, TimerID: 6, FireAt: fire}},
		{NewEventSentEvent(raw, 8, "other", "ping", `{}`),
			&HistoryEvent{EventType: EventEventSent, EventID: 8, Timestamp: ts, InstanceID: "other", Name: "ping", Input: `{}`}},
		{NewEventRaisedEvent(raw, "ping", `{}`), &HistoryEvent{EventType: EventEventRaised, EventID: -1, Timestamp: ts, Name: "ping", Input: `{}`}},
		{NewGenericEvent(raw, "note"), &HistoryEvent{EventType: EventGenericEvent, EventID: -1, Timestamp: ts, Data: "note"}},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%v:\n got %+v\nwant %+v", tt.want.EventType, tt.got, tt.want)
		}
		if tt.got.Timestamp.Location() != time.UTC {
			t.Errorf("%v: timestamp %v is not in UTC", tt.got.EventType, tt.got.Timestamp)
		}
	}
}

// TestConstructorsCopyInstance: the event does not alias the caller's
// OrchestrationInstance value.
func TestConstructorsCopyInstance(t *testing.T) {
	inst := OrchestrationInstance{InstanceID: "i", ExecutionID: "e"}
	ev := NewExecutionStartedEvent(Now(), inst, "n", "", "")
	inst.ExecutionID = "changed"
	if ev.OrchestrationInstance.ExecutionID != "e" {
		t.Errorf("event's instance follows the caller's variable: %+v", ev.OrchestrationInstance)
	}
}
