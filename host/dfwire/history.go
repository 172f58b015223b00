package dfwire

import (
	"encoding/json"
	"fmt"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
)

// HistoryTimeFormat is the format of history timestamps: .NET's full
// precision, seven fractional digits.
const HistoryTimeFormat = "2006-01-02T15:04:05.0000000Z"

// HistoryTime is a history timestamp, encoded in HistoryTimeFormat. The
// zero value is left out of optional fields.
type HistoryTime struct{ time.Time }

// MarshalJSON implements json.Marshaler.
func (t HistoryTime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + t.UTC().Format(HistoryTimeFormat) + `"`), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *HistoryTime) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("dfwire: history time: %w", err)
	}
	v, err := parseTime("history time", s)
	t.Time = v
	return err
}

// HistoryEvent is one entry of historyEvents: a storage history event in
// the shape the Durable Functions HTTP API shows it (see History). Which
// fields are set depends on EventType.
type HistoryEvent struct {
	// EventType is the DTFx event type name, e.g. "TaskCompleted".
	EventType string      `json:"EventType"`
	Timestamp HistoryTime `json:"Timestamp"`
	// OrchestrationStatus is the final status (ExecutionCompleted).
	OrchestrationStatus string `json:"OrchestrationStatus,omitempty"`
	// Name is the activity, sub-orchestrator or event name of a
	// scheduling or event.
	Name string `json:"Name,omitempty"`
	// FunctionName is the orchestrator (ExecutionStarted) or the
	// completed activity or sub-orchestrator.
	FunctionName string `json:"FunctionName,omitempty"`
	// InstanceID is the target instance (sub-orchestration, sent event).
	InstanceID string `json:"InstanceId,omitempty"`
	// ScheduledTime is when a completed task was scheduled.
	ScheduledTime HistoryTime `json:"ScheduledTime,omitzero"`
	// FireAt is a durable timer's due time.
	FireAt HistoryTime `json:"FireAt,omitzero"`
	// Input is present only with showInput: a JSON string holding the
	// payload's JSON text (as DTFx stores it), or null for none. InputText
	// returns the text.
	Input json.RawMessage `json:"Input,omitempty"`
	// ScheduledStartTime is a delayed start's time (ExecutionStarted).
	ScheduledStartTime HistoryTime `json:"ScheduledStartTime,omitzero"`
	// Result is present only with showHistoryOutput: the JSON value a
	// task, sub-orchestration or execution completed with (null for none).
	Result json.RawMessage `json:"Result,omitempty"`
	// Reason, Details and FailureDetails describe a failure, or the
	// reason given to suspend, resume or rewind.
	Reason         string             `json:"Reason,omitempty"`
	Details        string             `json:"Details,omitempty"`
	FailureDetails *sp.FailureDetails `json:"FailureDetails,omitempty"`
	// Data is a GenericEvent's data.
	Data string `json:"Data,omitempty"`
	// Stored is funchost's extension, present only when asked for with
	// ExactHistoryParam (see StoredEvents).
	Stored *StoredEvents `json:"FunchostStored,omitempty"`
}

// InputText returns the payload text of Input ("" when absent or null).
func (e *HistoryEvent) InputText() string {
	var s string
	_ = json.Unmarshal(e.Input, &s)
	return s
}

// History converts storage history to historyEvents, as the Durable
// Functions HTTP API shows it: OrchestratorStarted/Completed left out;
// TaskScheduled and SubOrchestrationInstanceCreated merged into their
// completion events (which gain FunctionName, ScheduledTime and Input);
// Input only with showInput; Result only with showOutput and only on
// TaskCompleted, SubOrchestrationInstanceCompleted and
// ExecutionCompleted. docs/http-api.md shows an example.
func History(events []*sp.HistoryEvent, showInput, showOutput bool) []HistoryEvent {
	h := historyView{showInput: showInput, showOutput: showOutput,
		scheduled: map[int]*sp.HistoryEvent{}, created: map[int]*sp.HistoryEvent{}, merged: map[*sp.HistoryEvent]bool{}}
	for _, e := range events {
		h.index(e)
	}
	out := make([]HistoryEvent, 0, len(events))
	for _, e := range events {
		if v, ok := h.event(e); ok {
			out = append(out, v)
		}
	}
	return out
}

// MarshalHistory encodes events as raw JSON objects, for
// Status.HistoryEvents.
func MarshalHistory(events []HistoryEvent) []json.RawMessage {
	out := make([]json.RawMessage, len(events))
	for i := range events {
		b, err := Marshal(&events[i])
		if err != nil {
			b = []byte(fmt.Sprintf(`{"EventType":%q}`, events[i].EventType))
		}
		out[i] = b
	}
	return out
}

// historyView holds what History needs across events: the scheduling
// events by ID, and which of them are merged into their completion.
type historyView struct {
	showInput, showOutput bool
	scheduled, created    map[int]*sp.HistoryEvent
	merged                map[*sp.HistoryEvent]bool
}

func (h *historyView) index(e *sp.HistoryEvent) {
	switch e.EventType {
	case sp.EventTaskScheduled:
		h.scheduled[e.EventID] = e
	case sp.EventSubOrchestrationInstanceCreated:
		h.created[e.EventID] = e
	case sp.EventTaskCompleted, sp.EventTaskFailed:
		if s := h.scheduled[e.TaskScheduledID]; s != nil {
			h.merged[s] = true
		}
	case sp.EventSubOrchestrationInstanceCompleted, sp.EventSubOrchestrationInstanceFailed:
		if s := h.created[e.TaskScheduledID]; s != nil {
			h.merged[s] = true
		}
	}
}

// event renders e; false for events the API leaves out.
func (h *historyView) event(e *sp.HistoryEvent) (HistoryEvent, bool) {
	if h.merged[e] {
		return HistoryEvent{}, false
	}
	v := HistoryEvent{EventType: e.EventType.String(), Timestamp: HistoryTime{e.Timestamp}}
	switch e.EventType {
	case sp.EventOrchestratorStarted, sp.EventOrchestratorCompleted, sp.EventHistoryState:
		return HistoryEvent{}, false
	case sp.EventExecutionStarted:
		v.FunctionName = e.Name
		h.input(&v, e.Input)
		if e.ScheduledStartTime != nil {
			v.ScheduledStartTime = HistoryTime{*e.ScheduledStartTime}
		}
	case sp.EventExecutionCompleted:
		v.OrchestrationStatus = e.OrchestrationStatus.String()
		h.result(&v, e)
		failure(&v, e)
	case sp.EventExecutionTerminated:
		h.input(&v, e.Input)
	case sp.EventTaskScheduled, sp.EventEventRaised:
		v.Name = e.Name
		h.input(&v, e.Input)
	case sp.EventTaskCompleted, sp.EventSubOrchestrationInstanceCompleted:
		h.scheduling(&v, e)
		h.result(&v, e)
	case sp.EventTaskFailed, sp.EventSubOrchestrationInstanceFailed:
		h.scheduling(&v, e)
		failure(&v, e)
	case sp.EventSubOrchestrationInstanceCreated, sp.EventEventSent:
		v.Name, v.InstanceID = e.Name, e.InstanceID
		h.input(&v, e.Input)
	case sp.EventTimerCreated, sp.EventTimerFired:
		v.FireAt = HistoryTime{e.FireAt}
	case sp.EventContinueAsNew:
		// Result (the next generation's input) is not shown, as in
		// Durable Functions.
	case sp.EventExecutionSuspended, sp.EventExecutionResumed, sp.EventExecutionRewound:
		v.Reason = e.Reason
	case sp.EventGenericEvent:
		v.Data = e.Data
	default:
		failure(&v, e)
	}
	return v, true
}

// input sets Input with showInput: DTFx writes a missing input as null.
func (h *historyView) input(v *HistoryEvent, text string) {
	if !h.showInput {
		return
	}
	if text == "" {
		v.Input = json.RawMessage("null")
		return
	}
	v.Input, _ = Marshal(text)
}

func (h *historyView) result(v *HistoryEvent, e *sp.HistoryEvent) {
	if !h.showOutput {
		return
	}
	if v.Result = Payload(e.Result); v.Result == nil {
		v.Result = json.RawMessage("null")
	}
}

// scheduling merges the scheduling event a completion refers to.
func (h *historyView) scheduling(v *HistoryEvent, e *sp.HistoryEvent) {
	s := h.scheduled[e.TaskScheduledID]
	if e.EventType == sp.EventSubOrchestrationInstanceCompleted || e.EventType == sp.EventSubOrchestrationInstanceFailed {
		s = h.created[e.TaskScheduledID]
	}
	if s == nil {
		return
	}
	v.FunctionName = s.Name
	v.ScheduledTime = HistoryTime{s.Timestamp}
	h.input(v, s.Input)
}

func failure(v *HistoryEvent, e *sp.HistoryEvent) {
	v.Reason, v.Details, v.FailureDetails = e.Reason, e.Details, e.FailureDetails
}
