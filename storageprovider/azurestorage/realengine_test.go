package azurestorage

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/engine"
	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/azurestorage/azuritetest"
)

// This file runs funchost's real engine on the provider, for behaviour
// that needs both: poison verdicts, status-row writes, start conflicts.

// runEngine starts an engine worker on hub; the returned function stops
// it (and stopHub, when given).
func runEngine(t *testing.T, hub sp.TaskHub, reg engine.Registry, opts engine.Options, stopHub *TaskHub) func() {
	t.Helper()
	w := engine.NewWorker(hub, reg, opts)
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = w.Stop(ctx)
		if stopHub != nil {
			_ = stopHub.Stop(ctx)
		}
	}
}

// createNamed creates instance id of orchestrator name.
func createNamed(t *testing.T, h *TaskHub, id, name string) {
	t.Helper()
	m := startMsg(id, "")
	m.Event.Name = name
	if err := h.CreateInstance(context.Background(), m); err != nil {
		t.Fatal(err)
	}
}

// waitState waits until the instance's status row satisfies ok.
func waitState(t *testing.T, h *TaskHub, id, what string, ok func(*sp.OrchestrationState) bool) *sp.OrchestrationState {
	t.Helper()
	var st *sp.OrchestrationState
	waitFor(t, 60*time.Second, id+": "+what, func() bool {
		s, err := h.GetOrchestrationState(context.Background(), id, true)
		st = s
		return err == nil && ok(s)
	})
	return st
}

func hasStatus(want sp.OrchestrationStatus) func(*sp.OrchestrationState) bool {
	return func(s *sp.OrchestrationState) bool { return s.RuntimeStatus == want }
}

// failingCommits makes every orchestration commit fail (as a storage
// fault or an engine bug would, again and again) except the poison
// verdict, so that the engine keeps abandoning the work item.
type failingCommits struct {
	sp.TaskHub
	failed     atomic.Int32
	maxDequeue atomic.Int32
}

func (f *failingCommits) CompleteOrchestrationWorkItem(ctx context.Context, wi *sp.OrchestrationWorkItem, c *sp.OrchestrationCheckpoint) error {
	if int32(wi.DequeueCount) > f.maxDequeue.Load() {
		f.maxDequeue.Store(int32(wi.DequeueCount))
	}
	if c.State == nil || c.State.RuntimeStatus != sp.StatusFailed {
		f.failed.Add(1)
		return errors.New("injected commit failure")
	}
	return f.TaskHub.CompleteOrchestrationWorkItem(ctx, wi, c)
}

// TestPoisonOrchestrationFailsWithEngine: the real engine on this provider
// fails an instance whose work item keeps coming back, once the queue's
// DequeueCount passes the engine's MaxDequeueCount, with a clear reason,
// instead of retrying forever.
func TestPoisonOrchestrationFailsWithEngine(t *testing.T) {
	h := newTestHub(t, azuritetest.ConnectionString(t), func(o *Options) { o.PartitionCount = 1 })
	startHub(t, h)
	hub := &failingCommits{TaskHub: h}
	reg := engine.Registry{Orchestrators: map[string]bindings.Orchestrator{
		"Doomed": func(ctx bindings.OrchestrationContext) (any, error) { return "never committed", nil },
	}}
	defer runEngine(t, hub, reg, engine.Options{MaxDequeueCount: 1, MaxConcurrentOrchestrations: 1, MaxConcurrentActivities: 1}, nil)()
	createNamed(t, h, "doomed1", "Doomed")
	st := waitState(t, h, "doomed1", "Failed", hasStatus(sp.StatusFailed))
	if st.FailureDetails == nil || st.FailureDetails.ErrorType != "PoisonMessage" || !strings.Contains(st.FailureDetails.ErrorMessage, "MaxDequeueCount 1") {
		t.Fatalf("state = %+v, failure %+v", st, st.FailureDetails)
	}
	if got := hub.failed.Load(); got != 1 {
		t.Errorf("failed commits = %d, want 1 (the first delivery)", got)
	}
	if got := hub.maxDequeue.Load(); got != 2 {
		t.Errorf("DequeueCount of the poison verdict = %d, want 2", got)
	}
}

// TestStatusRowLastUpdatedFollowsVisibleChanges: the status row skips
// episodes that change nothing but LastUpdatedTime, yet every write of a
// new custom status, status or output carries the episode's
// LastUpdatedTime.
func TestStatusRowLastUpdatedFollowsVisibleChanges(t *testing.T) {
	h := newTestHub(t, azuritetest.ConnectionString(t), func(o *Options) { o.PartitionCount = 1 })
	startHub(t, h)
	reg := engine.Registry{Orchestrators: map[string]bindings.Orchestrator{
		"Stepper": func(ctx bindings.OrchestrationContext) (any, error) {
			for _, s := range []string{"a", "b"} {
				ctx.SetCustomStatus(s)
				if err := ctx.WaitForExternalEvent("go").Await(nil); err != nil {
					return nil, err
				}
			}
			return "done", nil
		},
	}}
	defer runEngine(t, h, reg, engine.Options{MaxConcurrentOrchestrations: 2, MaxConcurrentActivities: 1}, nil)()
	createNamed(t, h, "stepper1", "Stepper")
	raise := func() {
		if err := h.SendTaskMessages(context.Background(), &sp.TaskMessage{Event: sp.NewEventRaisedEvent(sp.Now(), "go", ""),
			Target: sp.OrchestrationInstance{InstanceID: "stepper1"}}); err != nil {
			t.Fatal(err)
		}
	}
	a := waitState(t, h, "stepper1", "custom status a", func(s *sp.OrchestrationState) bool { return s.CustomStatus == `"a"` })
	raise()
	b := waitState(t, h, "stepper1", "custom status b", func(s *sp.OrchestrationState) bool { return s.CustomStatus == `"b"` })
	if !b.LastUpdatedTime.After(a.LastUpdatedTime) {
		t.Errorf("custom status changed but LastUpdatedTime did not: %v then %v", a.LastUpdatedTime, b.LastUpdatedTime)
	}
	raise()
	c := waitState(t, h, "stepper1", "Completed", hasStatus(sp.StatusCompleted))
	if !c.LastUpdatedTime.After(b.LastUpdatedTime) || c.Output != `"done"` {
		t.Errorf("completion: LastUpdatedTime %v (was %v), output %s", c.LastUpdatedTime, b.LastUpdatedTime, c.Output)
	}
}

// TestSubOrchestrationIDInUseFailsCall: on this provider too, a parent
// that starts a sub-orchestration under the explicit ID of a running
// instance gets a failed call instead of waiting forever, and the running
// instance is left alone. The hub is restarted between the two starts so
// that the child's start meets no cached history.
func TestSubOrchestrationIDInUseFailsCall(t *testing.T) {
	conn := azuritetest.ConnectionString(t)
	name := uniqueHubName("sub")
	hubFor := func() *TaskHub {
		return newTestHub(t, conn, func(o *Options) { o.PartitionCount = 1; o.TaskHubName = name })
	}
	reg := engine.Registry{Orchestrators: map[string]bindings.Orchestrator{
		"Forever": func(ctx bindings.OrchestrationContext) (any, error) {
			return nil, ctx.WaitForExternalEvent("never").Await(nil)
		},
		"Caller": func(ctx bindings.OrchestrationContext) (any, error) {
			err := ctx.CallSubOrchestrator("Forever", nil, bindings.WithInstanceID("holder1")).Await(nil)
			var tfe *bindings.TaskFailedError
			if errors.As(err, &tfe) {
				return tfe.ErrorType, nil
			}
			return nil, err
		},
	}}
	opts := engine.Options{MaxConcurrentOrchestrations: 2, MaxConcurrentActivities: 1, SessionCacheSize: 8}

	h1 := hubFor()
	startHub(t, h1)
	stop := runEngine(t, h1, reg, opts, h1)
	createNamed(t, h1, "holder1", "Forever")
	holder := waitState(t, h1, "holder1", "Running", hasStatus(sp.StatusRunning))
	stop()

	h2 := hubFor()
	startHub(t, h2)
	defer runEngine(t, h2, reg, opts, h2)()
	createNamed(t, h2, "caller1", "Caller")
	if st := waitState(t, h2, "caller1", "Completed", hasStatus(sp.StatusCompleted)); st.Output != `"OrchestrationAlreadyExists"` {
		t.Fatalf("caller = %+v", st)
	}
	if st := waitState(t, h2, "holder1", "Running", hasStatus(sp.StatusRunning)); st.ExecutionID != holder.ExecutionID {
		t.Fatalf("holder replaced: %+v (was execution %s)", st, holder.ExecutionID)
	}
}

// TestLocalWakeUpsWithoutPolling: with polling all but switched off (a
// 10-minute interval), an orchestration that calls an activity and waits
// on a durable timer still completes: this host's own sends wake its
// control-queue and work-item pollers, and a timer it sets for a
// partition wakes that partition when it is due.
func TestLocalWakeUpsWithoutPolling(t *testing.T) {
	h := newTestHub(t, azuritetest.ConnectionString(t), func(o *Options) {
		o.PartitionCount = 1
		o.MinQueuePollingInterval = 10 * time.Minute
		o.MaxQueuePollingInterval = 10 * time.Minute
	})
	startHub(t, h)
	reg := engine.Registry{
		Orchestrators: map[string]bindings.Orchestrator{
			"Nap": func(ctx bindings.OrchestrationContext) (any, error) {
				v, err := bindings.CallActivity[int](ctx, "One", nil)
				if err != nil {
					return nil, err
				}
				if err := ctx.CreateTimer(ctx.CurrentUTCDateTime().Add(time.Second)).Await(nil); err != nil {
					return nil, err
				}
				return v + 1, nil
			},
		},
		Activities: map[string]bindings.Activity{"One": func(bindings.ActivityContext) (any, error) { return 1, nil }},
	}
	defer runEngine(t, h, reg, engine.Options{MaxConcurrentOrchestrations: 2, MaxConcurrentActivities: 2}, nil)()
	// Let the pollers find their queues empty and go to sleep.
	time.Sleep(500 * time.Millisecond)
	createNamed(t, h, "nap1", "Nap")
	if st := waitState(t, h, "nap1", "Completed", hasStatus(sp.StatusCompleted)); st.Output != "2" {
		t.Fatalf("state = %+v", st)
	}
}
