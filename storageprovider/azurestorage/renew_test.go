package azurestorage

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/azurestorage/azuritetest"
)

// slowUpdates holds back the answer to control-queue message updates (a
// renewal's) once armed: the queue has already given the message a new
// pop receipt, the provider does not know it yet.
type slowUpdates struct {
	armed    atomic.Bool
	inFlight chan struct{} // receives once per held answer
}

func (p *slowUpdates) Do(req *policy.Request) (*http.Response, error) {
	r := req.Raw()
	resp, err := req.Next()
	if p.armed.Load() && r.Method == http.MethodPut && strings.Contains(r.URL.Path, "-control-") && r.URL.Query().Has("popreceipt") {
		p.inFlight <- struct{}{}
		time.Sleep(300 * time.Millisecond)
	}
	return resp, err
}

// TestRenewalDuringCommit: a lock renewal whose answer is still on its
// way when the commit reaches its last step (deleting the consumed
// messages by pop receipt) does not make the delete miss: the commit waits
// for the renewal and deletes with the receipt it brought. A renewal after
// the commit fails with ErrWorkItemLost without a queue request.
func TestRenewalDuringCommit(t *testing.T) {
	gate := &slowUpdates{inFlight: make(chan struct{}, 4)}
	h := newTestHub(t, azuritetest.ConnectionString(t), func(o *Options) {
		o.PartitionCount = 1
		o.faults = gate
	})
	startHub(t, h)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	wi := createAndLock(ctx, t, h, startMsg("renew-commit", `0`))
	gate.armed.Store(true)
	renewed := make(chan error, 1)
	go func() { renewed <- h.RenewOrchestrationWorkItem(ctx, wi) }()
	<-gate.inFlight // the queue has renewed; the answer is held back
	st := &sp.OrchestrationState{InstanceID: wi.InstanceID, Name: "Seq", RuntimeStatus: sp.StatusCompleted,
		CreatedTime: time.Now(), LastUpdatedTime: time.Now(), CompletedTime: time.Now()}
	evs := []*sp.HistoryEvent{wi.NewMessages[0].Event, sp.NewExecutionCompletedEvent(sp.Now(), -1, sp.StatusCompleted, `0`, nil)}
	if err := h.CompleteOrchestrationWorkItem(ctx, wi, &sp.OrchestrationCheckpoint{NewEvents: evs, State: st}); err != nil {
		t.Fatal(err)
	}
	if err := <-renewed; err != nil {
		t.Errorf("the renewal during the commit failed: %v", err)
	}
	assertControlQueuesEmpty(ctx, t, h)
	if err := h.RenewOrchestrationWorkItem(ctx, wi); !errors.Is(err, sp.ErrWorkItemLost) {
		t.Errorf("renewing a committed work item: %v, want ErrWorkItemLost", err)
	}
	if len(gate.inFlight) != 0 {
		t.Error("renewing a committed work item sent a queue request")
	}
}

// TestLocalResultsBounded: while the dispatcher holds
// ControlQueueBufferThreshold messages, activity results for a locked
// instance go through the control queue instead of being held with their
// activity messages locked; every result still reaches the instance.
func TestLocalResultsBounded(t *testing.T) {
	const threshold, calls = 2, 5
	h := newTestHub(t, azuritetest.ConnectionString(t), func(o *Options) {
		o.PartitionCount = 1
		o.ControlQueueBufferThreshold = threshold
	})
	startHub(t, h)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	wi := createAndLock(ctx, t, h, startMsg("held-results", `0`))
	target := wi.NewMessages[0].Target
	evs := []*sp.HistoryEvent{wi.NewMessages[0].Event}
	var acts []*sp.TaskMessage
	for i := range calls {
		ev := sp.NewTaskScheduledEvent(sp.Now(), i, "Inc", "", `1`)
		evs = append(evs, ev)
		acts = append(acts, &sp.TaskMessage{Event: ev.Clone(), Target: target})
	}
	running := &sp.OrchestrationState{InstanceID: target.InstanceID, ExecutionID: target.ExecutionID, Name: "Seq",
		RuntimeStatus: sp.StatusRunning, CreatedTime: time.Now(), LastUpdatedTime: time.Now()}
	if err := h.CompleteOrchestrationWorkItem(ctx, wi, &sp.OrchestrationCheckpoint{NewEvents: evs, ActivityMessages: acts, State: running}); err != nil {
		t.Fatal(err)
	}
	// Lock the instance with an event, then complete every activity.
	if err := h.SendTaskMessages(ctx, &sp.TaskMessage{Event: sp.NewEventRaisedEvent(sp.Now(), "wake", `1`), Target: target}); err != nil {
		t.Fatal(err)
	}
	busy, err := h.LockNextOrchestrationWorkItem(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range calls {
		aw, err := h.LockNextActivityWorkItem(ctx)
		if err != nil {
			t.Fatal(err)
		}
		res := &sp.TaskMessage{Event: sp.NewTaskCompletedEvent(sp.Now(), aw.Message.Event.EventID, `2`), Target: target}
		if err := h.CompleteActivityWorkItem(ctx, aw, res); err != nil {
			t.Fatal(err)
		}
	}
	if held := h.orch.heldCount(); held != threshold {
		t.Errorf("%d messages held for the locked instance, want %d (the threshold)", held, threshold)
	}
	if err := h.AbandonOrchestrationWorkItem(ctx, busy, 0); err != nil {
		t.Fatal(err)
	}
	got := map[int]bool{}
	for len(got) < calls {
		wi, err := h.LockNextOrchestrationWorkItem(ctx)
		if err != nil {
			t.Fatalf("results received %v, want %d: %v", got, calls, err)
		}
		for _, m := range wi.NewMessages {
			if m.Event.EventType == sp.EventTaskCompleted {
				got[m.Event.TaskScheduledID] = true
			}
		}
		if err := h.AbandonOrchestrationWorkItem(ctx, wi, 0); err != nil {
			t.Fatal(err)
		}
	}
}
