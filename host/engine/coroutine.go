package engine

import (
	"fmt"
	"runtime"
	"runtime/debug"

	sp "github.com/funchost/funchost/storageprovider"
)

// The coroutine hand-off between the engine and the orchestrator
// goroutine: exactly one of them runs at a time.

// run lets the orchestrator goroutine run until it awaits an incomplete
// task or returns. Only the engine side calls it.
func (e *execution) run() {
	if e.exited {
		return
	}
	e.resumeCh <- struct{}{}
	e.waitYield()
	if e.misuse == nil {
		e.misuse = e.takeRefused() // a call from another goroutine
	}
	if e.misuse != nil && !e.done {
		e.failMisuse()
		return
	}
	if e.returned && !e.done {
		e.completeFromReturn()
	}
}

// await is called on the orchestrator goroutine: it hands control back to
// the engine until t completes, and leaves through runtime.Goexit when the
// execution is torn down meanwhile.
func (e *execution) await(t *task) bool {
	for !t.done {
		if e.killed {
			// Await from a deferred call while the execution is being torn
			// down: the engine no longer listens, so do not block.
			return false
		}
		e.awaiting = t
		e.release()
		select {
		case e.yieldCh <- struct{}{}:
		case <-e.abandoned:
			e.leaveAbandoned()
		}
		<-e.resumeCh
		if e.killed {
			runtime.Goexit()
		}
		e.hold()
	}
	e.awaiting = nil
	return true
}

// main is the orchestrator goroutine.
func (e *execution) main(ctx *orchestrationContext) {
	defer func() {
		if r := recover(); r != nil {
			ctx.releaseLocks()
			e.returned = true
			e.retFailure = &sp.FailureDetails{ErrorType: "panic", ErrorMessage: fmt.Sprintf("panic: %v", r), StackTrace: string(debug.Stack())}
		} else if !e.returned && !e.killed {
			// runtime.Goexit in the orchestrator: it will never decide
			// anything more, so it fails rather than hang.
			e.returned = true
			e.retFailure = &sp.FailureDetails{ErrorType: "Goexit", ErrorMessage: "the orchestrator called runtime.Goexit (t.FailNow in a test?) instead of returning"}
		}
		e.exited = true
		e.awaiting = nil
		e.release()
		select {
		case e.yieldCh <- struct{}{}:
		case <-e.abandoned:
			e.leaveAbandoned()
		}
	}()
	learnMain()
	e.labelGoroutine()
	<-e.resumeCh
	if e.killed {
		return
	}
	e.hold()
	out, err := e.orch(ctx)
	ctx.releaseLocks()
	e.settleReturn(out, err)
	e.returned = true
}

// start launches the orchestrator goroutine and runs it to its first
// await.
func (e *execution) start() {
	if e.goStarted {
		return
	}
	e.goStarted = true
	go e.main(&orchestrationContext{e: e})
	e.run()
}

// teardown ends a parked orchestrator goroutine. It is idempotent.
func (e *execution) teardown() {
	if e.stuck || !e.goStarted || e.exited {
		return
	}
	e.closeBaton()
	e.killed = true
	e.resumeCh <- struct{}{}
	<-e.yieldCh
}

// resumeIfReady runs the orchestrator when the task it awaits completed.
func (e *execution) resumeIfReady() {
	for !e.done && e.awaiting != nil && e.awaiting.done {
		e.run()
	}
}
