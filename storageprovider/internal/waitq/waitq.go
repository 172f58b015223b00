// Package waitq is the first-in, first-out queue of callers blocked in a
// task hub's Lock* methods until there is work for them. Both providers
// use it: a caller that finds no work waits; whoever adds work wakes the
// longest-waiting caller, which then looks for work again.
package waitq

import (
	"context"
	"errors"
	"sync"
)

// ErrStopped is returned by Wait when the stop channel is closed.
var ErrStopped = errors.New("waitq: stopped")

// Queue is a FIFO of blocked callers. The zero value is an empty queue.
// A Queue is guarded by the caller's mutex: the one that also guards the
// work the callers wait for, so that checking for work and starting to
// wait are one step.
type Queue struct {
	waiters []chan struct{}
}

// Len returns the number of waiting callers.
func (q *Queue) Len() int { return len(q.waiters) }

// WakeFirst wakes the longest-waiting caller and reports whether there
// was one. The caller holds the guarding mutex.
func (q *Queue) WakeFirst() bool {
	if len(q.waiters) == 0 {
		return false
	}
	ch := q.waiters[0]
	q.waiters[0] = nil
	q.waiters = q.waiters[1:]
	ch <- struct{}{} // capacity 1, and each channel is woken once
	return true
}

// Wait joins the queue, unlocks mu and blocks until WakeFirst picks this
// caller (nil), stop is closed (ErrStopped) or ctx ends (ctx.Err()). It is
// entered and returns with mu locked, like sync.Cond.Wait. A caller that
// gives up after being picked passes the wake-up on to the next one, so
// that the work it was woken for is not stranded.
func (q *Queue) Wait(ctx context.Context, mu sync.Locker, stop <-chan struct{}) error {
	ch := make(chan struct{}, 1)
	q.waiters = append(q.waiters, ch)
	mu.Unlock()
	var err error
	select {
	case <-ch:
	case <-stop:
		err = ErrStopped
	case <-ctx.Done():
		err = ctx.Err()
	}
	mu.Lock()
	if err != nil && !q.remove(ch) {
		q.WakeFirst()
	}
	return err
}

// remove takes ch out of the queue, reporting false when it was no longer
// there (it had been woken).
func (q *Queue) remove(ch chan struct{}) bool {
	for i, c := range q.waiters {
		if c == ch {
			q.waiters = append(q.waiters[:i], q.waiters[i+1:]...)
			return true
		}
	}
	return false
}
