package engine

import (
	"errors"
	"fmt"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/internal/payload"
)

// errTornDown is what Await returns to code that still runs while its
// execution is torn down (deferred calls during runtime.Goexit).
var errTornDown = errors.New("engine: the orchestration execution was torn down")

// task is the engine's bindings.Task. Tasks belong to one execution and are
// only touched by whichever side (engine or orchestrator goroutine) holds
// control, so they need no locking.
type task struct {
	e      *execution
	done   bool
	result string // JSON text, "" = null
	err    error
	// nonRetriable marks a failure whose FailureDetails say retrying is
	// pointless (poison, non-determinism, an instance ID in use): retry
	// policies give up at once, as DTFx's do.
	nonRetriable bool
	// onDone callbacks run once, when the task completes: composite tasks
	// (WhenAll, WhenAny, retries, event timeouts) are built from them.
	onDone []func()
}

var _ bindings.Task = (*task)(nil)

func (e *execution) newTask() *task { return &task{e: e} }

// failedTask returns a task that has already failed with err: used for
// calls that cannot even be scheduled (bad input, bad retry policy). It
// takes no action id, so replay stays aligned.
func (e *execution) failedTask(err error) *task {
	t := e.newTask()
	t.complete("", err)
	return t
}

// complete finishes the task (a second completion is ignored) and runs its
// callbacks.
func (t *task) complete(result string, err error) {
	if t.done {
		return
	}
	t.done, t.result, t.err = true, result, err
	cbs := t.onDone
	t.onDone = nil
	for _, cb := range cbs {
		cb()
	}
}

// then runs cb when the task completes (at once if it already has).
func (t *task) then(cb func()) {
	if t.done {
		cb()
		return
	}
	t.onDone = append(t.onDone, cb)
}

// Await blocks the orchestrator until the task completes, then decodes its
// result into out or returns its error.
func (t *task) Await(out any) error {
	if err := t.e.enter("Await"); err != nil {
		return err
	}
	if !t.e.await(t) {
		return errTornDown
	}
	if t.err != nil {
		return t.err
	}
	if err := payload.Unmarshal(t.result, out); err != nil {
		return fmt.Errorf("decoding task result into %T: %w", out, err)
	}
	return nil
}

// IsDone reports whether the task has completed.
func (t *task) IsDone() bool {
	if t.e.enter("IsDone") != nil {
		return false
	}
	return t.done
}
