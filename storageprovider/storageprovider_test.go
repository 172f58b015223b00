package storageprovider

import (
	"encoding/json"
	"testing"
	"time"
)

func TestPartitionIndex(t *testing.T) {
	// Vectors from docs/storage-layout.md, "Keys".
	tests := []struct {
		id          string
		mod4, mod16 int
	}{
		{"abc", 3, 11},
		{"myinstance", 0, 0},
		{"@counter@key1", 1, 1},
	}
	for _, tt := range tests {
		if got := PartitionIndex(tt.id, 4); got != tt.mod4 {
			t.Errorf("PartitionIndex(%q, 4) = %d, want %d", tt.id, got, tt.mod4)
		}
		if got := PartitionIndex(tt.id, 16); got != tt.mod16 {
			t.Errorf("PartitionIndex(%q, 16) = %d, want %d", tt.id, got, tt.mod16)
		}
	}
}

func TestEventTypeNames(t *testing.T) {
	tests := []struct {
		t    EventType
		name string
	}{
		{EventExecutionStarted, "ExecutionStarted"},
		{EventTaskScheduled, "TaskScheduled"},
		{EventOrchestratorStarted, "OrchestratorStarted"},
		{EventContinueAsNew, "ContinueAsNew"},
		{EventExecutionRewound, "ExecutionRewound"},
	}
	for _, tt := range tests {
		if tt.t.String() != tt.name {
			t.Errorf("%d.String() = %q, want %q", int(tt.t), tt.t.String(), tt.name)
		}
		back, err := ParseEventType(tt.name)
		if err != nil || back != tt.t {
			t.Errorf("ParseEventType(%q) = %v, %v", tt.name, back, err)
		}
	}
	if _, err := ParseEventType("Nope"); err == nil {
		t.Error("ParseEventType(Nope) succeeded")
	}
}

func TestStatusParsing(t *testing.T) {
	for s := StatusRunning; s <= StatusSuspended; s++ {
		back, err := ParseOrchestrationStatus(s.String())
		if err != nil || back != s {
			t.Errorf("round trip of %v: %v, %v", s, back, err)
		}
	}
	for _, bad := range []string{"running", "", "8", "-1", "Unknown"} {
		if _, err := ParseOrchestrationStatus(bad); err == nil {
			t.Errorf("ParseOrchestrationStatus(%q) succeeded", bad)
		}
	}
	if s, err := ParseOrchestrationStatus("3"); err != nil || s != StatusFailed {
		t.Errorf("numeric status: %v %v", s, err)
	}
	terminal := map[OrchestrationStatus]bool{StatusCompleted: true, StatusFailed: true, StatusTerminated: true, StatusCanceled: true}
	for s := StatusRunning; s <= StatusSuspended; s++ {
		if s.IsTerminal() != terminal[s] {
			t.Errorf("%v.IsTerminal() = %v", s, s.IsTerminal())
		}
	}
}

func TestHistoryEventJSONStable(t *testing.T) {
	ts := time.Date(2024, 1, 2, 3, 4, 5, 123456700, time.UTC)
	e := NewTaskScheduledEvent(ts, 0, "SayHello", "", `"Tokyo"`)
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"EventType":4,"EventId":0,"Timestamp":"2024-01-02T03:04:05.1234567Z","Name":"SayHello","Input":"\"Tokyo\""}`
	if string(b) != want {
		t.Errorf("JSON = %s\nwant  %s", b, want)
	}
	var back HistoryEvent
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Name != e.Name || !back.Timestamp.Equal(ts) || back.EventType != EventTaskScheduled {
		t.Errorf("round trip = %+v", back)
	}
}

func TestAbandonBackoff(t *testing.T) {
	tests := []struct {
		n    int
		want time.Duration
	}{{0, time.Second}, {1, 2 * time.Second}, {3, 8 * time.Second}, {10, 600 * time.Second}, {99, 600 * time.Second}}
	for _, tt := range tests {
		if got := AbandonBackoff(tt.n, 10*time.Minute); got != tt.want {
			t.Errorf("AbandonBackoff(%d) = %v, want %v", tt.n, got, tt.want)
		}
	}
}

func TestCloneIsDeep(t *testing.T) {
	e := &HistoryEvent{EventType: EventExecutionStarted, Tags: map[string]string{"a": "b"},
		OrchestrationInstance: &OrchestrationInstance{InstanceID: "i"}, FailureDetails: &FailureDetails{ErrorMessage: "x"}}
	c := e.Clone()
	c.Tags["a"] = "c"
	c.OrchestrationInstance.InstanceID = "j"
	c.FailureDetails.ErrorMessage = "y"
	if e.Tags["a"] != "b" || e.OrchestrationInstance.InstanceID != "i" || e.FailureDetails.ErrorMessage != "x" {
		t.Errorf("Clone shares memory with the original: %+v", e)
	}
}
