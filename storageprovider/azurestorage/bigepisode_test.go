//go:build bigepisode

package azurestorage

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/engine"
	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/azurestorage/azuritetest"
)

// procStatusKB reads a field of /proc/self/status in KiB (VmRSS, VmHWM).
func procStatusKB(field string) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	return -1
}

// heapWatcher samples the heap and keeps a heap profile of the largest
// one seen (when path is set).
type heapWatcher struct {
	path string
	stop chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	peak uint64 // HeapInuse bytes
	rss  int    // peak VmRSS KiB seen by sampling
}

func watchHeap(path string) *heapWatcher {
	w := &heapWatcher{path: path, stop: make(chan struct{})}
	w.wg.Go(func() {
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		var written uint64
		for {
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			w.mu.Lock()
			w.peak = max(w.peak, ms.HeapInuse)
			w.rss = max(w.rss, procStatusKB("VmRSS"))
			w.mu.Unlock()
			if w.path != "" && ms.HeapInuse > written+written/5 {
				written = ms.HeapInuse
				if f, err := os.Create(w.path); err == nil {
					_ = pprof.WriteHeapProfile(f)
					f.Close()
				}
			}
		}
	})
	return w
}

func (w *heapWatcher) done() (peakHeap uint64, peakRSS int) {
	close(w.stop)
	w.wg.Wait()
	return w.peak, w.rss
}

// TestBigEpisode measures one orchestration that schedules
// FUNCHOST_BIG_EPISODE_N activities (default 100,000) in one episode and
// awaits them all, on Azurite: the time to complete and the peak memory
// of the process running the engine and the provider. It is a
// measurement, not part of make test (docs/reliability.md):
//
//	go test -tags bigepisode -run TestBigEpisode -timeout 30m -v ./storageprovider/azurestorage
//
// FUNCHOST_BIG_EPISODE_PPROF=file writes a heap profile of the largest
// heap seen.
func TestBigEpisode(t *testing.T) {
	n := 100000
	if v := os.Getenv("FUNCHOST_BIG_EPISODE_N"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			t.Fatal(err)
		}
	}
	h := newTestHub(t, azuritetest.ConnectionString(t), func(o *Options) {
		o.PartitionCount = 1
		o.ControlQueueVisibilityTimeout = time.Minute
		o.WorkItemQueueVisibilityTimeout = time.Minute
	})
	startHub(t, h)
	reg := engine.Registry{
		Orchestrators: map[string]bindings.Orchestrator{
			"Big": func(ctx bindings.OrchestrationContext) (any, error) {
				tasks := make([]bindings.Task, n)
				for i := range tasks {
					tasks[i] = ctx.CallActivity("Inc", i)
				}
				if err := ctx.WhenAll(tasks...).Await(nil); err != nil {
					return nil, err
				}
				sum := 0
				for _, tk := range tasks {
					var v int
					if err := tk.Await(&v); err != nil {
						return nil, err
					}
					sum += v
				}
				return sum, nil
			},
		},
		Activities: map[string]bindings.Activity{"Inc": func(ctx bindings.ActivityContext) (any, error) {
			var v int
			err := ctx.Input(&v)
			return v + 1, err
		}},
	}
	// As a host runs by default (host.json localActivityExecution true,
	// extendedSessionsEnabled false, Azure Storage's open-call bound); FUNCHOST_BIG_EPISODE_LOCAL=0 sends
	// every activity through the work-item queue.
	local := os.Getenv("FUNCHOST_BIG_EPISODE_LOCAL") != "0"
	w := engine.NewWorker(h, reg, engine.Options{MaxConcurrentOrchestrations: 4, MaxConcurrentActivities: 32, LocalActivities: local,
		MaxOpenActivityCalls: DefaultMaxOpenActivityCalls})
	runtime.GC()
	baseRSS := procStatusKB("VmRSS")
	watch := watchHeap(os.Getenv("FUNCHOST_BIG_EPISODE_PPROF"))
	start := time.Now()
	if err := w.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = w.Stop(ctx)
	}()
	createNamed(t, h, "big", "Big")
	var st *sp.OrchestrationState
	deadline := time.Now().Add(25 * time.Minute)
	for last := time.Now(); ; time.Sleep(time.Second) {
		s, err := h.GetOrchestrationState(context.Background(), "big", true)
		if err == nil && s.RuntimeStatus.IsTerminal() {
			st = s
			break
		}
		if time.Since(last) > 15*time.Second {
			last = time.Now()
			status := "?"
			if s != nil {
				status = s.RuntimeStatus.String()
			}
			t.Logf("%s: %s, RSS %d MiB, requests %v", time.Since(start).Round(time.Second), status, procStatusKB("VmRSS")>>10,
				h.RequestCounter().Snapshot().ByOperation)
		}
		if time.Now().After(deadline) {
			t.Fatalf("not done after %s", time.Since(start))
		}
	}
	elapsed := time.Since(start)
	peakHeap, peakRSS := watch.done()
	t.Logf("%d activities in one episode (local activities %v): %s in %s; RSS before %d MiB, peak RSS %d MiB (VmHWM %d MiB), peak heap in use %d MiB; requests %v",
		n, local, st.RuntimeStatus, elapsed.Round(time.Millisecond), baseRSS>>10, peakRSS>>10, procStatusKB("VmHWM")>>10, peakHeap>>20, h.RequestCounter().Snapshot().ByOperation)
	if want := fmt.Sprint(n * (n + 1) / 2); st.RuntimeStatus != sp.StatusCompleted || st.Output != want {
		t.Fatalf("status %s, output %.200s; want Completed with %s", st.RuntimeStatus, st.Output, want)
	}
}
