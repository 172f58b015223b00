package mgmtapi_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/dfwire"
	"github.com/funchost/funchost/host/durableclient"
	sp "github.com/funchost/funchost/storageprovider"
)

// The status endpoint writes, for every kind of row and query, the bytes
// the status object had when it went through GetStatus, WireStatus and
// MarshalJSON (json.RawMessage payloads).
func TestStatusEndpointBytes(t *testing.T) {
	ts := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	history := []*sp.HistoryEvent{
		sp.NewOrchestratorStartedEvent(ts),
		sp.NewExecutionStartedEvent(ts, sp.OrchestrationInstance{InstanceID: "b1", ExecutionID: "e"}, "Echo", "", `{"n":"é😀"}`),
		sp.NewTaskScheduledEvent(ts, 0, "A", "", `"x"`),
		sp.NewTaskCompletedEvent(ts, 0, `not json`),
		sp.NewOrchestratorCompletedEvent(ts),
	}
	big := `{"data":"` + strings.Repeat("0123456789", 200_000) + `"}` // 2 MB: past the writer's buffer
	tests := []struct {
		name                  string
		status                sp.OrchestrationStatus
		input, custom, output string
		query                 string
		code                  int
	}{
		{"completed", sp.StatusCompleted, `{"a":1}`, "", `"done"`, "", 200},
		{"large payloads", sp.StatusCompleted, big, "", big, "", 200},
		{"not JSON, blank, empty", sp.StatusFailed, "not json <&>", " ", "", "", 200},
		{"failed, 500 asked for", sp.StatusFailed, `{"a":1}`, "", `"Orchestrator function 'Echo' failed: boom"`, "&returnInternalServerErrorOnFailure=true", 500},
		{"running with custom status", sp.StatusRunning, `1`, `{"step": 2, "s":"\u2028"}`, "", "", 202},
		{"input hidden", sp.StatusCompleted, `{"a":1}`, "", `"done"`, "&showInput=false", 200},
		{"history", sp.StatusCompleted, `{"n":"é😀"}`, "", `[1]`, "&showHistory=true&showHistoryOutput=true", 200},
		{"exact history", sp.StatusCompleted, `{"n":"é😀"}`, "", `[1]`, "&showHistory=true&showHistoryOutput=true&exactHistory=true", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, hub := fake(t)
			p := checkStatus(t, do(t, "POST", s.base+"/orchestrators/Echo/b1", nil))
			hub.SetState("b1", func(st *sp.OrchestrationState) {
				st.RuntimeStatus, st.Input, st.CustomStatus, st.Output = tt.status, tt.input, tt.custom, tt.output
			})
			hub.SetHistory("b1", history)
			r := do(t, "GET", p.StatusQueryGetURI+tt.query, nil)
			expect(t, r, tt.code, oldStatusBody(t, s.client, tt.query))
			if n := r.header.Get("Content-Length"); (n != "" && n != strconv.Itoa(len(r.body))) || r.header.Get("Content-Type") != dfwire.ContentType {
				t.Errorf("headers %v for %d bytes", r.header, len(r.body))
			}
		})
	}
}

// oldStatusBody is the status object of b1 built as the endpoint built it
// before it wrote text: GetStatus, WireStatus, MarshalJSON.
func oldStatusBody(t *testing.T, c *durableclient.Client, query string) string {
	t.Helper()
	exact := strings.Contains(query, "exactHistory=true")
	opts := bindings.StatusOptions{
		ShowHistory:       strings.Contains(query, "showHistory=true") && !exact,
		ShowHistoryOutput: strings.Contains(query, "showHistoryOutput=true"),
		HideInput:         strings.Contains(query, "showInput=false"),
	}
	st, err := c.GetStatus(context.Background(), "b1", opts)
	if err != nil {
		t.Fatal(err)
	}
	if exact {
		events, _ := c.Hub().GetOrchestrationHistory(context.Background(), "b1")
		st.History = dfwire.MarshalHistory(dfwire.HistoryWithStored(events, !opts.HideInput, opts.ShowHistoryOutput))
	}
	b, _ := durableclient.WireStatus(st).MarshalJSON()
	return string(b)
}
