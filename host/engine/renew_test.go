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
