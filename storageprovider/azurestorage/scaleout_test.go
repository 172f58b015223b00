package azurestorage

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/azurestorage/azuritetest"
)

// TestTakeoverRaceAndBalance: host A crashes (leases not released) while
// holding a work item; host B takes A's partitions once the leases expire
// and gets the same instance once the message lock expires. Both commit:
// exactly one wins, the other gets ErrWorkItemLost. A third host then
// joins and the partitions are balanced between the two live hosts.
func TestTakeoverRaceAndBalance(t *testing.T) {
	conn := azuritetest.ConnectionString(t)
	name := uniqueHubName("race")
	mk := func(worker string) *TaskHub {
		return newTestHub(t, conn, func(o *Options) {
			o.TaskHubName = name
			o.WorkerID = worker
			o.ControlQueueVisibilityTimeout = 3 * time.Second
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	a := mk("hostA")
	startHub(t, a)
	id := "race-" + newExecID()[:8]
	if err := a.CreateInstance(ctx, startMsg(id, `"in"`)); err != nil {
		t.Fatal(err)
	}
	wiA, err := a.LockNextOrchestrationWorkItem(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.stop(ctx, false); err != nil { // crash: nothing released
		t.Fatal(err)
	}

	b := mk("hostB")
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	crashed := time.Now()
	waitFor(t, 40*time.Second, "B to take over A's expired leases", func() bool { return len(b.OwnedPartitions()) == 2 })
	t.Logf("takeover after %s", time.Since(crashed).Round(time.Second))
	wiB, err := b.LockNextOrchestrationWorkItem(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A took the start the local way (no dequeue), so B's receive is the
	// queue's first delivery or, if B stole the partition before A's
	// leases expired, a later one.
	if a.LocalSends() != 1 {
		t.Errorf("A sent %d starts the local way, want 1", a.LocalSends())
	}
	if wiB.InstanceID != id || wiB.DequeueCount < 1 {
		t.Fatalf("B got %s (dequeue %d), want %s redelivered", wiB.InstanceID, wiB.DequeueCount, id)
	}

	engine := &miniEngine{steps: 1, local: true}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, x := range []struct {
		h  *TaskHub
		wi *sp.OrchestrationWorkItem
	}{{a, wiA}, {b, wiB}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = x.h.CompleteOrchestrationWorkItem(ctx, x.wi, engine.episode(x.wi))
		}()
	}
	wg.Wait()
	won, lost := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case errors.Is(err, sp.ErrWorkItemLost):
			lost++
		default:
			t.Errorf("commit: %v", err)
		}
	}
	if won != 1 || lost != 1 {
		t.Fatalf("commits: %d won, %d lost (errors %v), want exactly one winner", won, lost, errs)
	}
	hist, err := b.GetOrchestrationHistory(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	starts := 0
	for _, ev := range hist {
		if ev.EventType == sp.EventOrchestratorStarted {
			starts++
		}
	}
	if starts != 1 {
		t.Errorf("history has %d episodes, want exactly the winner's one: %v", starts, hist)
	}

	// A new host joins: it steals one partition, B keeps the other.
	c := mk("hostC")
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "balanced partitions", func() bool {
		return len(b.OwnedPartitions()) == 1 && len(c.OwnedPartitions()) == 1
	})
	// Work flows through both hosts.
	eb, ec := &miniEngine{h: b, steps: 2}, &miniEngine{h: c, steps: 2}
	rctx, rcancel := context.WithCancel(ctx)
	wgb, wgc := eb.run(rctx, t, 1), ec.run(rctx, t, 1)
	var ids []string
	for i := 0; i < 6; i++ {
		ids = append(ids, fmt.Sprintf("bal-%d-%s", i, newExecID()[:6]))
		if err := b.CreateInstance(ctx, startMsg(ids[i], `1`)); err != nil {
			t.Fatal(err)
		}
	}
	waitCompleted(t, b, ids, 60*time.Second)
	rcancel()
	wgb.Wait()
	wgc.Wait()
	// Stopping C releases its lease: B takes it back without waiting for
	// expiry.
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "B to pick up the released partition", func() bool { return len(b.OwnedPartitions()) == 2 })
}
