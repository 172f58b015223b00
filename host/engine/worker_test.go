package engine

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/funchost/funchost/bindings"
	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/memory"
)

// countingHub counts the task-hub calls that cost storage requests and can
// make commits fail with ErrWorkItemLost on demand.
type countingHub struct {
	sp.TaskHub
	orchCommits, actCompletes, actLocks atomic.Int32
	// loseNext makes the next orchestration commits of these instances
	// fail: the work item is abandoned and ErrWorkItemLost returned.
	mu       sync.Mutex
	loseNext map[string]int
	lost     atomic.Int32
	// poisonID's work items claim a huge delivery count.
	poisonID string
	// abandoned counts the worker's abandoned orchestration work items.
	abandoned atomic.Int32
}

func (h *countingHub) AbandonOrchestrationWorkItem(ctx context.Context, wi *sp.OrchestrationWorkItem, retryAfter time.Duration) error {
	h.abandoned.Add(1)
	return h.TaskHub.AbandonOrchestrationWorkItem(ctx, wi, retryAfter)
}

func (h *countingHub) LockNextOrchestrationWorkItem(ctx context.Context) (*sp.OrchestrationWorkItem, error) {
	wi, err := h.TaskHub.LockNextOrchestrationWorkItem(ctx)
	if err == nil && wi != nil && wi.InstanceID == h.poisonID {
		wi.DequeueCount = 99
	}
	return wi, err
}

func (h *countingHub) CompleteOrchestrationWorkItem(ctx context.Context, wi *sp.OrchestrationWorkItem, c *sp.OrchestrationCheckpoint) error {
	h.mu.Lock()
	lose := h.loseNext[wi.InstanceID] > 0
	if lose {
		h.loseNext[wi.InstanceID]--
	}
	h.mu.Unlock()
	if lose {
		h.lost.Add(1)
		if err := h.TaskHub.AbandonOrchestrationWorkItem(ctx, wi, 0); err != nil {
			return err
		}
		return sp.ErrWorkItemLost
	}
	h.orchCommits.Add(1)
	return h.TaskHub.CompleteOrchestrationWorkItem(ctx, wi, c)
}

func (h *countingHub) LockNextActivityWorkItem(ctx context.Context) (*sp.ActivityWorkItem, error) {
	wi, err := h.TaskHub.LockNextActivityWorkItem(ctx)
	if err == nil && wi != nil {
		h.actLocks.Add(1)
	}
	return wi, err
}

func (h *countingHub) CompleteActivityWorkItem(ctx context.Context, wi *sp.ActivityWorkItem, r *sp.TaskMessage) error {
	h.actCompletes.Add(1)
	return h.TaskHub.CompleteActivityWorkItem(ctx, wi, r)
}

func newCountingHarness(t *testing.T, m mode, reg Registry, tweak ...func(*Options)) (*harness, *countingHub) {
	tweak = append([]func(*Options){func(o *Options) { o.MaxConcurrentOrchestrations, o.MaxConcurrentActivities = 2, 4 }}, tweak...)
	h := newHarness(t, m, reg, tweak...)
	return h, h.counts
}

// TestLocalActivitiesCutTaskHubTraffic: with LocalActivities a
// three-activity sequence commits once and never touches the activity
// queue; without, it takes four commits and three activity round trips.
func TestLocalActivitiesCutTaskHubTraffic(t *testing.T) {
	tests := []struct {
		m                    mode
		commits, actComplete int32
	}{
		{mode{name: "queued"}, 4, 3},
		{mode{name: "local", local: true}, 1, 0},
		{mode{name: "local+cache", local: true, cache: 8}, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.m.name, func(t *testing.T) {
			h, hub := newCountingHarness(t, tt.m, baseRegistry())
			expectOutput(t, h.waitDone(h.start("Sequence", "", nil)), `["Hello Tokyo!","Hello Seattle!","Hello London!"]`)
			if got := hub.orchCommits.Load(); got != tt.commits {
				t.Errorf("orchestration commits = %d, want %d", got, tt.commits)
			}
			if got := hub.actCompletes.Load(); got != tt.actComplete {
				t.Errorf("activity completions = %d, want %d", got, tt.actComplete)
			}
		})
	}
}

// TestWorkItemLostDropsSession: a commit that loses its lock must not
// leave a cached execution ahead of the committed history; the retry
// replays and the result is the same.
func TestWorkItemLostDropsSession(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			h, hub := newCountingHarness(t, m, baseRegistry())
			id := "lost-1"
			hub.mu.Lock()
			hub.loseNext[id] = 2
			hub.mu.Unlock()
			h.start("Sequence", id, nil)
			expectOutput(t, h.waitDone(id), `["Hello Tokyo!","Hello Seattle!","Hello London!"]`)
			if hub.lost.Load() != 2 {
				t.Errorf("lost commits = %d", hub.lost.Load())
			}
			hist, err := h.hub.GetOrchestrationHistory(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(hist); n != 16 {
				t.Errorf("history has %d events (%s), want 16", n, eventTypes(hist))
			}
		})
	}
}

// TestSessionCacheBoundedAndEvicts: the cache never holds more than its
// size, and evicted executions are torn down.
func TestSessionCacheBoundedAndEvicts(t *testing.T) {
	m := mode{name: "cache=2", cache: 2}
	h := newHarness(t, m, baseRegistry())
	var ids []string
	for i := 0; i < 5; i++ {
		id := h.start("Waiter", "", nil)
		h.waitStatus(id, sp.StatusRunning)
		ids = append(ids, id)
	}
	if n := h.w.CachedSessions(); n > 2 {
		t.Fatalf("cache holds %d sessions, bound 2", n)
	}
	for _, id := range ids {
		for i := 1; i <= 3; i++ {
			h.raise(id, "Item", i)
		}
	}
	for _, id := range ids {
		expectOutput(t, h.waitDone(id), "[1,2,3]")
	}
}

func TestSessionCacheUnit(t *testing.T) {
	c := newSessionCache(2)
	mk := func() *execution {
		e := newExecution(func(ctx bindings.OrchestrationContext) (any, error) {
			return nil, ctx.WaitForExternalEvent("x").Await(nil)
		}, nil)
		e.apply(osAt(t0), false)
		e.apply(esEv("O", ""), false)
		return e
	}
	a, b, d := mk(), mk(), mk()
	c.put("a", a)
	c.put("b", b)
	c.put("d", d) // evicts a
	if !a.exited || b.exited || d.exited {
		t.Fatalf("eviction: a=%v b=%v d=%v", a.exited, b.exited, d.exited)
	}
	if c.take("a") != nil || c.take("b") != b {
		t.Fatal("take returned the wrong execution")
	}
	b.teardown()
	c.clear()
	if !d.exited || c.len() != 0 {
		t.Fatal("clear left executions running")
	}
	late := mk()
	c.put("late", late)
	if !late.exited || c.len() != 0 {
		t.Fatal("a closed cache parked an execution")
	}
}

func TestActivityContextCancelledOnStop(t *testing.T) {
	started := make(chan struct{})
	reg := Registry{
		Orchestrators: map[string]bindings.Orchestrator{
			"Slow": func(ctx bindings.OrchestrationContext) (any, error) {
				return nil, ctx.CallActivity("Block", nil).Await(nil)
			},
		},
		Activities: map[string]bindings.Activity{
			"Block": func(ctx bindings.ActivityContext) (any, error) {
				close(started)
				<-ctx.Done()
				return nil, ctx.Err()
			},
		},
	}
	mem := memory.New(memory.Options{})
	ctx := context.Background()
	_ = mem.Start(ctx)
	defer mem.Stop(ctx)
	w := NewWorker(mem, reg, Options{MaxConcurrentOrchestrations: 1, MaxConcurrentActivities: 1})
	_ = w.Start(ctx)
	h := &harness{t: t, hub: mem, w: w}
	id := h.start("Slow", "", nil)
	<-started
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := w.Stop(sctx); err != nil {
		t.Fatal(err)
	}
	// The activity failed only because of the shutdown: it was abandoned,
	// not reported, so the orchestration still runs.
	st, err := mem.GetOrchestrationState(ctx, id, false)
	if err != nil || st.RuntimeStatus != sp.StatusRunning {
		t.Fatalf("state = %+v, %v", st, err)
	}
}

// TestPoisonInstanceFails: a work item delivered more often than
// MaxDequeueCount fails its instance with a clear reason instead of
// running (and crashing) again.
func TestPoisonInstanceFails(t *testing.T) {
	h, hub := newCountingHarness(t, mode{name: "poison"}, baseRegistry())
	hub.poisonID = "poisoned"
	st := h.waitDone(h.start("Sequence", "poisoned", nil))
	if st.RuntimeStatus != sp.StatusFailed || !strings.Contains(st.Output, "MaxDequeueCount") {
		t.Fatalf("state = %+v", st)
	}
	expectOutput(t, h.waitDone(h.start("Sequence", "healthy", nil)), `["Hello Tokyo!","Hello Seattle!","Hello London!"]`)
}

func TestWorkerLifecycle(t *testing.T) {
	mem := memory.New(memory.Options{})
	ctx := context.Background()
	_ = mem.Start(ctx)
	defer mem.Stop(ctx)
	w := NewWorker(mem, Registry{}, Options{})
	if err := w.Stop(ctx); err != nil {
		t.Fatalf("Stop before Start: %v", err)
	}
	if w.opts.MaxConcurrentOrchestrations <= 0 || w.opts.MaxConcurrentActivities <= 0 || w.opts.MaxDequeueCount != DefaultMaxDequeueCount {
		t.Fatalf("defaults not applied: %+v", w.opts)
	}
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Start(ctx); err == nil {
		t.Fatal("second Start succeeded")
	}
	if err := w.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}
