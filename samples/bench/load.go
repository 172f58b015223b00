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
	// special is "long" (LongSequence) or "parked" (Parked): workloads
	// with runs of their own (longrun.go).
	special string
}

// scenarioFor returns the named scenario.
func scenarioFor(name string, fanout int) (scenario, error) {
	return scenarioWithSteps(name, fanout, 1000)
}

// scenarioWithSteps is scenarioFor with LongSequence's length.
func scenarioWithSteps(name string, fanout, steps int) (scenario, error) {
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
	case "LongSequence":
		if steps <= 20 {
			return scenario{}, fmt.Errorf("LongSequence needs -steps > 20")
		}
		return scenario{name: longSequenceName, input: steps, activities: steps, special: "long"}, nil
	case "Parked":
		return scenario{name: "WaitForApproval", special: "parked"}, nil
	}
	return scenario{}, fmt.Errorf("unknown scenario %q (HelloSequence, HelloCities5, FanOutFanIn, LongSequence, Parked)", name)
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
	m := startMeter(t, opts.azuritePID)
	ty := &tally{latencies: make([]time.Duration, 0, opts.n)}
	stopProgress := startProgress(opts.progress, sc.name, t.providerName(), opts.n, &ty.started, &ty.completed, &ty.failed)
	drive(ctx, t, sc, opts, ty)
	stopProgress()
	m.finish(t, res)
	ty.fill(ctx, res, sc)
	m.perRequest(t, res)
	return res
}

// drive runs sc opts.n times against t with opts.concurrency workers,
// recording each outcome in ty.
func drive(ctx context.Context, t target, sc scenario, opts loadOptions, ty *tally) {
	var next atomic.Int64
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
				ty.started.Add(1)
				out, err := t.run(ctx, sc.name, sc.input)
				ty.record(t0, out, err)
			}
		}()
	}
	wg.Wait()
}

// tally collects the outcomes of one load run.
type tally struct {
	started, completed, failed atomic.Int64

	mu          sync.Mutex
	latencies   []time.Duration
	firstErr    error
	first, last time.Time // first start, last completion
}

func (ty *tally) record(t0 time.Time, out outcome, err error) {
	ty.mu.Lock()
	defer ty.mu.Unlock()
	if ty.first.IsZero() || t0.Before(ty.first) {
		ty.first = t0
	}
	if err != nil || out.status != "Completed" {
		ty.failed.Add(1)
		if ty.firstErr == nil {
			if err == nil {
				err = fmt.Errorf("instance %s ended %s", out.instanceID, out.status)
			}
			ty.firstErr = err
		}
		return
	}
	ty.completed.Add(1)
	ty.latencies = append(ty.latencies, out.finished.Sub(t0))
	if out.finished.After(ty.last) {
		ty.last = out.finished
	}
}

// fill writes the counts, rates and latencies into res.
func (ty *tally) fill(ctx context.Context, res *Result, sc scenario) {
	res.Completed, res.Failed = int(ty.completed.Load()), int(ty.failed.Load())
	if ty.firstErr != nil {
		res.Error = ty.firstErr.Error()
	}
	if err := ctx.Err(); err != nil && res.Completed+res.Failed < res.N {
		// Interrupted or timed out: instances never started count as failed.
		res.Failed = res.N - res.Completed
		if res.Error == "" {
			res.Error = fmt.Sprintf("run ended early: %v", err)
		}
	}
	if !ty.last.IsZero() {
		elapsed := ty.last.Sub(ty.first)
		res.ElapsedSeconds = round(elapsed.Seconds(), 3)
		if elapsed > 0 {
			res.OrchestrationsPerSecond = round(float64(res.Completed)/elapsed.Seconds(), 1)
			acts := float64(res.Completed * sc.activities)
			res.ActivitiesPerSecond = round(acts/elapsed.Seconds(), 1)
		}
	}
	res.LatencyMs = summarize(ty.latencies)
}

// meter holds the host's and Azurite's CPU time and the storage request
// counts at the start of a run.
type meter struct {
	host, azurite  procUsage
	cpu0, azurite0 time.Duration
	req0           map[string]int64
}

func startMeter(t target, azuritePID int) *meter {
	// Start from a clean heap so that the peak RSS belongs to this run.
	runtime.GC()
	m := &meter{host: t.usage(), azurite: procUsage{pid: -1}}
	m.host.resetPeak()
	if azuritePID > 0 {
		m.azurite = procUsage{pid: azuritePID}
	}
	m.cpu0, _ = m.host.cpu()
	m.azurite0, _ = m.azurite.cpu()
	m.req0 = t.requests()
	return m
}

// finish writes CPU and memory use since startMeter into res.
func (m *meter) finish(t target, res *Result) {
	cpu1, _ := m.host.cpu()
	az1, _ := m.azurite.cpu()
	rss, peak, _ := m.host.memory()
	res.AzuriteCPUSeconds = round((az1 - m.azurite0).Seconds(), 2)
	res.CPUSeconds = round((cpu1 - m.cpu0).Seconds(), 2)
	res.PeakRSSBytes, res.RSSAfterBytes = peak, rss
}

// perRequest writes the storage requests since startMeter into res (after
// fill, which sets the elapsed time).
func (m *meter) perRequest(t target, res *Result) {
	if m.req0 == nil {
		return
	}
	total, byOp := perOrchestration(m.req0, t.requests(), res.N)
	res.StorageRequestsPerOrchestration = &total
	res.StorageRequestsByOperation = byOp
	if reqs := total * float64(res.N); reqs > 0 {
		if res.ElapsedSeconds > 0 {
			res.StorageRequestsPerSecond = round(reqs/res.ElapsedSeconds, 0)
		}
		res.AzuriteCPUPerRequestMs = round(res.AzuriteCPUSeconds*1000/reqs, 3)
	}
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
