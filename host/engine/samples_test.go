package engine

import (
	"strings"
	"testing"

	"github.com/funchost/funchost/samples/sampleapp"
	sp "github.com/funchost/funchost/storageprovider"
)

// sampleRegistry registers every orchestrator and activity of the sample
// app.
func sampleRegistry() Registry { return NewRegistry(sampleapp.Handlers()) }

func TestSampleOrchestrators(t *testing.T) {
	tests := []struct {
		name   string
		input  any
		raise  string // event to raise once running
		want   string // expected output
		failed string // or: expected failure text
	}{
		{name: "HelloSequence", want: `["Hello Tokyo!","Hello Seattle!","Hello London!"]`},
		{name: "HelloCities5", want: `["Hello Tokyo!","Hello Seattle!","Hello London!","Hello Cairo!","Hello Lima!"]`},
		{name: "Echo", input: map[string]int{"a": 1}, want: `{"a":1}`},
		{name: "FailAlways", failed: "boom"},
		{name: "FanOutFanIn", input: 100, want: "5050"},
		{name: "WaitForApproval", raise: "Approval", want: `{"ok":true}`},
		{name: "ApprovalWithTimeout", input: map[string]float64{"timeoutSeconds": 0.05}, want: `{"approved":false,"reason":"timed out"}`},
		{name: "ApprovalWithTimeout", input: map[string]float64{"timeoutSeconds": 3600}, raise: "Approval", want: `{"approved":true,"payload":{"ok":true}}`},
		{name: "Monitor", input: map[string]int{"target": 3, "intervalMs": 10}, want: "3"},
		{name: "ParentChild", want: `{"child":["Hello Tokyo!","Hello Seattle!","Hello London!"]}`},
		{name: "Transfer", input: sampleapp.TransferRequest{From: "empty", To: "other", Amount: 5}, want: "false"},
		{name: "OrderWorkflow", input: "o1", raise: "Paid", want: `["reserved o1","shipped o1"]`},
	}
	if got, want := len(sampleapp.Orchestrators()), 11; got != want {
		t.Logf("the sample app now has %d orchestrators (this test knows %d)", got, want)
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			h := newHarness(t, m, sampleRegistry())
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					id := h.start(tt.name, "", tt.input)
					if tt.raise != "" {
						h.waitStatus(id, sp.StatusRunning)
						h.raise(id, tt.raise, map[string]bool{"ok": true})
					}
					st := h.waitDone(id)
					if tt.failed != "" {
						if st.RuntimeStatus != sp.StatusFailed || !strings.Contains(st.Output, tt.failed) {
							t.Fatalf("state = %+v", st)
						}
						return
					}
					expectOutput(t, st, tt.want)
				})
			}
		})
	}
}
