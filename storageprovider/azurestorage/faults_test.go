package azurestorage

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/azurestorage/azuritetest"
)

// TestAzuriteRestart restarts a disk-backed Azurite in the middle of a
// run: the provider logs and retries, and every orchestration completes
// exactly once.
func TestAzuriteRestart(t *testing.T) {
	srv, err := azuritetest.Start(azuritetest.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("Azurite is required: %v", err)
	}
	t.Cleanup(srv.Stop) // after the hub's cleanup (LIFO)
	h := newTestHub(t, srv.ConnectionString(), nil)
	startHub(t, h)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	eng := &miniEngine{h: h, steps: 3}
	wg := eng.run(ctx, t, 2)
	var ids []string
	create := func(n int) {
		for i := 0; i < n; i++ {
			id := fmt.Sprintf("restart-%d-%s", len(ids), newExecID()[:6])
			for {
				err := h.CreateInstance(ctx, startMsg(id, `1`))
				if err == nil {
					break
				}
				if ctx.Err() != nil {
					t.Fatal(err)
				}
				t.Logf("create %s: %v (retrying)", id, err)
				time.Sleep(500 * time.Millisecond)
			}
			ids = append(ids, id)
		}
	}
	create(15)
	time.Sleep(300 * time.Millisecond) // mid-run
	if err := srv.Restart(); err != nil {
		t.Fatalf("restarting Azurite: %v", err)
	}
	create(15)
	waitCompleted(t, h, ids, 120*time.Second)
	cancel()
	wg.Wait()
	eng.mu.Lock()
	defer eng.mu.Unlock()
	for _, id := range ids {
		if n := eng.completed[id]; n != 1 {
			t.Errorf("%s completed %d times, want 1", id, n)
		}
	}
	if h.stopChan() == nil {
		t.Error("the hub stopped itself")
	}
}

// TestPoisonMessage: an unreadable control-queue message is retried with
// backoff and deleted after MaxDequeueCount deliveries; good messages
// keep flowing.
func TestPoisonMessage(t *testing.T) {
	h := newTestHub(t, azuritetest.ConnectionString(t), func(o *Options) { o.MaxDequeueCount = 2; o.PartitionCount = 1 })
	startHub(t, h)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := h.control[0].EnqueueMessage(ctx, "this is not a task message", nil); err != nil {
		t.Fatal(err)
	}
	id := "ok-" + newExecID()[:6]
	wi := createAndLock(ctx, t, h, startMsg(id, `1`))
	if wi.InstanceID != id {
		t.Fatalf("work item for %q, want %q", wi.InstanceID, id)
	}
	if err := h.CompleteOrchestrationWorkItem(ctx, wi, (&miniEngine{steps: 1, local: true}).episode(wi)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the poison message to be deleted", func() bool {
		resp, err := h.control[0].PeekMessages(ctx, &azqueue.PeekMessagesOptions{NumberOfMessages: to.Ptr(int32(1))})
		if err != nil {
			return false
		}
		props, err := h.control[0].GetProperties(ctx, nil)
		return err == nil && len(resp.Messages) == 0 && props.ApproximateMessagesCount != nil && *props.ApproximateMessagesCount == 0
	})
}

// TestLongTimerChaining shortens the queue visibility limit: a timer due
// beyond it hops through re-sent messages and is delivered once, not
// before its FireAt.
func TestLongTimerChaining(t *testing.T) {
	saved := maxVisibility
	maxVisibility = 2 * time.Second
	// Restored by a cleanup registered before the hub's: cleanups run last
	// first, so the hub's goroutines have stopped reading it by then.
	t.Cleanup(func() { maxVisibility = saved })
	h := newTestHub(t, azuritetest.ConnectionString(t), func(o *Options) { o.PartitionCount = 1 })
	startHub(t, h)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	id := "timer-" + newExecID()[:6]
	start := startMsg(id, `1`)
	wi := createAndLock(ctx, t, h, start)
	fireAt := sp.Now().Add(5 * time.Second)
	before := h.RequestCounter().Snapshot()
	if err := h.CompleteOrchestrationWorkItem(ctx, wi, &sp.OrchestrationCheckpoint{
		NewEvents: []*sp.HistoryEvent{
			sp.NewOrchestratorStartedEvent(sp.Now()),
			wi.NewMessages[0].Event,
			sp.NewTimerCreatedEvent(sp.Now(), 0, fireAt),
			sp.NewOrchestratorCompletedEvent(sp.Now()),
		},
		TimerMessages: []*sp.TaskMessage{{Event: sp.NewTimerFiredEvent(sp.Now(), 0, fireAt), Target: start.Target}},
	}); err != nil {
		t.Fatal(err)
	}
	wi, err := h.LockNextOrchestrationWorkItem(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if now := time.Now(); now.Before(fireAt) {
		t.Errorf("timer delivered at %v, before %v", now, fireAt)
	}
	if len(wi.NewMessages) != 1 || wi.NewMessages[0].Event.EventType != sp.EventTimerFired || !wi.NewMessages[0].Event.FireAt.Equal(fireAt) {
		t.Errorf("got %v, want the TimerFired", wi.NewMessages[0].Event)
	}
	if n := h.RequestCounter().Snapshot().Sub(before).ByOperation["queue.enqueue"]; n < 2 {
		t.Errorf("%d enqueues, want the timer chained (at least 2)", n)
	}
	if err := h.CompleteOrchestrationWorkItem(ctx, wi, &sp.OrchestrationCheckpoint{}); err != nil {
		t.Fatal(err)
	}
}
