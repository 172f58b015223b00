// Package loops exercises the unbounded-loop rule.
package loops

import (
	"time"

	"github.com/funchost/funchost/bindings"
)

func Forever(ctx bindings.OrchestrationContext) (any, error) {
	for { // want `^Forever → unbounded loop: unbounded loop schedules work without ctx\.ContinueAsNew, so the history grows forever; call ctx\.ContinueAsNew\(state\) and return to restart with an empty history$`
		if err := ctx.CallActivity("Poll", nil).Await(nil); err != nil {
			return nil, err
		}
	}
}

func UntilStopped(ctx bindings.OrchestrationContext) (any, error) {
	done := false
	for !done { // want `^UntilStopped → unbounded loop: `
		ev, err := bindings.WaitForExternalEvent[string](ctx, "cmd")
		if err != nil {
			return nil, err
		}
		done = ev == "stop"
	}
	return nil, nil
}

func ThroughHelper(ctx bindings.OrchestrationContext) (any, error) {
	for { // want `^ThroughHelper → unbounded loop: `
		if err := pollOnce(ctx); err != nil {
			return nil, err
		}
	}
}

func pollOnce(ctx bindings.OrchestrationContext) error {
	return ctx.CreateTimer(ctx.CurrentUTCDateTime().Add(time.Minute)).Await(nil)
}

// Eternal is the recommended eternal orchestration: it restarts itself
// with ContinueAsNew.
func Eternal(ctx bindings.OrchestrationContext) (any, error) {
	n := 0
	for {
		if err := pollOnce(ctx); err != nil {
			return nil, err
		}
		n++
		if n == 10 {
			ctx.ContinueAsNew(n)
			return nil, nil
		}
	}
}

// EternalViaHelper continues as new through a helper.
func EternalViaHelper(ctx bindings.OrchestrationContext) (any, error) {
	for {
		if _, err := bindings.CallActivity[int](ctx, "Work", nil); err != nil {
			return nil, err
		}
		restart(ctx)
		return nil, nil
	}
}

func restart(ctx bindings.OrchestrationContext) { ctx.ContinueAsNew(nil) }

// Bounded loops and loops that schedule nothing are fine.
func Bounded(ctx bindings.OrchestrationContext) (any, error) {
	for i := 0; i < 3; i++ {
		ctx.CallActivity("Work", i)
	}
	attempt := 0
	for attempt < 3 {
		if err := ctx.CallActivity("Work", attempt).Await(nil); err == nil {
			break
		}
		attempt++
	}
	for range 3 {
		ctx.CallActivity("Work", nil)
	}
	x := 0
	for {
		x++
		if x > 10 {
			break
		}
	}
	return x, nil
}

// StopOnEvent ends only when an event says so.
func StopOnEvent(ctx bindings.OrchestrationContext) (any, error) {
	for { // want `^StopOnEvent → unbounded loop: `
		ev, err := bindings.WaitForExternalEvent[string](ctx, "cmd")
		if err != nil {
			return nil, err
		}
		if ev == "stop" {
			break
		}
	}
	return nil, nil
}

// Monitor polls until a deadline on the deterministic clock: bounded.
func Monitor(ctx bindings.OrchestrationContext) (any, error) {
	expiry := ctx.CurrentUTCDateTime().Add(time.Hour)
	for ctx.CurrentUTCDateTime().Before(expiry) {
		if err := pollOnce(ctx); err != nil {
			return nil, err
		}
	}
	now := ctx.CurrentUTCDateTime()
	for now.Before(expiry) {
		ctx.CallActivity("Check", nil)
		now = ctx.CurrentUTCDateTime()
	}
	for {
		if err := pollOnce(ctx); err != nil {
			return nil, err
		}
		if ctx.CurrentUTCDateTime().After(expiry) {
			break
		}
	}
	return nil, nil
}

// Drain works through a finite queue and retries a bounded number of
// times: bounded.
func Drain(ctx bindings.OrchestrationContext) (any, error) {
	queue := []string{"a", "b"}
	for len(queue) > 0 {
		ctx.CallActivity("Work", queue[0])
		queue = queue[1:]
	}
	attempts := 0
	for {
		attempts++
		if err := ctx.CallActivity("Work", nil).Await(nil); err == nil {
			return nil, nil
		}
		if attempts > 5 {
			return nil, nil
		}
	}
}
