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
