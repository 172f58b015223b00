package azurestorage

import (
	"context"
	"testing"
	"time"

	"github.com/funchost/funchost/storageprovider/azurestorage/azuritetest"
)

func TestQueueStats(t *testing.T) {
	h := newTestHub(t, azuritetest.ConnectionString(t), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := h.CreateIfNotExists(ctx); err != nil {
		t.Fatal(err)
	}
	// Not started: nobody receives, the start message stays queued.
	if err := h.CreateInstance(ctx, startMsg("qs-1", `"x"`)); err != nil {
		t.Fatal(err)
	}
	st, err := h.QueueStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.ControlQueues) != 2 || st.WorkItems.Name != h.names.workItemQueue || st.WorkItems.Length != 0 {
		t.Fatalf("stats %+v", st)
	}
	var total int64
	for i, q := range st.ControlQueues {
		if q.Name != h.names.controlQueues[i] || q.Owned || q.OldestAge < 0 {
			t.Errorf("control queue %d: %+v", i, q)
		}
		total += q.Length
	}
	if total != 1 {
		t.Errorf("control queues hold %d messages, want the start message", total)
	}
	startHub(t, h)
	if st, err = h.QueueStats(ctx); err != nil {
		t.Fatal(err)
	}
	for i, q := range st.ControlQueues {
		if !q.Owned {
			t.Errorf("control queue %d not owned after start: %+v", i, q)
		}
	}
}
