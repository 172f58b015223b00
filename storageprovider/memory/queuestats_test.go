package memory_test

import (
	"testing"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/memory"
)

// TestQueueStats: waiting orchestration messages count in the one control
// queue, queued activities in the work-item queue; ages run from the
// oldest message's creation, and a locked message is no longer queued.
func TestQueueStats(t *testing.T) {
	h := newHub(t, memory.Options{Name: "Hub1"})
	ctx := ctxT(t)
	old := start("a")
	old.Event.Timestamp = sp.Now().Add(-time.Minute)
	for _, m := range []*sp.TaskMessage{old, start("b")} {
		if err := h.CreateInstance(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.SendTaskMessages(ctx, raise("a", "e")); err != nil {
		t.Fatal(err)
	}
	wi := lock(t, h) // instance a: its two messages leave the queue
	act := &sp.TaskMessage{Event: sp.NewTaskScheduledEvent(sp.Now().Add(-2*time.Second), 0, "Act", "", ""), Target: sp.OrchestrationInstance{InstanceID: wi.InstanceID, ExecutionID: "e-a"}}
	st := wi.State.Clone()
	st.RuntimeStatus = sp.StatusRunning
	if err := h.CompleteOrchestrationWorkItem(ctx, wi, &sp.OrchestrationCheckpoint{State: st, ActivityMessages: []*sp.TaskMessage{act}}); err != nil {
		t.Fatal(err)
	}
	qs, err := h.QueueStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(qs.ControlQueues) != 1 {
		t.Fatalf("%d control queues, want 1", len(qs.ControlQueues))
	}
	c, w := qs.ControlQueues[0], qs.WorkItems
	checks := []struct {
		what      string
		ok        bool
		got, want any
	}{
		{"control queue name", c.Name == "hub1-control-00", c.Name, "hub1-control-00"},
		{"control queue owned", c.Owned, c.Owned, true},
		{"control length", c.Length == 1, c.Length, 1},
		{"control age (b is new)", c.OldestAge < 30*time.Second, c.OldestAge, "< 30s"},
		{"work-item name", w.Name == "hub1-workitems", w.Name, "hub1-workitems"},
		{"work-item length", w.Length == 1, w.Length, 1},
		{"work-item age", w.OldestAge >= 2*time.Second && w.OldestAge < time.Minute, w.OldestAge, "2s..1m"},
	}
	for _, ck := range checks {
		if !ck.ok {
			t.Errorf("%s = %v, want %v", ck.what, ck.got, ck.want)
		}
	}
	if _, err := h.LockNextActivityWorkItem(ctx); err != nil {
		t.Fatal(err)
	}
	if qs, _ := h.QueueStats(ctx); qs.WorkItems.Length != 0 || qs.WorkItems.OldestAge != 0 {
		t.Errorf("after the activity was taken: %+v, want an empty queue", qs.WorkItems)
	}
}
