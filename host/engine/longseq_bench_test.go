package engine

import (
	"context"
	"slices"
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

// perActivity returns the median time between consecutive steps in
// [from, to): robust against the scheduling hiccups of a shared machine,
// which a mean over so short a window is not.
func (c *stepClock) perActivity(from, to int) time.Duration {
	d := make([]time.Duration, 0, to-from-1)
	for i := from + 1; i < to; i++ {
		d = append(d, c.at[i].Sub(c.at[i-1]))
	}
	slices.Sort(d)
	return d[len(d)/2]
}

// BenchmarkLongSequence runs one orchestration of 1,000 sequential queued
// activities (not in-process) with the session cache on, on the memory
// task hub, and reports the median time per activity over the first and the
// last tenth. A flat cost (ratio near 1) means an episode's cost does not grow
// with the history: the provider hands out its history without copying
// it and the cached execution replays nothing.
func BenchmarkLongSequence(b *testing.B) {
	const n = 1000
	var first, last time.Duration // summed over the iterations
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
		first += clock.perActivity(0, n/10)
		last += clock.perActivity(n-n/10, n)
		_ = w.Stop(ctx)
		_ = hub.Stop(ctx)
		b.StartTimer()
	}
	b.ReportMetric(float64(first.Microseconds())/1000/float64(b.N), "first-ms/activity")
	b.ReportMetric(float64(last.Microseconds())/1000/float64(b.N), "last-ms/activity")
	b.ReportMetric(float64(last)/float64(first), "last/first")
}
