package engine

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/funchost/funchost/bindings"
	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/memory"
)

// stepClock records when each step of a long sequence ran. Activities
// may read the clock; orchestrators may not.
type stepClock struct {
	mu sync.Mutex
	at []time.Time
}

func (c *stepClock) step(bindings.ActivityContext) (any, error) {
	c.mu.Lock()
	c.at = append(c.at, time.Now())
	c.mu.Unlock()
	return 1, nil
}

// perActivity returns the mean time per step over steps [from, to).
func (c *stepClock) perActivity(from, to int) time.Duration {
	return c.at[to-1].Sub(c.at[from]) / time.Duration(to-1-from)
}

// BenchmarkLongSequence runs one orchestration of 1,000 sequential queued
// activities (not in-process) with the session cache on, on the memory
// task hub, and reports the time per activity over the first and the last
// tenth. A flat cost (ratio near 1) means an episode's cost does not grow
// with the history: the provider hands out its history without copying
// it and the cached execution replays nothing.
func BenchmarkLongSequence(b *testing.B) {
	const n = 1000
	for i := 0; i < b.N; i++ {
		clock := &stepClock{}
		reg := Registry{
			Orchestrators: map[string]bindings.Orchestrator{"Long": func(ctx bindings.OrchestrationContext) (any, error) {
				for j := 0; j < n; j++ {
					if _, err := bindings.CallActivity[int](ctx, "Step", j); err != nil {
						return nil, err
					}
				}
				return n, nil
			}},
			Activities: map[string]bindings.Activity{"Step": clock.step},
		}
		hub := memory.New(memory.Options{})
		ctx := context.Background()
		_ = hub.Start(ctx)
		w := NewWorker(hub, reg, Options{SessionCacheSize: 256})
		_ = w.Start(ctx)
		h := &harness{t: b, hub: hub, w: w}
		id := h.start("Long", "", nil)
		if st := h.waitDone(id); st.RuntimeStatus != sp.StatusCompleted {
			b.Fatalf("%s: %+v", id, st)
		}
		b.StopTimer()
		first, last := clock.perActivity(0, n/10), clock.perActivity(n-n/10, n)
		b.ReportMetric(float64(first.Microseconds())/1000, "first-ms/activity")
		b.ReportMetric(float64(last.Microseconds())/1000, "last-ms/activity")
		b.ReportMetric(float64(last)/float64(first), "last/first")
		_ = w.Stop(ctx)
		_ = hub.Stop(ctx)
		b.StartTimer()
	}
}
