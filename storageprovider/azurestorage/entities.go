package azurestorage

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"

	sp "github.com/funchost/funchost/storageprovider"
)

// entity is a table entity as aztables reads and writes it: property name
// to JSON value, with "<name>@odata.type" annotations for DateTime.
type entity map[string]any

const (
	edmType     = "@odata.type"
	edmDateTime = "Edm.DateTime"
	// timeLayout keeps all seven fractional digits (.NET ticks are 100 ns).
	timeLayout = "2006-01-02T15:04:05.0000000Z"
	// sentinelRowKey is the RowKey of the history row whose ETag is the
	// instance's concurrency token.
	sentinelRowKey = "sentinel"
)

func (e entity) setString(k, v string) {
	if v != "" {
		e[k] = v
	}
}

func (e entity) setTime(k string, t time.Time) {
	if !t.IsZero() {
		e[k] = t.UTC().Format(timeLayout)
		e[k+edmType] = edmDateTime
	}
}

func (e entity) setJSON(k string, v any) {
	b, err := json.Marshal(v)
	if err == nil {
		e[k] = string(b)
	}
}

func (e entity) str(k string) string {
	s, _ := e[k].(string)
	return s
}

func (e entity) int(k string) int {
	switch v := e[k].(type) {
	case float64:
		return int(v)
	case json.Number:
		n, _ := v.Int64()
		return int(n)
	case string: // Edm.Int64 values travel as strings
		var n int
		fmt.Sscan(v, &n)
		return n
	}
	return 0
}

func (e entity) bool(k string) bool {
	b, _ := e[k].(bool)
	return b
}

func (e entity) time(k string) time.Time {
	s, ok := e[k].(string)
	if !ok || s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

func (e entity) has(k string) bool {
	_, ok := e[k]
	return ok
}

// utf16Bytes is the size the table service charges a string property.
// It counts without encoding (a 50 MB payload is measured several times
// per commit): runes outside the Basic Multilingual Plane take two UTF-16
// units, all others (and each invalid byte, read as U+FFFD) one.
func utf16Bytes(s string) int {
	n := 0
	for _, r := range s {
		n += 2 * max(1, utf16.RuneLen(r))
	}
	return n
}

// tablePropertyLimit: string properties above this many UTF-16 bytes go to
// blobs (DTFx uses the same margin below the 64 KiB service limit).
const tablePropertyLimit = 60 * 1024

// largeHistoryColumns may be offloaded to blobs in history rows.
var largeHistoryColumns = []string{"Name", "Input", "Result", "Output", "Reason", "Details", "FailureDetails", "Tags", "Data"}

// historyEntity renders a history event as a History table row.
func historyEntity(pk string, index int, execID string, ev *sp.HistoryEvent) entity {
	e := entity{
		"PartitionKey": pk,
		"RowKey":       rowKey(index),
		"ExecutionId":  execID,
		"EventType":    ev.EventType.String(),
		"EventId":      ev.EventID,
		"IsPlayed":     ev.IsPlayed,
	}
	e.setTime("_Timestamp", ev.Timestamp)
	e.setString("Name", ev.Name)
	e.setString("Version", ev.Version)
	e.setString("Input", ev.Input)
	e.setString("Result", ev.Result)
	e.setString("Reason", ev.Reason)
	e.setString("Details", ev.Details)
	e.setString("InstanceId", ev.InstanceID)
	e.setString("Data", ev.Data)
	if ev.FailureDetails != nil {
		e.setJSON("FailureDetails", ev.FailureDetails)
	}
	if ev.OrchestrationInstance != nil {
		e.setJSON("OrchestrationInstance", ev.OrchestrationInstance)
	}
	if ev.ParentInstance != nil {
		e.setJSON("ParentInstance", ev.ParentInstance)
	}
	if len(ev.Tags) > 0 {
		e.setJSON("Tags", ev.Tags)
	}
	if ev.ScheduledStartTime != nil {
		e.setTime("ScheduledStartTime", *ev.ScheduledStartTime)
	}
	if ev.ParentTraceContext != nil {
		e.setJSON("ParentTraceContext", ev.ParentTraceContext)
	}
	switch ev.EventType {
	case sp.EventExecutionStarted:
		e["Generation"] = ev.Generation
	case sp.EventExecutionCompleted, sp.EventContinueAsNew:
		e["OrchestrationStatus"] = ev.OrchestrationStatus.String()
	case sp.EventTaskCompleted, sp.EventTaskFailed, sp.EventSubOrchestrationInstanceCompleted, sp.EventSubOrchestrationInstanceFailed:
		e["TaskScheduledId"] = ev.TaskScheduledID
	case sp.EventTimerFired:
		e["TimerId"] = ev.TimerID
	}
	if ev.EventType == sp.EventTimerCreated || ev.EventType == sp.EventTimerFired {
		e.setTime("FireAt", ev.FireAt)
	}
	return e
}

// eventFromEntity parses a History row (with offloaded columns already
// restored).
func eventFromEntity(e entity) (*sp.HistoryEvent, error) {
	et, err := sp.ParseEventType(e.str("EventType"))
	if err != nil {
		return nil, err
	}
	ev := &sp.HistoryEvent{
		EventType:       et,
		EventID:         e.int("EventId"),
		IsPlayed:        e.bool("IsPlayed"),
		Timestamp:       e.time("_Timestamp"),
		Name:            e.str("Name"),
		Version:         e.str("Version"),
		Input:           e.str("Input"),
		Result:          e.str("Result"),
		Reason:          e.str("Reason"),
		Details:         e.str("Details"),
		InstanceID:      e.str("InstanceId"),
		Data:            e.str("Data"),
		Generation:      e.int("Generation"),
		TaskScheduledID: e.int("TaskScheduledId"),
		TimerID:         e.int("TimerId"),
		FireAt:          e.time("FireAt"),
	}
	if t := e.time("ScheduledStartTime"); !t.IsZero() {
		ev.ScheduledStartTime = &t
	}
	if s := e.str("OrchestrationStatus"); s != "" {
		st, err := sp.ParseOrchestrationStatus(s)
		if err != nil {
			return nil, err
		}
		ev.OrchestrationStatus = st
	}
	for _, f := range []struct {
		col string
		dst any
	}{
		{"FailureDetails", &ev.FailureDetails},
		{"OrchestrationInstance", &ev.OrchestrationInstance},
		{"ParentInstance", &ev.ParentInstance},
		{"Tags", &ev.Tags},
		{"ParentTraceContext", &ev.ParentTraceContext},
	} {
		if s := e.str(f.col); s != "" && s != "null" {
			if err := json.Unmarshal([]byte(s), f.dst); err != nil {
				return nil, fmt.Errorf("column %s: %w", f.col, err)
			}
		}
	}
	return ev, nil
}

func rowKey(index int) string { return fmt.Sprintf("%016X", index) }

// instanceEntity renders a status row for the Instances table. withInput
// controls whether the Input column is written (it is skipped when the row
// is known to hold it already).
func instanceEntity(hub string, s *sp.OrchestrationState, withInput bool) entity {
	e := entity{
		"PartitionKey":  sanitizeKey(s.InstanceID),
		"RowKey":        "",
		"Name":          s.Name,
		"Version":       s.Version,
		"ExecutionId":   s.ExecutionID,
		"RuntimeStatus": s.RuntimeStatus.String(),
		"Generation":    s.Generation,
		"TaskHubName":   hub,
		"CustomStatus":  orNull(s.CustomStatus),
		"Output":        s.Output,
	}
	if withInput {
		e["Input"] = s.Input
	}
	e.setTime("CreatedTime", s.CreatedTime)
	e.setTime("LastUpdatedTime", s.LastUpdatedTime)
	e.setTime("CompletedTime", s.CompletedTime)
	e.setTime("ScheduledStartTime", s.ScheduledStartTime)
	if len(s.Tags) > 0 {
		e.setJSON("Tags", s.Tags)
	} else {
		e["Tags"] = "null"
	}
	if s.FailureDetails != nil {
		e.setJSON("FailureDetails", s.FailureDetails)
	} else {
		e["FailureDetails"] = "null"
	}
	return e
}

func orNull(s string) string {
	if s == "" {
		return "null"
	}
	return s
}

func fromNull(s string) string {
	if s == "null" {
		return ""
	}
	return s
}

// stateFromEntity parses an Instances row (with Input/Output already
// restored from blobs).
func stateFromEntity(e entity) (*sp.OrchestrationState, error) {
	st, err := sp.ParseOrchestrationStatus(e.str("RuntimeStatus"))
	if err != nil {
		return nil, err
	}
	s := &sp.OrchestrationState{
		InstanceID:         unsanitizeKey(e.str("PartitionKey")),
		ExecutionID:        e.str("ExecutionId"),
		Name:               e.str("Name"),
		Version:            e.str("Version"),
		RuntimeStatus:      st,
		CreatedTime:        e.time("CreatedTime"),
		LastUpdatedTime:    e.time("LastUpdatedTime"),
		CompletedTime:      e.time("CompletedTime"),
		Input:              e.str("Input"),
		Output:             e.str("Output"),
		CustomStatus:       fromNull(e.str("CustomStatus")),
		Generation:         e.int("Generation"),
		ScheduledStartTime: e.time("ScheduledStartTime"),
	}
	if t := e.str("Tags"); t != "" && t != "null" {
		if err := json.Unmarshal([]byte(t), &s.Tags); err != nil {
			return nil, fmt.Errorf("column Tags: %w", err)
		}
	}
	if f := e.str("FailureDetails"); f != "" && f != "null" {
		if err := json.Unmarshal([]byte(f), &s.FailureDetails); err != nil {
			return nil, fmt.Errorf("column FailureDetails: %w", err)
		}
	}
	return s, nil
}

// pendingState is the status row CreateInstance writes for a start message.
func pendingState(start *sp.TaskMessage, generation int) *sp.OrchestrationState {
	ev := start.Event
	s := &sp.OrchestrationState{
		InstanceID:      start.Target.InstanceID,
		ExecutionID:     start.Target.ExecutionID,
		Name:            ev.Name,
		Version:         ev.Version,
		RuntimeStatus:   sp.StatusPending,
		CreatedTime:     ev.Timestamp,
		LastUpdatedTime: ev.Timestamp,
		Input:           ev.Input,
		Generation:      generation,
		Tags:            ev.Tags,
	}
	if ev.OrchestrationInstance != nil && ev.OrchestrationInstance.ExecutionID != "" {
		s.ExecutionID = ev.OrchestrationInstance.ExecutionID
	}
	if s.CreatedTime.IsZero() {
		s.CreatedTime = sp.Now()
		s.LastUpdatedTime = s.CreatedTime
	}
	if ev.ScheduledStartTime != nil {
		s.ScheduledStartTime = *ev.ScheduledStartTime
	}
	return s
}

// isBlobURL reports whether a table value is a reference to an offloaded
// blob (JSON text never starts like a URL).
func isBlobURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}
