package durableclient

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/funchost/funchost/bindings"
	sp "github.com/funchost/funchost/storageprovider"
)

// StatusTimeFormat is the format of createdTime and lastUpdatedTime in the
// status JSON: UTC, whole seconds.
const StatusTimeFormat = "2006-01-02T15:04:05Z"

// historyTimeFormat is the format of history timestamps: .NET's full
// precision (7 fractional digits).
const historyTimeFormat = "2006-01-02T15:04:05.0000000Z"

// FormatStatusTime renders t as the status JSON does.
func FormatStatusTime(t time.Time) string { return t.UTC().Format(StatusTimeFormat) }

// MarshalStatus renders a status as the Durable Functions HTTP API does:
// the fields name, instanceId, runtimeStatus, input, customStatus, output,
// createdTime, lastUpdatedTime in this order, input/customStatus/output
// always present (null when empty), and historyEvents only when s.History
// is non-empty. Payloads are written byte for byte, so large inputs are not
// re-encoded.
func MarshalStatus(s *bindings.OrchestrationStatus) []byte {
	var b bytes.Buffer
	b.Grow(256 + len(s.Input) + len(s.Output) + len(s.CustomStatus))
	writeStatus(&b, s)
	return b.Bytes()
}

// MarshalStatusList renders statuses as a JSON array of status objects.
func MarshalStatusList(list []*bindings.OrchestrationStatus) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, s := range list {
		if i > 0 {
			b.WriteByte(',')
		}
		writeStatus(&b, s)
	}
	b.WriteByte(']')
	return b.Bytes()
}

func writeStatus(b *bytes.Buffer, s *bindings.OrchestrationStatus) {
	b.WriteString(`{"name":`)
	writeString(b, s.Name)
	b.WriteString(`,"instanceId":`)
	writeString(b, s.InstanceID)
	b.WriteString(`,"runtimeStatus":`)
	writeString(b, s.RuntimeStatus.String())
	b.WriteString(`,"input":`)
	writeRaw(b, s.Input)
	b.WriteString(`,"customStatus":`)
	writeRaw(b, s.CustomStatus)
	b.WriteString(`,"output":`)
	writeRaw(b, s.Output)
	b.WriteString(`,"createdTime":`)
	writeString(b, FormatStatusTime(s.CreatedTime))
	b.WriteString(`,"lastUpdatedTime":`)
	writeString(b, FormatStatusTime(s.LastUpdatedTime))
	if len(s.History) > 0 {
		b.WriteString(`,"historyEvents":[`)
		for i, h := range s.History {
			if i > 0 {
				b.WriteByte(',')
			}
			writeRaw(b, h)
		}
		b.WriteByte(']')
	}
	b.WriteByte('}')
}

func writeString(b *bytes.Buffer, s string) {
	j, _ := marshalNoEscape(s)
	b.Write(j)
}

func writeRaw(b *bytes.Buffer, v json.RawMessage) {
	if len(v) == 0 {
		b.WriteString("null")
		return
	}
	b.Write(v)
}

// object is a JSON object that keeps its keys in insertion order.
type object struct{ b bytes.Buffer }

func (o *object) add(key string, v any) {
	if o.b.Len() == 0 {
		o.b.WriteByte('{')
	} else {
		o.b.WriteByte(',')
	}
	writeString(&o.b, key)
	o.b.WriteByte(':')
	switch x := v.(type) {
	case json.RawMessage:
		writeRaw(&o.b, x)
	case string:
		writeString(&o.b, x)
	default:
		j, err := marshalNoEscape(x)
		if err != nil {
			j = []byte("null")
		}
		o.b.Write(j)
	}
}

func (o *object) bytes() json.RawMessage {
	if o.b.Len() == 0 {
		return json.RawMessage("{}")
	}
	o.b.WriteByte('}')
	return json.RawMessage(o.b.Bytes())
}

// HistoryJSON renders history events in the shape of the Durable Functions
// HTTP API's historyEvents: PascalCase DTFx property names with EventType
// as its name; OrchestratorStarted/Completed dropped; TaskScheduled and
// SubOrchestrationInstanceCreated merged into their completion events
// (which gain FunctionName, ScheduledTime and Input); Input left out unless
// showInput; Result kept only for TaskCompleted,
// SubOrchestrationInstanceCompleted and ExecutionCompleted and only with
// showOutput.
func HistoryJSON(events []*sp.HistoryEvent, showInput, showOutput bool) []json.RawMessage {
	// Scheduling events that have a completion are merged into it.
	scheduled := map[int]*sp.HistoryEvent{}
	created := map[int]*sp.HistoryEvent{}
	done := map[*sp.HistoryEvent]bool{}
	for _, e := range events {
		switch e.EventType {
		case sp.EventTaskScheduled:
			scheduled[e.EventID] = e
		case sp.EventSubOrchestrationInstanceCreated:
			created[e.EventID] = e
		case sp.EventTaskCompleted, sp.EventTaskFailed:
			if s := scheduled[e.TaskScheduledID]; s != nil {
				done[s] = true
			}
		case sp.EventSubOrchestrationInstanceCompleted, sp.EventSubOrchestrationInstanceFailed:
			if s := created[e.TaskScheduledID]; s != nil {
				done[s] = true
			}
		}
	}
	out := make([]json.RawMessage, 0, len(events))
	for _, e := range events {
		if done[e] {
			continue
		}
		var o object
		o.add("EventType", e.EventType.String())
		o.add("Timestamp", e.Timestamp.UTC().Format(historyTimeFormat))
		input := func(s string) {
			if !showInput {
				return
			}
			if s == "" {
				o.add("Input", json.RawMessage(nil)) // DTFx serializes a missing input as null
				return
			}
			o.add("Input", s)
		}
		result := func() {
			if showOutput {
				o.add("Result", payloadJSON(e.Result))
			}
		}
		merged := func(s *sp.HistoryEvent) {
			if s == nil {
				return
			}
			o.add("FunctionName", s.Name)
			o.add("ScheduledTime", s.Timestamp.UTC().Format(historyTimeFormat))
			input(s.Input)
		}
		failure := func() {
			if e.Reason != "" {
				o.add("Reason", e.Reason)
			}
			if e.Details != "" {
				o.add("Details", e.Details)
			}
			if e.FailureDetails != nil {
				o.add("FailureDetails", e.FailureDetails)
			}
		}
		switch e.EventType {
		case sp.EventOrchestratorStarted, sp.EventOrchestratorCompleted, sp.EventHistoryState:
			continue
		case sp.EventExecutionStarted:
			o.add("FunctionName", e.Name)
			input(e.Input)
			if e.ScheduledStartTime != nil {
				o.add("ScheduledStartTime", e.ScheduledStartTime.UTC().Format(historyTimeFormat))
			}
		case sp.EventExecutionCompleted:
			o.add("OrchestrationStatus", e.OrchestrationStatus.String())
			result()
			failure()
		case sp.EventExecutionTerminated:
			input(e.Input)
		case sp.EventTaskScheduled:
			o.add("Name", e.Name)
			input(e.Input)
		case sp.EventTaskCompleted:
			merged(scheduled[e.TaskScheduledID])
			result()
		case sp.EventTaskFailed:
			merged(scheduled[e.TaskScheduledID])
			failure()
		case sp.EventSubOrchestrationInstanceCreated:
			o.add("Name", e.Name)
			o.add("InstanceId", e.InstanceID)
			input(e.Input)
		case sp.EventSubOrchestrationInstanceCompleted:
			merged(created[e.TaskScheduledID])
			result()
		case sp.EventSubOrchestrationInstanceFailed:
			merged(created[e.TaskScheduledID])
			failure()
		case sp.EventTimerCreated, sp.EventTimerFired:
			o.add("FireAt", e.FireAt.UTC().Format(historyTimeFormat))
		case sp.EventEventRaised:
			o.add("Name", e.Name)
			input(e.Input)
		case sp.EventEventSent:
			o.add("Name", e.Name)
			o.add("InstanceId", e.InstanceID)
			input(e.Input)
		case sp.EventContinueAsNew:
			// Result (the next generation's input) is not shown, as in
			// Durable Functions.
		case sp.EventExecutionSuspended, sp.EventExecutionResumed, sp.EventExecutionRewound:
			if e.Reason != "" {
				o.add("Reason", e.Reason)
			}
		case sp.EventGenericEvent:
			o.add("Data", e.Data)
		default:
			failure()
		}
		out = append(out, o.bytes())
	}
	return out
}
