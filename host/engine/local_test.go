package engine

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/funchost/funchost/bindings"
	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/memory"
)

// checkEpisodes asserts the history's per-episode shape: every event lies
// between an OrchestratorStarted and its OrchestratorCompleted, every
// activity call is scheduled once and completes at most once, after it was
// scheduled. It returns the number of TaskCompleted events per episode.
func checkEpisodes(t *testing.T, hist []*sp.HistoryEvent) []int {
	t.Helper()
	scheduled, completed := map[int]bool{}, map[int]bool{}
	var perEpisode []int
	in := false
	for i, ev := range hist {
		switch ev.EventType {
		case sp.EventOrchestratorStarted:
			if in {
				t.Fatalf("event %d: OrchestratorStarted inside an episode: %s", i, eventTypes(hist))
			}
			in = true
			perEpisode = append(perEpisode, 0)
			continue
		case sp.EventOrchestratorCompleted:
			if !in {
				t.Fatalf("event %d: OrchestratorCompleted outside an episode: %s", i, eventTypes(hist))
			}
			in = false
			continue
		}
		if !in {
			t.Fatalf("event %d (%v) outside an episode", i, ev.EventType)
		}
		switch ev.EventType {
		case sp.EventTaskScheduled:
			if scheduled[ev.EventID] {
				t.Fatalf("TaskScheduled(%d) twice", ev.EventID)
			}
			scheduled[ev.EventID] = true
		case sp.EventTaskCompleted:
			if !scheduled[ev.TaskScheduledID] || completed[ev.TaskScheduledID] {
				t.Fatalf("TaskCompleted for %d: scheduled %v, completed before %v", ev.TaskScheduledID, scheduled[ev.TaskScheduledID], completed[ev.TaskScheduledID])
			}
			completed[ev.TaskScheduledID] = true
			perEpisode[len(perEpisode)-1]++
		}
	}
	if in {
		t.Fatalf("history ends inside an episode: %s", eventTypes(hist))
	}
	return perEpisode
}

// TestLocalFanOutRunsInProcess: a fan-out far larger than
// MaxConcurrentActivities runs in-process inside the one work item: one
// commit, no activity work item, and the two-episode history a queued
// fan-out would also have.
func TestLocalFanOutRunsInProcess(t *testing.T) {
	for _, m := range []mode{{name: "local", local: true}, {name: "local+cache", cache: 8, local: true}} {
		t.Run(m.name, func(t *testing.T) {
			h, hub := newCountingHarness(t, m, baseRegistry(), func(o *Options) { o.MaxConcurrentActivities = 20 })
			id := h.start("FanOut", "", 1000)
			expectOutput(t, h.waitDone(id), "500500")
			if c, a := hub.orchCommits.Load(), hub.actLocks.Load(); c != 1 || a != 0 {
				t.Errorf("commits = %d, activity work items = %d; want 1 and 0", c, a)
			}
			hist, err := h.hub.GetOrchestrationHistory(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if got := checkEpisodes(t, hist); len(got) != 2 || got[0] != 0 || got[1] != 1000 {
				t.Errorf("TaskCompleted per episode = %v, want [0 1000]", got)
			}
		})
	}
}

// concurrencyProbe is an activity that records how many activities run at
// once.
type concurrencyProbe struct {
	cur, max, calls atomic.Int32
}

func (p *concurrencyProbe) activity(ctx bindings.ActivityContext) (any, error) {
	p.calls.Add(1)
	n := p.cur.Add(1)
	defer p.cur.Add(-1)
	for {
		m := p.max.Load()
		if n <= m || p.max.CompareAndSwap(m, n) {
			break
		}
	}
	// Stay a moment so that runs overlap (not an assertion on time).
	time.Sleep(time.Millisecond)
	return 1, nil
}

func probeFan(withTimer bool) bindings.Orchestrator {
	return func(ctx bindings.OrchestrationContext) (any, error) {
		var n int
		if err := ctx.Input(&n); err != nil {
			return nil, err
		}
		tasks := make([]bindings.Task, 0, n+1)
		for i := 0; i < n; i++ {
			tasks = append(tasks, ctx.CallActivity("Probe", i))
		}
		if withTimer {
			// A timer in the same episode sends the calls through the
			// task hub even with LocalActivities.
			tasks = append(tasks, ctx.CreateTimer(ctx.CurrentUTCDateTime()))
		}
		if err := ctx.WhenAll(tasks...).Await(nil); err != nil {
			return nil, err
		}
		sum := 0
		for _, t := range tasks[:n] {
			v, err := bindings.Await[int](t)
			if err != nil {
				return nil, err
			}
			sum += v
		}
		return sum, nil
	}
}

// TestActivityLimitSharedByLocalAndQueued: in-process and queued
// activities together never run more than MaxConcurrentActivities at once.
func TestActivityLimitSharedByLocalAndQueued(t *testing.T) {
	const limit, fan, each = 3, 40, 3
	probe := &concurrencyProbe{}
	reg := Registry{
		Orchestrators: map[string]bindings.Orchestrator{"LocalFan": probeFan(false), "QueuedFan": probeFan(true)},
		Activities:    map[string]bindings.Activity{"Probe": probe.activity},
	}
	h, hub := newCountingHarness(t, mode{name: "local", local: true}, reg, func(o *Options) {
		o.MaxConcurrentOrchestrations, o.MaxConcurrentActivities = 4, limit
	})
	var ids []string
	for i := 0; i < each; i++ {
		ids = append(ids, h.start("LocalFan", "", fan), h.start("QueuedFan", "", fan))
	}
	for _, id := range ids {
		expectOutput(t, h.waitDone(id), fmt.Sprint(fan))
	}
	total := int32(2 * each * fan)
	if got := probe.calls.Load(); got != total {
		t.Errorf("activity calls = %d, want %d", got, total)
	}
	queued := hub.actCompletes.Load()
	if queued == 0 || queued >= total {
		t.Errorf("queued activities = %d of %d: the test needs both kinds", queued, total)
	}
	if got := probe.max.Load(); got > limit {
		t.Errorf("up to %d activities ran at once, limit %d", got, limit)
	}
}

// TestLocalActivityBudgetFallsBackToQueue: when a work item's in-process
// budget is spent, the calls it did not run go through the task hub; the
// history stays well-formed and the output is the same.
func TestLocalActivityBudgetFallsBackToQueue(t *testing.T) {
	tests := []struct {
		name   string
		tweak  func(*Options)
		queued int32 // activity work items
		local  int   // TaskCompleted events of the in-process episode
	}{
		{"5 activities", func(o *Options) { o.MaxLocalActivities = 5 }, 95, 5},
		{"1ns", func(o *Options) { o.MaxLocalActivityTime = time.Nanosecond }, 100, 0},
	}
	for _, tt := range tests {
		for _, m := range []mode{{name: "local", local: true}, {name: "local+cache", cache: 8, local: true}} {
			t.Run(tt.name+"/"+m.name, func(t *testing.T) {
				h, hub := newCountingHarness(t, m, baseRegistry(), tt.tweak)
				id := h.start("FanOut", "", 100)
				st := h.waitDone(id)
				expectOutput(t, st, "5050")
				if got := hub.actCompletes.Load(); got != tt.queued {
					t.Errorf("queued activities = %d, want %d", got, tt.queued)
				}
				hist, err := h.hub.GetOrchestrationHistory(context.Background(), id)
				if err != nil {
					t.Fatal(err)
				}
				eps := checkEpisodes(t, hist)
				sum := 0
				for _, n := range eps {
					sum += n
				}
				if sum != 100 {
					t.Errorf("TaskCompleted events = %d, want 100", sum)
				}
				if tt.local > 0 && (len(eps) < 2 || eps[1] != tt.local) {
					t.Errorf("TaskCompleted per episode = %v, want %d in the second", eps, tt.local)
				}
				// The first work item committed the schedule and the
				// in-process results together: the rest came one message
				// batch at a time.
				if c := hub.orchCommits.Load(); c < 2 {
					t.Errorf("commits = %d, want at least 2", c)
				}
			})
		}
	}
}

// renewCountingHub counts orchestration lock renewals.
type renewCountingHub struct {
	sp.TaskHub
	renewals atomic.Int32
}

func (h *renewCountingHub) RenewOrchestrationWorkItem(ctx context.Context, wi *sp.OrchestrationWorkItem) error {
	err := h.TaskHub.RenewOrchestrationWorkItem(ctx, wi)
	if err == nil {
		h.renewals.Add(1)
	}
	return err
}

// TestLocalActivityRenewsOrchestrationLock: an in-process activity that
// outlives the orchestration's lock does not lose the work item: the lock
// is renewed, so no other loop picks the instance up and runs the activity
// a second time.
func TestLocalActivityRenewsOrchestrationLock(t *testing.T) {
	mem := memory.New(memory.Options{LockTimeout: time.Second})
	hub := &renewCountingHub{TaskHub: mem}
	var calls atomic.Int32
	reg := Registry{
		Orchestrators: map[string]bindings.Orchestrator{
			"Long": func(ctx bindings.OrchestrationContext) (any, error) {
				return bindings.CallActivity[string](ctx, "Outlive", nil)
			},
		},
		Activities: map[string]bindings.Activity{
			"Outlive": func(ctx bindings.ActivityContext) (any, error) {
				calls.Add(1)
				// Run until the lock has been renewed twice, i.e. past its
				// first expiry; give up after a while so a broken renewal
				// shows as a second call rather than a hang.
				for i := 0; i < 500 && hub.renewals.Load() < 2; i++ {
					time.Sleep(10 * time.Millisecond)
				}
				return "done", nil
			},
		},
	}
	h := startLockTestWorker(t, mem, hub, reg, true)
	expectOutput(t, h.waitDone(h.start("Long", "", nil)), `"done"`)
	if n := hub.renewals.Load(); n < 2 {
		t.Errorf("renewals = %d, want at least 2", n)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("activity ran %d times, want once", n)
	}
}
