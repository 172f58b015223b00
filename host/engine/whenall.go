package engine

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/funchost/funchost/bindings"
)

// WhenAll and WhenAny: tasks composed of other tasks.

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
