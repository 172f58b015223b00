package main

// The two workloads of issue 18 that do not fit the start-and-wait-for-
// completion loop: one long sequential orchestration, timed activity by
// activity, and many instances parked on an external event, measured for
// the memory each costs while it waits.

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/funchost/funchost/bindings"
	sp "github.com/funchost/funchost/storageprovider"
)

// longSequenceName is the bench's own orchestrator: steps sequential
// SayHello calls.
const longSequenceName = "BenchLongSequence"

// benchLongSequence calls SayHello as many times as its input says, one
// after the other.
func benchLongSequence(ctx bindings.OrchestrationContext) (any, error) {
	n, err := bindings.GetInput[int](ctx)
	if err != nil {
		return nil, err
	}
	for i := range n {
		if _, err := bindings.CallActivity[string](ctx, "SayHello", fmt.Sprint(i)); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// benchHandlers are the functions the benchmark registers besides the
// sample app's.
func benchHandlers() map[string]any {
	return map[string]any{longSequenceName: bindings.Orchestrator(benchLongSequence)}
}

// checkpointLog records when each checkpoint of the watched instances
// committed.
type checkpointLog struct {
	mu    sync.Mutex
	times map[string][]time.Time
	// running is signalled (instance ID) for the first committed
	// checkpoint that leaves an instance Running.
	running chan string
	seen    map[string]bool
}

func newCheckpointLog(buffer int) *checkpointLog {
	return &checkpointLog{times: map[string][]time.Time{}, running: make(chan string, buffer), seen: map[string]bool{}}
}

func (l *checkpointLog) record(id string, c *sp.OrchestrationCheckpoint) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.times[id] = append(l.times[id], time.Now())
	if c != nil && c.State != nil && c.State.RuntimeStatus == sp.StatusRunning && !l.seen[id] {
		l.seen[id] = true
		select {
		case l.running <- id:
		default:
		}
	}
}

// tenths returns the median time between consecutive checkpoints over the
// first and the last tenth of times (one checkpoint per activity result
// when activities are queued).
func tenths(times []time.Time) (first, last time.Duration, ok bool) {
	if len(times) < 21 {
		return 0, 0, false
	}
	gaps := make([]time.Duration, 0, len(times)-1)
	for i := 1; i < len(times); i++ {
		gaps = append(gaps, times[i].Sub(times[i-1]))
	}
	k := len(gaps) / 10
	median := func(d []time.Duration) time.Duration {
		s := slices.Clone(d)
		slices.Sort(s)
		return s[len(s)/2]
	}
	return median(gaps[:k]), median(gaps[len(gaps)-k:]), true
}

// runLongSequence runs one BenchLongSequence of steps activities on t and
// reports ms per activity over its first and last tenth.
func runLongSequence(ctx context.Context, t *inproc, steps int, azuritePID int) *Result {
	sc := scenario{name: longSequenceName, input: steps, activities: steps}
	log := newCheckpointLog(1)
	t.hub.setObserver(log.record)
	defer t.hub.setObserver(nil)
	res := runLoad(ctx, t, sc, loadOptions{n: 1, concurrency: 1, azuritePID: azuritePID})
	log.mu.Lock()
	var times []time.Time
	for _, ts := range log.times {
		times = ts
	}
	log.mu.Unlock()
	if first, last, ok := tenths(times); ok {
		f, l := round(float64(first.Microseconds())/1000, 3), round(float64(last.Microseconds())/1000, 3)
		res.ActivityMsFirstTenth, res.ActivityMsLastTenth = &f, &l
	}
	res.Steps = steps
	return res
}

// runParked starts n WaitForApproval instances, waits until each has
// committed its first episode (it then waits for its event), and reports
// the host memory they cost: Go heap in use and RSS after a GC, over the
// same before the starts, per instance.
func runParked(ctx context.Context, t *inproc, n, concurrency int, progress io.Writer) (*Result, error) {
	log := newCheckpointLog(n)
	t.hub.setObserver(log.record)
	defer t.hub.setObserver(nil)
	heap0, rss0 := settledMemory()
	res := &Result{Scenario: "WaitForApproval (parked)", Provider: t.providerName(), Mode: t.mode(), N: n, Concurrency: concurrency}
	res.LoadAverage = loadAverage()
	begin := time.Now()
	sem := make(chan struct{}, max(concurrency, 1))
	errs := make(chan error, 1)
	for i := range n {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			if _, err := t.rt.Client.StartNew(ctx, "WaitForApproval", nil); err != nil {
				select {
				case errs <- fmt.Errorf("start %d: %w", i, err):
				default:
				}
			}
		}()
	}
	for parked := 0; parked < n; parked++ {
		select {
		case <-log.running:
		case err := <-errs:
			return nil, err
		case <-ctx.Done():
			return nil, fmt.Errorf("%d of %d instances parked: %w", parked, n, ctx.Err())
		}
		if progress != nil && (parked+1)%1000 == 0 {
			fmt.Fprintf(progress, "parked %d/%d, %.1fs\n", parked+1, n, time.Since(begin).Seconds())
		}
	}
	res.ElapsedSeconds = round(time.Since(begin).Seconds(), 3)
	res.Completed = n
	heap1, rss1 := settledMemory()
	res.HeapPerParkedInstanceBytes = (int64(heap1) - int64(heap0)) / int64(n)
	res.RSSPerParkedInstanceBytes = (rss1 - rss0) / int64(n)
	res.RSSAfterBytes = rss1
	return res, nil
}

// settledMemory returns the Go heap in use and the process RSS after two
// garbage collections and a pause for background work to settle.
func settledMemory() (heapInuse uint64, rss int64) {
	time.Sleep(2 * time.Second)
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss, _, _ = procUsage{}.memory()
	return ms.HeapInuse, rss
}

// measure runs the measured load of sc on t: the start-and-wait loop, or
// the special runs of LongSequence and Parked (in-process only).
func measure(ctx context.Context, cfg *config, t target, sc scenario, progress io.Writer) (*Result, error) {
	if sc.special == "" {
		return runLoad(ctx, t, sc, loadOptions{n: cfg.n, concurrency: cfg.concurrency, progress: progress, azuritePID: cfg.azuritePID}), nil
	}
	p, ok := t.(*inproc)
	if !ok {
		return nil, fmt.Errorf("%s runs in-process only (no -http)", cfg.scenario)
	}
	if sc.special == "long" {
		return runLongSequence(ctx, p, cfg.steps, cfg.azuritePID), nil
	}
	return runParked(ctx, p, cfg.n, cfg.concurrency, progress)
}
