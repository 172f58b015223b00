package engine

import (
	"context"
	"testing"

	"github.com/funchost/funchost/bindings"
	sp "github.com/funchost/funchost/storageprovider"
)

// openCallsProfile scans a history: the most activity calls that were
// scheduled and not completed at once, and whether the TaskScheduled
// events appear in the order of their IDs.
func openCallsProfile(hist []*sp.HistoryEvent) (peak, scheduled int, ordered bool) {
	open, last := 0, -1
	ordered = true
	for _, ev := range hist {
		switch ev.EventType {
		case sp.EventTaskScheduled:
			open++
			scheduled++
			ordered = ordered && ev.EventID > last
			last = ev.EventID
			peak = max(peak, open)
		case sp.EventTaskCompleted, sp.EventTaskFailed:
			open--
		}
	}
	return peak, scheduled, ordered
}

// TestOpenActivityCallsBounded: a fan-out larger than MaxOpenActivityCalls
// completes with the right result, never has more calls scheduled and
// uncompleted than the bound, and records its calls in the order the code
// made them; an orchestration that returns without awaiting its calls
// still schedules every one of them. For every cache mode, queued and
// in-process activities.
func TestOpenActivityCallsBounded(t *testing.T) {
	const bound = 50
	reg := baseRegistry()
	reg.Orchestrators["FireAndForget"] = func(ctx bindings.OrchestrationContext) (any, error) {
		for i := range 3 * bound {
			ctx.CallActivity("GetValue", i)
		}
		return "sent", nil
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			h := newHarness(t, m, reg, func(o *Options) { o.MaxOpenActivityCalls = bound })
			cases := []struct {
				name, orchestrator string
				input              any
				want               string
				wantScheduled      int
				wantPeak           int // 0: at most bound
			}{
				{name: "fan-out of 20 bounds", orchestrator: "FanOut", input: 20 * bound, want: "500500", wantScheduled: 20 * bound},
				{name: "fan-out under the bound", orchestrator: "FanOut", input: bound / 2, want: "325", wantScheduled: bound / 2},
				{name: "returns without awaiting", orchestrator: "FireAndForget", want: `"sent"`, wantScheduled: 3 * bound, wantPeak: 3 * bound},
			}
			for _, c := range cases {
				id := h.start(c.orchestrator, "", c.input)
				expectOutput(t, h.waitDone(id), c.want)
				hist, err := h.hub.GetOrchestrationHistory(context.Background(), id)
				if err != nil {
					t.Fatal(err)
				}
				peak, scheduled, ordered := openCallsProfile(hist)
				if scheduled != c.wantScheduled || !ordered {
					t.Errorf("%s: %d calls scheduled (ordered by ID: %v), want %d in order", c.name, scheduled, ordered, c.wantScheduled)
				}
				if want := c.wantPeak; (want == 0 && peak > bound) || (want != 0 && peak != want) {
					t.Errorf("%s: %d calls open at once, want %s", c.name, peak, map[bool]string{true: "at most the bound", false: "all of them"}[want == 0])
				}
			}
		})
	}
}
