package engine

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

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
func (t *task) IsDone() bool { return t.done }

// asTasks converts author-supplied Tasks into the engine's, refusing nil
// tasks and tasks that belong to another execution.
func (e *execution) asTasks(what string, tasks []bindings.Task) ([]*task, error) {
	ts := make([]*task, len(tasks))
	for i, bt := range tasks {
		t, ok := bt.(*task)
		if !ok || t == nil || t.e != e {
			return nil, fmt.Errorf("orchestration %s: %s got a task (argument %d, %T) that this orchestration did not create", e.instanceID, what, i, bt)
		}
		ts[i] = t
	}
	return ts, nil
}

// whenAll completes when every task has completed; its result is the JSON
// array of the results (null for failed tasks) and its error the first
// error in argument order.
func (e *execution) whenAll(tasks []bindings.Task) *task {
	ts, err := e.asTasks("WhenAll", tasks)
	if err != nil {
		return e.failedTask(err)
	}
	all := e.newTask()
	remaining := len(ts)
	finish := func() {
		var b strings.Builder
		b.WriteByte('[')
		var firstErr error
		for i, t := range ts {
			if i > 0 {
				b.WriteByte(',')
			}
			if t.err != nil || t.result == "" {
				b.WriteString("null")
			} else {
				b.WriteString(t.result)
			}
			if t.err != nil && firstErr == nil {
				firstErr = t.err
			}
		}
		b.WriteByte(']')
		all.complete(b.String(), firstErr)
	}
	if remaining == 0 {
		finish()
		return all
	}
	for _, t := range ts {
		t.then(func() {
			remaining--
			if remaining == 0 {
				finish()
			}
		})
	}
	return all
}

// whenAny completes with the index of the first task to complete (the
// lowest index when several already have). Its error is always nil: the
// winner's own Await reports its outcome.
func (e *execution) whenAny(tasks []bindings.Task) *task {
	ts, err := e.asTasks("WhenAny", tasks)
	if err != nil {
		return e.failedTask(err)
	}
	anyT := e.newTask()
	for i, t := range ts {
		t.then(func() { anyT.complete(strconv.Itoa(i), nil) })
	}
	return anyT
}
