package azurestorage

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/azurestorage/azuritetest"
)

// TestLocalSends checks when a start goes the local way (enqueued
// invisible and handed to the dispatcher) and when it goes through the
// queue, and that either way the instance's first work item holds its
// start exactly once and its commit leaves the control queue empty.
func TestLocalSends(t *testing.T) {
	conn := azuritetest.ConnectionString(t)
	tests := []struct {
		name      string
		mod       func(*Options)
		starts    int
		wantLocal int64
	}{
		{"owned partition", nil, 3, 3},
		{"disabled", func(o *Options) { o.DisableLocalSends = true }, 2, 0},
		{"dispatcher full", func(o *Options) { o.ControlQueueBufferThreshold = 1 }, 3, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTestHub(t, conn, tt.mod)
			startHub(t, h)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			ids := map[string]bool{}
			for i := range tt.starts {
				id := fmt.Sprintf("local-%d-%s", i, newExecID()[:6])
				ids[id] = true
				if err := h.CreateInstance(ctx, startMsg(id, `"x"`)); err != nil {
					t.Fatal(err)
				}
			}
			if got := h.LocalSends(); got != tt.wantLocal {
				t.Errorf("LocalSends = %d, want %d", got, tt.wantLocal)
			}
			eng := &miniEngine{h: h, steps: 1, local: true}
			for range tt.starts {
				wi, err := h.LockNextOrchestrationWorkItem(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if !ids[wi.InstanceID] || len(wi.NewMessages) != 1 || wi.NewMessages[0].Event.EventType != sp.EventExecutionStarted {
					t.Fatalf("work item %q with %d messages, want one start of a created instance", wi.InstanceID, len(wi.NewMessages))
				}
				delete(ids, wi.InstanceID)
				if err := h.CompleteOrchestrationWorkItem(ctx, wi, eng.episode(wi)); err != nil {
					t.Fatal(err)
				}
			}
			assertControlQueuesEmpty(ctx, t, h)
		})
	}
}

// TestLocalSendSurvivesLostMemory: a start handed over locally and then
// forgotten before any work item ran it (the host's memory lost, as in a
// crash) is received from the queue once its invisibility ends and runs
// exactly once.
func TestLocalSendSurvivesLostMemory(t *testing.T) {
	h := newTestHub(t, azuritetest.ConnectionString(t), nil) // 2 s visibility
	startHub(t, h)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	id := "lost-" + newExecID()[:8]
	if err := h.CreateInstance(ctx, startMsg(id, `"x"`)); err != nil {
		t.Fatal(err)
	}
	if h.LocalSends() != 1 {
		t.Fatalf("LocalSends = %d, want 1", h.LocalSends())
	}
	p := sp.PartitionIndex(id, h.opts.PartitionCount)
	if dropped := h.orch.dropPartition(p); len(dropped) != 1 {
		t.Fatalf("the dispatcher held %d messages, want the start", len(dropped))
	}
	wi, err := h.LockNextOrchestrationWorkItem(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if wi.InstanceID != id || len(wi.NewMessages) != 1 {
		t.Fatalf("work item %q with %d messages, want the start of %q", wi.InstanceID, len(wi.NewMessages), id)
	}
	if err := h.CompleteOrchestrationWorkItem(ctx, wi, (&miniEngine{h: h, steps: 1, local: true}).episode(wi)); err != nil {
		t.Fatal(err)
	}
	st, err := h.GetOrchestrationState(ctx, id, true)
	if err != nil || st.RuntimeStatus != sp.StatusCompleted {
		t.Fatalf("state = %+v, %v", st, err)
	}
	assertControlQueuesEmpty(ctx, t, h)
}

// assertControlQueuesEmpty fails unless every control queue is empty
// (counting invisible messages too).
func assertControlQueuesEmpty(ctx context.Context, t *testing.T, h *TaskHub) {
	t.Helper()
	for i, q := range h.control {
		props, err := q.GetProperties(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if n := props.ApproximateMessagesCount; n != nil && *n != 0 {
			t.Errorf("control queue %d holds %d messages after the commits", i, *n)
		}
	}
}

// inFlight is a pipeline policy that records the most requests matching
// match that were in flight at once.
type inFlight struct {
	match     func(*http.Request) bool
	mu        sync.Mutex
	now, peak int
}

func (p *inFlight) Do(req *policy.Request) (*http.Response, error) {
	if !p.match(req.Raw()) {
		return req.Next()
	}
	p.mu.Lock()
	p.now++
	p.peak = max(p.peak, p.now)
	p.mu.Unlock()
	time.Sleep(5 * time.Millisecond) // widen the window in which calls overlap
	resp, err := req.Next()
	p.mu.Lock()
	p.now--
	p.mu.Unlock()
	return resp, err
}

// TestClientOperationsBounded: a burst of starts keeps at most
// MaxConcurrentClientOperations instance-row writes in flight, and every
// start still succeeds.
func TestClientOperationsBounded(t *testing.T) {
	const limit, starts = 3, 40
	gate := &inFlight{}
	h := newTestHub(t, azuritetest.ConnectionString(t), func(o *Options) {
		o.MaxConcurrentClientOperations = limit
		o.faults = gate
		gate.match = instanceWrites(newResourceNames(o.TaskHubName, 1).instancesTable)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := h.CreateIfNotExists(ctx); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, starts)
	for i := range starts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- h.CreateInstance(ctx, startMsg(fmt.Sprintf("gate-%d-%s", i, newExecID()[:6]), `1`))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if gate.peak > limit || gate.peak < 2 {
		t.Errorf("%d instance-row writes were in flight at once, want between 2 and %d", gate.peak, limit)
	}
}
