package engine

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/funchost/funchost/bindings"
	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/memory"
)

// slowCommitHub holds every orchestration commit until the work item's
// lock has been renewed twice (past its first expiry), as the commit of an
// episode that sends many thousands of messages outlasts the lock.
type slowCommitHub struct {
	renewCountingHub
	commits atomic.Int32
}

func (h *slowCommitHub) CompleteOrchestrationWorkItem(ctx context.Context, wi *sp.OrchestrationWorkItem, c *sp.OrchestrationCheckpoint) error {
	h.commits.Add(1)
	first := h.renewals.Load()
	// Give up after a while so that a missing renewal shows as a second
	// run of the episode rather than a hang.
	for i := 0; i < 500 && h.renewals.Load() < first+2; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	return h.TaskHub.CompleteOrchestrationWorkItem(ctx, wi, c)
}

// TestSlowCommitKeepsTheLock: a commit that takes longer than the work
// item's lock does not let another dispatch loop take the same messages
// and run the episode again: the lock is renewed from fetch to commit,
// with in-process activities on and off.
func TestSlowCommitKeepsTheLock(t *testing.T) {
	for _, local := range []bool{false, true} {
		t.Run(map[bool]string{false: "queued activities", true: "local activities"}[local], func(t *testing.T) {
			mem := memory.New(memory.Options{LockTimeout: time.Second})
			hub := &slowCommitHub{renewCountingHub: renewCountingHub{TaskHub: mem}}
			var firstEpisodes atomic.Int32
			reg := Registry{Orchestrators: map[string]bindings.Orchestrator{
				"Slow": func(ctx bindings.OrchestrationContext) (any, error) {
					if !ctx.IsReplaying() {
						firstEpisodes.Add(1)
					}
					return "done", nil
				},
			}}
			h := startLockTestWorker(t, mem, hub, reg, local)
			expectOutput(t, h.waitDone(h.start("Slow", "", nil)), `"done"`)
			if n := hub.renewals.Load(); n < 2 {
				t.Errorf("renewals = %d, want at least 2", n)
			}
			if n := hub.commits.Load(); n != 1 {
				t.Errorf("%d commits, want 1 (the episode was run again after its lock ran out)", n)
			}
			if n := firstEpisodes.Load(); n != 1 {
				t.Errorf("the orchestrator ran %d times, want once", n)
			}
		})
	}
}

// startLockTestWorker starts mem (a hub with a short lock) and a worker
// with two orchestration and two activity slots on hub (mem, wrapped), and
// stops both when the test ends.
func startLockTestWorker(t *testing.T, mem *memory.TaskHub, hub sp.TaskHub, reg Registry, local bool) *harness {
	t.Helper()
	ctx := context.Background()
	if err := mem.Start(ctx); err != nil {
		t.Fatal(err)
	}
	w := NewWorker(hub, reg, Options{LocalActivities: local, MaxConcurrentOrchestrations: 2, MaxConcurrentActivities: 2})
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := w.Stop(sctx); err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Stop: %v", err)
		}
		_ = mem.Stop(sctx)
	})
	return &harness{t: t, hub: mem, w: w}
}

// TestRenewLoop: renewals come while the lock is held and stop with
// stop, which cancels and waits for one in flight; a lost lock ends them
// and says so.
func TestRenewLoop(t *testing.T) {
	tests := []struct {
		name       string
		renewErr   error // what every renewal returns
		block      bool  // a renewal blocks until its context ends
		wantLost   bool
		wantAtMost int32 // renewals, at most
	}{
		{name: "renews until stopped", wantAtMost: 1 << 30},
		{name: "lost lock ends the renewals", renewErr: sp.ErrWorkItemLost, wantLost: true, wantAtMost: 1},
		{name: "stop cancels a renewal in flight", block: true, wantAtMost: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			var lost atomic.Bool
			until := time.Now().Add(200 * time.Millisecond) // first renewal after the 100 ms floor
			renew := func(ctx context.Context) error {
				calls.Add(1)
				if tt.block {
					<-ctx.Done()
					return ctx.Err()
				}
				until = time.Now().Add(200 * time.Millisecond)
				return tt.renewErr
			}
			stop := renewLoop(context.Background(), until, renew, func() time.Time { return until }, func() { lost.Store(true) })
			for i := 0; i < 200 && calls.Load() < 2 && !lost.Load() && !(tt.block && calls.Load() == 1); i++ {
				time.Sleep(10 * time.Millisecond)
			}
			stop() // returns only once a blocked renewal has seen its context end
			after := calls.Load()
			time.Sleep(300 * time.Millisecond)
			if n := calls.Load(); n == 0 || n > tt.wantAtMost || n != after {
				t.Errorf("%d renewals (%d at stop), want 1..%d and none after stop", n, after, tt.wantAtMost)
			}
			if lost.Load() != tt.wantLost {
				t.Errorf("lost = %v, want %v", lost.Load(), tt.wantLost)
			}
		})
	}
}
