package engine

import (
	"testing"
	"time"

	"github.com/funchost/funchost/bindings"
	sp "github.com/funchost/funchost/storageprovider"
)

// TestEventBeforeStartIsKept: an event that reaches an instance before its
// start was processed (on Azure Storage: the host that had received the
// start message died, and the message stays locked until its visibility
// timeout while the event is received by the next owner) is delivered
// again rather than dropped, and the orchestration gets it once it runs.
// Messages for an instance that never starts are dropped after
// maxStartWaitDeliveries deliveries.
func TestEventBeforeStartIsKept(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			reg := baseRegistry()
			reg.Orchestrators["WaitGo"] = func(ctx bindings.OrchestrationContext) (any, error) {
				return bindings.WaitForExternalEvent[string](ctx, "Go")
			}
			h := newHarness(t, m, reg)
			id := "early-" + m.name
			h.raise(id, "Go", "yes")
			deadline := time.Now().Add(30 * time.Second)
			for h.counts.abandoned.Load() == 0 {
				if time.Now().After(deadline) {
					t.Fatal("the event for the instance that has not started was not handed back (dropped)")
				}
				time.Sleep(5 * time.Millisecond)
			}
			h.start("WaitGo", id, nil)
			expectOutput(t, h.waitStatus(id, sp.StatusCompleted), `"yes"`)
		})
	}
	t.Run("bounded", func(t *testing.T) {
		wi := &sp.OrchestrationWorkItem{InstanceID: "never", DequeueCount: maxStartWaitDeliveries,
			NewMessages: []*sp.TaskMessage{{Event: &sp.HistoryEvent{EventType: sp.EventEventRaised, Name: "e"}, Target: sp.OrchestrationInstance{InstanceID: "never"}}}}
		p := &processor{}
		pl := p.triage(wi, nil)
		if awaitsStart(wi, &pl) {
			t.Errorf("delivery %d of an event for an instance without history is still handed back", wi.DequeueCount)
		}
		wi.DequeueCount = 1
		if !awaitsStart(wi, &pl) {
			t.Error("the first delivery of an event for an instance without history is dropped")
		}
	})
}
