package dfwire_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/funchost/funchost/host/dfwire"
	sp "github.com/funchost/funchost/storageprovider"
)

// storedSample is a history with every kind of event the extension has to
// carry: episodes, merged and in-flight scheduling, a timer, payloads that
// are JSON, not JSON, "null" and empty, and a trailing OrchestratorCompleted.
func storedSample() []*sp.HistoryEvent {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }
	start := sp.NewExecutionStartedEvent(at(0), sp.OrchestrationInstance{InstanceID: "i", ExecutionID: "e"}, "Flow", "2.0", `{"n":1}`)
	start.Tags = map[string]string{"t": "v"}
	return []*sp.HistoryEvent{
		sp.NewOrchestratorStartedEvent(at(1)), start,
		sp.NewTaskScheduledEvent(at(1), 0, "A", "", `"x"`),
		sp.NewTaskScheduledEvent(at(1), 1, "B", "", ""),
		sp.NewSubOrchestrationInstanceCreatedEvent(at(1), 2, "Child", "1.0", "i:2", `[1, 2]`),
		sp.NewTimerCreatedEvent(at(1), 3, at(9)),
		sp.NewOrchestratorCompletedEvent(at(1)),
		sp.NewOrchestratorStartedEvent(at(2)),
		sp.NewTaskCompletedEvent(at(2), 0, `not json`),
		sp.NewTaskCompletedEvent(at(2), 1, `null`),
		sp.NewSubOrchestrationInstanceCompletedEvent(at(2), 2, `{"ok":true}`),
		sp.NewEventRaisedEvent(at(2), "go", `"data"`),
		sp.NewTaskScheduledEvent(at(2), 4, "C", "", `"still running"`),
		sp.NewOrchestratorCompletedEvent(at(2)),
	}
}

// TestStoredHistory: historyEvents with funchost's extension give back the
// stored history event for event; without it (or asked without inputs or
// results) they are refused or lack exactly what was hidden, and the
// standard fields are those History writes.
func TestStoredHistory(t *testing.T) {
	history := storedSample()
	want, _ := json.Marshal(history)
	for _, tc := range []struct {
		name              string
		showInput, output bool
		exact             bool
	}{
		{"inputs and results", true, true, true},
		{"no results", true, false, false},
		{"no inputs", false, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			entries := dfwire.HistoryWithStored(history, tc.showInput, tc.output)
			plain := dfwire.MarshalHistory(dfwire.History(history, tc.showInput, tc.output))
			wire := dfwire.MarshalHistory(entries)
			if len(wire) != len(plain) {
				t.Fatalf("%d entries with the extension, %d without", len(wire), len(plain))
			}
			decoded := make([]dfwire.HistoryEvent, len(wire))
			for i := range wire {
				// The extension is one field added last: the standard
				// entry is a prefix.
				std := strings.TrimSuffix(string(plain[i]), "}")
				if !strings.HasPrefix(string(wire[i]), std+`,"FunchostStored":{`) {
					t.Errorf("entry %d\n got %s\nwant %s plus the extension", i, wire[i], plain[i])
				}
				if err := json.Unmarshal(wire[i], &decoded[i]); err != nil {
					t.Fatal(err)
				}
			}
			back, err := dfwire.StoredHistory(decoded)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(back)
			if (string(got) == string(want)) != tc.exact {
				t.Errorf("rebuilt history (exact %v):\n got %s\nwant %s", tc.exact, got, want)
			}
			if !tc.showInput && strings.Contains(string(wire[1]), `\"x\"`) || !tc.output && strings.Contains(string(got), "not json") {
				t.Errorf("a hidden payload is in the extension: %s", got)
			}
		})
	}
	var standard []dfwire.HistoryEvent
	for _, raw := range dfwire.MarshalHistory(dfwire.History(history, true, true)) {
		var e dfwire.HistoryEvent
		_ = json.Unmarshal(raw, &e)
		standard = append(standard, e)
	}
	if _, err := dfwire.StoredHistory(standard); !errors.Is(err, dfwire.ErrNotStored) {
		t.Errorf("StoredHistory of standard historyEvents = %v, want ErrNotStored", err)
	}
}
