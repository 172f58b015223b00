package engine

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/funchost/funchost/bindings"
)

// Goroutine binding (docs/guards.md, "Goroutines"): the orchestration
// context and its tasks belong to the orchestrator goroutine, and only
// while it holds control. Every context method and task method passes
// enter first, which admits the call only when
//
//   - it comes from an orchestrator goroutine: the bottom frame of the
//     caller's stack (above runtime.goexit) is execution.main. Goroutines
//     do not inherit stacks, so a goroutine the orchestrator started —
//     directly, through errgroup or a pool, or a timer's — has something
//     else there. This costs one runtime.Callers walk per call (a few
//     hundred nanoseconds), no runtime internals; and
//   - the execution's baton is held: the orchestrator goroutine sets it,
//     under the baton's mutex, when it is resumed and clears it before it
//     yields, so a call while the engine has control (from a goroutine of
//     another orchestration, or after the execution was torn down) is
//     refused as well.
//
// A refused call touches nothing but the baton: it gets an error (a failed
// task, a zero value) and the first one is recorded; the engine fails the
// orchestration with it when the orchestrator next yields. The engine's
// own state is only ever touched by whichever of the engine and the
// orchestrator goroutine holds control, so no goroutine a user starts can
// corrupt it, under -race too.
//
// Not caught: another orchestration's goroutine using this context while
// this orchestrator holds control too (both pass the stack test; the
// baton then does not separate them).

// baton is the execution's goroutine binding.
type baton struct {
	mu   sync.Mutex
	held bool // the orchestrator goroutine has control
	// closed is set when the execution is torn down: calls from the
	// orchestrator's deferred functions are then refused quietly.
	closed bool
	// refused is the first refused call's error.
	refused error
}

// mainEntry is the entry PC of execution.main, learnt by the first
// orchestrator goroutine; seenMain caches the PC a caller's bottom frame
// has when it is execution.main (one call site calls the orchestrator).
var mainEntry, seenMain atomic.Uintptr

// learnMain records execution.main's entry PC; main calls it first.
//
//go:noinline
func learnMain() {
	if mainEntry.Load() != 0 {
		return
	}
	var pc [1]uintptr
	if runtime.Callers(2, pc[:]) == 1 { // pc[0] is in execution.main
		if f := runtime.FuncForPC(pc[0] - 1); f != nil {
			mainEntry.Store(f.Entry())
		}
	}
}

// onOrchestratorGoroutine reports whether the caller runs on an
// orchestrator goroutine: its bottom frame, above runtime.goexit, is
// execution.main.
func onOrchestratorGoroutine() bool {
	var buf [48]uintptr
	pcs := buf[:]
	n := runtime.Callers(3, pcs)
	for n == len(pcs) { // deeper than the buffer
		pcs = make([]uintptr, 4*len(pcs))
		n = runtime.Callers(3, pcs)
	}
	if n < 2 {
		return false
	}
	pc := pcs[n-2]
	if pc == seenMain.Load() {
		return true
	}
	f := runtime.FuncForPC(pc - 1)
	if f == nil || f.Entry() != mainEntry.Load() {
		return false
	}
	seenMain.Store(pc)
	return true
}

// enter admits a call of the context or of a task (call names it, e.g.
// "CallActivity") or refuses it with the error the caller returns.
func (e *execution) enter(call string) error {
	own := onOrchestratorGoroutine()
	b := &e.bat
	b.mu.Lock()
	defer b.mu.Unlock()
	if own && b.held {
		return nil
	}
	if b.closed && own {
		return errTornDown
	}
	err := e.refusal(call, own)
	if b.refused == nil {
		b.refused = err
		e.baseLogger.Warn("orchestration context used outside its orchestrator's control; the orchestration fails",
			"instanceId", e.instanceID, "orchestrator", e.name, "error", err)
	}
	return err
}

// refusal is the error of a refused call.
func (e *execution) refusal(call string, own bool) error {
	what := fmt.Sprintf("%s was called from a goroutine other than the orchestrator's own (multithreaded execution); "+
		"orchestrator code must not start goroutines (go statements, errgroup, worker pools, time.AfterFunc): "+
		"to run calls concurrently, start them without awaiting and await them together with WhenAll or WhenAny", call)
	if own {
		what = fmt.Sprintf("%s was called while the orchestrator did not have control "+
			"(from another orchestration's goroutine, or after the orchestrator yielded); "+
			"an orchestration context must be used only by its own orchestrator", call)
	}
	return &bindings.NonDeterministicOrchestrationError{InstanceID: e.instanceID, Misuse: what}
}

// hold and release set and clear the baton; only the orchestrator
// goroutine calls them, when it is resumed and before it yields.
func (e *execution) hold() {
	e.bat.mu.Lock()
	e.bat.held = true
	e.bat.mu.Unlock()
}

func (e *execution) release() {
	e.bat.mu.Lock()
	e.bat.held = false
	e.bat.mu.Unlock()
}

// closeBaton marks the execution torn down (engine side, before it wakes
// the goroutine to leave).
func (e *execution) closeBaton() {
	e.bat.mu.Lock()
	e.bat.closed = true
	e.bat.mu.Unlock()
}

// takeRefused returns the first refused call's error, for the engine to
// fail the orchestration with once the orchestrator has yielded.
func (e *execution) takeRefused() error {
	e.bat.mu.Lock()
	defer e.bat.mu.Unlock()
	return e.bat.refused
}

// failIfRefused fails the execution with a call refused since the
// orchestrator last yielded (engine side, as an episode ends).
func (e *execution) failIfRefused() {
	if e.done || !e.goStarted {
		return
	}
	if e.misuse == nil {
		e.misuse = e.takeRefused()
	}
	if e.misuse != nil {
		e.failMisuse()
	}
}
