package memory_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/memory"
)

// BenchmarkCreateLockComplete measures the raw provider round trip of a
// one-episode orchestration: CreateInstance, LockNextOrchestrationWorkItem
// and a terminal CompleteOrchestrationWorkItem.
func BenchmarkCreateLockComplete(b *testing.B) {
	h := newHub(b, memory.Options{})
	ctx := context.Background()
	ids := make([]string, b.N)
	for i := range ids {
		ids[i] = fmt.Sprintf("%032x", i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := h.CreateInstance(ctx, start(ids[i])); err != nil {
			b.Fatal(err)
		}
		wi, err := h.LockNextOrchestrationWorkItem(ctx)
		if err != nil {
			b.Fatal(err)
		}
		now := sp.Now()
		st := wi.State.Clone()
		st.RuntimeStatus, st.Output, st.CompletedTime = sp.StatusCompleted, `"ok"`, now
		c := &sp.OrchestrationCheckpoint{State: st, NewEvents: []*sp.HistoryEvent{
			sp.NewOrchestratorStartedEvent(now),
			wi.NewMessages[0].Event,
			sp.NewExecutionCompletedEvent(now, 0, sp.StatusCompleted, `"ok"`, nil),
			sp.NewOrchestratorCompletedEvent(now),
		}}
		if err := h.CompleteOrchestrationWorkItem(ctx, wi, c); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "orchestrations/s")
}

// BenchmarkHelloSequence runs three-activity sequences through the
// provider with 4 orchestration and 4 activity workers, all instances
// started up front.
func BenchmarkHelloSequence(b *testing.B) {
	h := newHub(b, memory.Options{})
	d, stop := newDriver(h, 3, 4, 4)
	defer stop()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	t0 := time.Now()
	for i := range b.N {
		if err := h.CreateInstance(ctx, start(fmt.Sprintf("%032x", i))); err != nil {
			b.Fatal(err)
		}
	}
	d.waitCompleted(b, int64(b.N))
	b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "orchestrations/s")
}
