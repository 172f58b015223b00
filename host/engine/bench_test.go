package engine

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/funchost/funchost/bindings"
	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/memory"
)

// endlessSequence calls an activity after another, forever.
func endlessSequence(ctx bindings.OrchestrationContext) (any, error) {
	for i := 0; ; i++ {
		if _, err := bindings.CallActivity[int](ctx, "Double", i); err != nil {
			return nil, err
		}
	}
}

// benchHistory returns the committed history of endlessSequence after n
// completed activities, and the execution that produced it (live).
func benchHistory(b *testing.B, n int) ([]*sp.HistoryEvent, *execution, *processor) {
	b.Helper()
	p := &processor{
		lookup: func(string) bindings.Orchestrator { return endlessSequence },
		logger: slog.New(discardHandler{}),
	}
	wi := &sp.OrchestrationWorkItem{InstanceID: testID, NewMessages: []*sp.TaskMessage{{Event: esEv("Seq", "")}}}
	res := p.process(wi, nil, nil)
	hist := res.checkpoint.NewEvents
	e := res.exec
	for i := 0; i < n; i++ {
		wi := &sp.OrchestrationWorkItem{InstanceID: testID, History: hist,
			NewMessages: []*sp.TaskMessage{{Event: tcEv(i, fmt.Sprint(2*i))}}}
		res := p.process(wi, e, nil)
		hist = append(hist, res.checkpoint.NewEvents...)
		e = res.exec
	}
	return hist, e, p
}

// BenchmarkReplayEpisode measures one episode (one activity result in, the
// next activity call out) at various history lengths: without the session
// cache every episode replays the whole history; with it the live
// execution only processes the new event.
func BenchmarkReplayEpisode(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("activities=%d/cache=off", n), func(b *testing.B) {
			hist, e, p := benchHistory(b, n)
			e.teardown()
			events := len(hist)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				wi := &sp.OrchestrationWorkItem{InstanceID: testID, History: hist,
					NewMessages: []*sp.TaskMessage{{Event: tcEv(n, "0")}}}
				res := p.process(wi, nil, nil)
				if res.exec != nil {
					res.exec.teardown()
				}
			}
			b.ReportMetric(float64(events), "events")
		})
		b.Run(fmt.Sprintf("activities=%d/cache=on", n), func(b *testing.B) {
			hist, e, p := benchHistory(b, n)
			events := len(hist)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				wi := &sp.OrchestrationWorkItem{InstanceID: testID, History: hist,
					NewMessages: []*sp.TaskMessage{{Event: tcEv(n+i, "0")}}}
				res := p.process(wi, e, nil)
				// Keep the committed history in step with the execution
				// without letting the benchmark's own bookkeeping grow.
				hist = e.history
				e = res.exec
			}
			b.StopTimer()
			b.ReportMetric(float64(events), "events")
			e.teardown()
		})
	}
}

// BenchmarkHelloSequenceThroughput runs b.N three-activity sequences end
// to end on the memory task hub and reports orchestrations per second.
func BenchmarkHelloSequenceThroughput(b *testing.B) {
	for _, m := range []mode{{"cache=0", 0, false}, {"cache=256", 256, false}, {"cache=4096", 4096, false}, {"cache=256+local", 256, true}} {
		b.Run(m.name, func(b *testing.B) {
			hub := memory.New(memory.Options{})
			ctx := context.Background()
			_ = hub.Start(ctx)
			w := NewWorker(hub, baseRegistry(), Options{SessionCacheSize: m.cache, LocalActivities: m.local})
			_ = w.Start(ctx)
			h := &harness{t: b, hub: hub, w: w}
			b.ResetTimer()
			begin := time.Now()
			ids := make([]string, b.N)
			for i := range ids {
				ids[i] = h.start("Sequence", "", nil)
			}
			for _, id := range ids {
				if st := h.waitDone(id); st.RuntimeStatus != sp.StatusCompleted {
					b.Fatalf("%s: %+v", id, st)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(begin).Seconds(), "orch/s")
			b.StopTimer()
			_ = w.Stop(ctx)
			_ = hub.Stop(ctx)
		})
	}
}

// BenchmarkGuardedCall: the cost of one context call on the orchestrator
// goroutine, mostly the goroutine guard's stack walk (guard_goroutine.go).
func BenchmarkGuardedCall(b *testing.B) {
	p := &processor{logger: slog.New(discardHandler{}), lookup: func(string) bindings.Orchestrator {
		return func(ctx bindings.OrchestrationContext) (any, error) {
			b.ResetTimer()
			for range b.N {
				ctx.IsReplaying()
			}
			b.StopTimer()
			return nil, nil
		}
	}}
	wi := &sp.OrchestrationWorkItem{InstanceID: testID, NewMessages: []*sp.TaskMessage{{Event: esEv("Calls", "")}}}
	if res := p.process(wi, nil, nil); res.checkpoint.State.RuntimeStatus != sp.StatusCompleted {
		b.Fatalf("state %+v", res.checkpoint.State)
	}
}
