package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// scenario is one benchmark workload: an orchestrator of the sample app and
// its input.
type scenario struct {
	name  string // the orchestrator
	input any
	// activities is how many activities one orchestration calls. These
	// scenarios are deterministic, so activities/s is derived from it:
	// activities run in-process (local activity execution) never pass
	// through the task hub where they could be counted.
	activities int
	fanout     int
}

// scenarioFor returns the named scenario.
func scenarioFor(name string, fanout int) (scenario, error) {
	switch name {
	case "HelloSequence":
		return scenario{name: name, activities: 3}, nil
	case "HelloCities5":
		return scenario{name: name, activities: 5}, nil
	case "FanOutFanIn":
		if fanout <= 0 {
			return scenario{}, fmt.Errorf("FanOutFanIn needs -fanout > 0")
		}
		return scenario{name: name, input: fanout, activities: fanout, fanout: fanout}, nil
	}
	return scenario{}, fmt.Errorf("unknown scenario %q (HelloSequence, HelloCities5, FanOutFanIn)", name)
}

// outcome is how one orchestration instance ended.
type outcome struct {
	instanceID string
	status     string // "Completed", "Failed", "Terminated", ...
	finished   time.Time
}

// target runs orchestrations: in this process (inproc) or on a host over
// HTTP (httpTarget).
type target interface {
	// run starts one instance and blocks until it reaches a terminal
	// status or ctx ends.
	run(ctx context.Context, orchestrator string, input any) (outcome, error)
	// requests returns storage request counts by "service.Operation", or
	// nil when the target has no request counter.
	requests() map[string]int64
	// usage tells where the host's CPU time and memory are measured.
	usage() procUsage
	// providerName labels results ("memory", "azurite", "azure").
	providerName() string
	mode() string
	// close stops the host side (in-process) and deletes the task hub.
	close(ctx context.Context) error
}

// loadOptions control one load run.
type loadOptions struct {
	n           int
	concurrency int
	progress    io.Writer // nil: no progress line
	// azuritePID, when > 0, is the Azurite process whose CPU time the run
	// also measures.
	azuritePID int
}

// runLoad runs sc opts.n times against t, at most opts.concurrency at a
// time, and measures it.
func runLoad(ctx context.Context, t target, sc scenario, opts loadOptions) *Result {
	if opts.concurrency <= 0 || opts.concurrency > opts.n {
		opts.concurrency = opts.n
	}
	res := &Result{Scenario: sc.name, Provider: t.providerName(), Mode: t.mode(), N: opts.n,
		Concurrency: opts.concurrency, FanOut: sc.fanout}

	res.LoadAverage = loadAverage()
	// Start from a clean heap so that the peak RSS belongs to this run.
	runtime.GC()
	u := t.usage()
	u.resetPeak()
	cpu0, _ := u.cpu()
	az := procUsage{pid: -1}
	if opts.azuritePID > 0 {
		az = procUsage{pid: opts.azuritePID}
	}
	azCPU0, _ := az.cpu()
	req0 := t.requests()

	var (
		next      atomic.Int64
		started   atomic.Int64
		completed atomic.Int64
		failed    atomic.Int64
		mu        sync.Mutex
		latencies = make([]time.Duration, 0, opts.n)
		firstErr  error
		first     time.Time
		last      time.Time
	)
	stopProgress := startProgress(opts.progress, sc.name, t.providerName(), opts.n, &started, &completed, &failed)
	var wg sync.WaitGroup
	for range opts.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(opts.n) {
				if ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				started.Add(1)
				out, err := t.run(ctx, sc.name, sc.input)
				mu.Lock()
				if first.IsZero() || t0.Before(first) {
					first = t0
				}
				if err != nil || out.status != "Completed" {
					failed.Add(1)
					if firstErr == nil {
						if err == nil {
							err = fmt.Errorf("instance %s ended %s", out.instanceID, out.status)
						}
						firstErr = err
					}
				} else {
					completed.Add(1)
					latencies = append(latencies, out.finished.Sub(t0))
					if out.finished.After(last) {
						last = out.finished
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	stopProgress()

	cpu1, _ := u.cpu()
	azCPU1, _ := az.cpu()
	rss, peak, _ := u.memory()
	res.Completed, res.Failed = int(completed.Load()), int(failed.Load())
	if firstErr != nil {
		res.Error = firstErr.Error()
	}
	if err := ctx.Err(); err != nil && res.Completed+res.Failed < res.N {
		// Interrupted or timed out: instances never started count as failed.
		res.Failed = res.N - res.Completed
		if res.Error == "" {
			res.Error = fmt.Sprintf("run ended early: %v", err)
		}
	}
	if !last.IsZero() {
		elapsed := last.Sub(first)
		res.ElapsedSeconds = round(elapsed.Seconds(), 3)
		if elapsed > 0 {
			res.OrchestrationsPerSecond = round(float64(res.Completed)/elapsed.Seconds(), 1)
			acts := float64(res.Completed * sc.activities)
			res.ActivitiesPerSecond = round(acts/elapsed.Seconds(), 1)
		}
	}
	res.LatencyMs = summarize(latencies)
	res.AzuriteCPUSeconds = round((azCPU1 - azCPU0).Seconds(), 2)
	if req0 != nil {
		req1 := t.requests()
		total, byOp := perOrchestration(req0, req1, opts.n)
		res.StorageRequestsPerOrchestration = &total
		res.StorageRequestsByOperation = byOp
		if reqs := total * float64(opts.n); reqs > 0 {
			if res.ElapsedSeconds > 0 {
				res.StorageRequestsPerSecond = round(reqs/res.ElapsedSeconds, 0)
			}
			res.AzuriteCPUPerRequestMs = round(res.AzuriteCPUSeconds*1000/reqs, 3)
		}
	}
	res.CPUSeconds = round((cpu1 - cpu0).Seconds(), 2)
	res.PeakRSSBytes, res.RSSAfterBytes = peak, rss
	return res
}

// startProgress prints a progress line on w every second (rewritten in
// place on a terminal) until the returned function is called.
func startProgress(w io.Writer, name, provider string, n int, started, completed, failed *atomic.Int64) func() {
	if w == nil {
		return func() {}
	}
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	begin := time.Now()
	line := func() string {
		el := time.Since(begin).Seconds()
		c := completed.Load()
		return fmt.Sprintf("%s on %s: started %d/%d, completed %d, failed %d, %.1fs, %.1f orch/s",
			name, provider, started.Load(), n, c, failed.Load(), el, float64(c)/el)
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				if tty {
					fmt.Fprintf(w, "\r%s\n", line())
				} else {
					fmt.Fprintln(w, line())
				}
				return
			case <-tick.C:
				if tty {
					fmt.Fprintf(w, "\r%s", line())
				} else {
					fmt.Fprintln(w, line())
				}
			}
		}
	}()
	return func() { close(done); <-finished }
}
