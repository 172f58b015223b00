package mgmtapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/funchost/funchost/host/dfwire"
	sp "github.com/funchost/funchost/storageprovider"
)

// TestExactHistory: exactHistory=true adds funchost's stored events to
// each historyEvents entry (after the standard fields, which stay as they
// are), only with showHistory and never for a pending instance.
func TestExactHistory(t *testing.T) {
	s, hub := fake(t)
	p := checkStatus(t, do(t, "POST", s.base+"/orchestrators/Echo/x1", nil))
	ts := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	hub.SetHistory("x1", []*sp.HistoryEvent{
		sp.NewOrchestratorStartedEvent(ts),
		{EventType: sp.EventExecutionStarted, EventID: -1, Timestamp: ts, Name: "Echo"},
		{EventType: sp.EventExecutionCompleted, EventID: 0, Timestamp: ts, OrchestrationStatus: sp.StatusCompleted, Result: `5`},
		sp.NewOrchestratorCompletedEvent(ts),
	})
	if r := do(t, "GET", p.StatusQueryGetURI+"&showHistory=true&exactHistory=true", nil); strings.Contains(string(r.body), "historyEvents") {
		t.Fatalf("history shown for a pending instance: %s", r.body)
	}
	setStatus(hub, "x1", sp.StatusCompleted, "5")
	for _, tc := range []struct {
		query string
		want  []string
		not   string
	}{
		{"&showHistory=true&showHistoryOutput=true&exactHistory=true", []string{
			`{"EventType":"ExecutionStarted","Timestamp":"2024-01-01T00:00:00.0000000Z","FunctionName":"Echo","Input":null,"FunchostStored":{"before":[{"EventType":12,`,
			`"OrchestrationStatus":"Completed","Result":5,"FunchostStored":{"event":{"EventType":1,"EventId":0,`,
			`"after":[{"EventType":13,`}, ""},
		{"&showHistory=true&exactHistory=false", []string{`"historyEvents":[`}, "FunchostStored"},
		{"&exactHistory=true", nil, "historyEvents"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			r := do(t, "GET", p.StatusQueryGetURI+tc.query, nil)
			for _, w := range tc.want {
				if !strings.Contains(string(r.body), w) {
					t.Errorf("body lacks %s:\n%s", w, r.body)
				}
			}
			if tc.not != "" && strings.Contains(string(r.body), tc.not) {
				t.Errorf("body has %s:\n%s", tc.not, r.body)
			}
		})
	}
	if dfwire.ExactHistoryParam != "exactHistory" {
		t.Errorf("ExactHistoryParam = %q: the CLI and older clients send exactHistory", dfwire.ExactHistoryParam)
	}
}
