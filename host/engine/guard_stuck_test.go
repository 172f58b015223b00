package engine

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/funchost/funchost/bindings"
)

// stuckCases are orchestrators that stop yielding until release is closed.
func stuckCases(release chan struct{}) []guardCase {
	yield := func(o *Options) { o.OrchestratorYieldTimeout = 200 * time.Millisecond }
	stuck := failedWith("OrchestratorStuck", "did not yield within 200ms", "guard_stuck_test.go")
	var mu sync.Mutex
	return []guardCase{
		{name: "blocks on a channel", orch: func(bindings.OrchestrationContext) (any, error) {
			<-release
			return "released", nil
		}, tweak: yield, check: stuck},
		{name: "blocks on a mutex after an activity", orch: func(ctx bindings.OrchestrationContext) (any, error) {
			if _, err := bindings.CallActivity[string](ctx, "Hello", "x"); err != nil {
				return nil, err
			}
			mu.Lock()
			go func() { <-release; mu.Unlock() }()
			mu.Lock() // never granted until release
			defer mu.Unlock()
			return "locked", nil
		}, tweak: yield, check: stuck},
		{name: "spins", orch: func(bindings.OrchestrationContext) (any, error) {
			for {
				select {
				case <-release:
					return "spun", nil
				default:
				}
			}
		}, tweak: yield, check: stuck},
		{name: "stuck child fails the parent's call", orch: func(ctx bindings.OrchestrationContext) (any, error) {
			err := ctx.CallSubOrchestrator("Blocked", nil).Await(nil)
			var tfe *bindings.TaskFailedError
			if !errors.As(err, &tfe) {
				return nil, fmt.Errorf("want a TaskFailedError, got %v", err)
			}
			return tfe.ErrorType, nil
		}, tweak: yield, check: completedWith(`"OrchestratorStuck"`)},
		{name: "episode timeout retries, then poison", orch: func(bindings.OrchestrationContext) (any, error) {
			<-release
			return "released", nil
		}, tweak: func(o *Options) {
			o.OrchestratorYieldTimeout, o.OrchestratorEpisodeTimeout, o.MaxDequeueCount = -1, 200*time.Millisecond, 1
		}, check: failedWith("PoisonMessage", "delivered 2 times", "")},
	}
}

// TestStuckGuards: a stuck orchestrator fails (or, past the episode
// timeout, is retried) while a well-behaved one completes beside it; once
// released, the abandoned goroutines end and commit nothing.
func TestStuckGuards(t *testing.T) {
	for _, m := range []mode{modes[0], modes[2]} {
		for i := range stuckCases(nil) {
			release := make(chan struct{})
			tc := stuckCases(release)[i]
			t.Run(m.name+"/"+tc.name, func(t *testing.T) {
				reg := baseRegistry()
				reg.Orchestrators["Bad"] = tc.orch
				reg.Orchestrators["Blocked"] = func(bindings.OrchestrationContext) (any, error) { <-release; return nil, nil }
				h := newHarness(t, m, reg, tc.tweak)
				bad, good := h.start("Bad", "", nil), h.start("Sequence", "", nil)
				st := h.waitDone(bad)
				if err := tc.check(st); err != nil {
					t.Error(err)
				}
				expectOutput(t, h.waitDone(good), `["Hello Tokyo!","Hello Seattle!","Hello London!"]`)
				if n := h.w.StuckOrchestrators(); n < 1 {
					t.Errorf("StuckOrchestrators = %d before the release, want at least 1", n)
				}
				close(release)
				waitUntil(t, "the abandoned goroutines end", func() bool { return h.w.StuckOrchestrators() == 0 })
				after, err := h.hub.GetOrchestrationState(t.Context(), bad, true)
				if err != nil || after.RuntimeStatus != st.RuntimeStatus || after.Output != st.Output {
					t.Errorf("after the release: %+v, %v; want it unchanged (%v %s)", after, err, st.RuntimeStatus, st.Output)
				}
			})
		}
	}
}

// waitUntil polls ok until it holds (the deadline is only a backstop).
func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
