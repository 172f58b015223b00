package bindingstest_test

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/bindings/bindingstest"
)

// Timers fire in time order, each with the clock at its fire time, and
// only when Advance passes them.
func TestAdvanceFiresTimersInOrder(t *testing.T) {
	orch := func(ctx bindings.OrchestrationContext) (any, error) {
		start := ctx.CurrentUTCDateTime()
		var seen []string
		for _, d := range []time.Duration{time.Hour, time.Minute, 24 * time.Hour} {
			if err := ctx.CreateTimer(ctx.CurrentUTCDateTime().Add(d)).Await(nil); err != nil {
				return nil, err
			}
			seen = append(seen, ctx.CurrentUTCDateTime().Sub(start).String())
		}
		return seen, nil
	}
	h := bindingstest.New(t, map[string]any{"Timers": bindings.Orchestrator(orch)},
		bindingstest.StartTime(time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)))
	run := h.Start("Timers", nil)
	h.Advance(59 * time.Minute)
	if run.Status() != bindings.StatusRunning || len(run.Calls()) != 1 {
		t.Fatalf("a timer fired early: %v, calls %v", run.Status(), run.Calls())
	}
	h.Advance(48 * time.Hour) // the remaining timers, one after the other
	var seen []string
	run.Output(&seen)
	if want := []string{"1h0m0s", "1h1m0s", "25h1m0s"}; !slices.Equal(seen, want) {
		t.Fatalf("timers seen at %v, want %v", seen, want)
	}
	start := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
	if got, want := h.Now(), start.Add(59*time.Minute+48*time.Hour); !got.Equal(want) {
		t.Fatalf("clock %v, want %v", got, want)
	}
	want := []bindingstest.Call{bindingstest.TimerCall(start.Add(time.Hour)),
		bindingstest.TimerCall(start.Add(time.Hour + time.Minute)), bindingstest.TimerCall(start.Add(25*time.Hour + time.Minute))}
	if got := run.Calls(); !slices.Equal(got, want) {
		t.Fatalf("calls %v, want %v", got, want)
	}
}

// Every episode replays the whole history, so an orchestrator that makes
// other decisions on replay fails as non-deterministic.
func TestNonDeterminismIsCaught(t *testing.T) {
	var mu sync.Mutex
	runs := 0
	orch := func(ctx bindings.OrchestrationContext) (any, error) {
		mu.Lock()
		runs++
		name := "A"
		if runs > 1 {
			name = "B" // differs on replay
		}
		mu.Unlock()
		return bindings.CallActivity[string](ctx, name, nil)
	}
	act := bindingstest.Stub("A", func(any) (string, error) { return "a", nil })
	h := bindingstest.New(t, map[string]any{"Flaky": bindings.Orchestrator(orch)}, act)
	run := h.Start("Flaky", nil)
	if run.Status() != bindings.StatusFailed || !strings.Contains(run.Failure(), "non-deterministic") {
		t.Fatalf("status %v, failure %q", run.Status(), run.Failure())
	}
}

// Options reach StartNew; Terminate ends a waiting instance; a sub-activity
// stub's error reaches the orchestrator as a TaskFailedError.
func TestInstanceIDTerminateAndStubErrors(t *testing.T) {
	orch := func(ctx bindings.OrchestrationContext) (any, error) {
		_, err := bindings.CallActivity[int](ctx, "Broken", 1)
		var tfe *bindings.TaskFailedError
		if !errors.As(err, &tfe) {
			return nil, fmt.Errorf("want a TaskFailedError, got %v", err)
		}
		ctx.SetCustomStatus(tfe.Message)
		return nil, ctx.WaitForExternalEvent("never").Await(nil)
	}
	// orch is a plain func of the Orchestrator shape, not a bindings.Orchestrator.
	h := bindingstest.New(t, map[string]any{"Waits": orch},
		bindingstest.Stub("Broken", func(int) (int, error) { return 0, errors.New("out of order") }))
	run := h.Start("Waits", nil, bindings.WithInstanceID("fixed-id"))
	var custom string
	run.CustomStatus(&custom)
	if run.ID() != "fixed-id" || run.Status() != bindings.StatusRunning || custom != "out of order" {
		t.Fatalf("instance %s: %v, custom status %q", run.ID(), run.Status(), custom)
	}
	run.Terminate("enough")
	if run.Status() != bindings.StatusTerminated {
		t.Fatalf("after Terminate: %v", run.Status())
	}
}

// recorder stands in for a *testing.T to see what the harness reports.
type recorder struct {
	testing.TB
	mu       sync.Mutex
	fatal    string
	cleanups []func()
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.mu.Lock()
	r.fatal = fmt.Sprintf(format, args...)
	r.mu.Unlock()
	runtime.Goexit()
}
func (r *recorder) Errorf(format string, args ...any) { r.Fatalf(format, args...) }
func (r *recorder) Cleanup(f func())                  { r.cleanups = append(r.cleanups, f) }

// run runs f as a test body and returns what it reported.
func (r *recorder) run(f func()) string {
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	<-done
	for _, c := range slices.Backward(r.cleanups) {
		c()
	}
	return r.fatal
}

// Output fails the test, naming status and output, when the instance did
// not complete; so does starting an unknown orchestrator.
func TestFailuresAreReported(t *testing.T) {
	fail := bindings.Orchestrator(func(bindings.OrchestrationContext) (any, error) { return nil, errors.New("boom") })
	for _, tt := range []struct {
		name string
		body func(h *bindingstest.Harness)
		want string
	}{
		{"output of a failed instance", func(h *bindingstest.Harness) { var v any; h.Start("Fail", nil).Output(&v) },
			"is Failed, not Completed"},
		{"unknown orchestrator", func(h *bindingstest.Harness) { h.Start("Nope", nil) }, "unknown orchestrator"},
		{"event for a finished instance", func(h *bindingstest.Harness) { h.Start("Fail", nil).RaiseEvent("E", 1) }, "not running"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{}
			got := r.run(func() { tt.body(bindingstest.New(r, map[string]any{"Fail": fail})) })
			if !strings.Contains(got, tt.want) {
				t.Fatalf("reported %q, want it to say %q", got, tt.want)
			}
		})
	}
}
