package engine

import (
	"context"
	"sync"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
)

// The in-process activity runner (Options.LocalActivities): the activity
// calls of an episode, run by the orchestration work item itself under the
// worker-wide activity limit, their results fed to the next episode of the
// same work item.

// localRunner runs one orchestration work item's activity calls
// in-process. Its budget (calls, and time to start them) spans the whole
// work item; the budget's clock is the wall clock, as it guards the work
// item's lock in the task hub.
type localRunner struct {
	w *Worker
	// lockCtx ends when the work item's lock is lost.
	lockCtx  context.Context
	left     int       // activity calls it may still start
	deadline time.Time // for starting them
}

// localRunFor returns the in-process runner of a work item, or nil when
// in-process activities are off. lockCtx ends when the work item's lock is
// lost (processOrchestration renews it meanwhile): the runner stops
// starting activities then. lockedUntil is the lock's expiry at fetch: the
// default time budget is half the lock time the work item came with.
func (w *Worker) localRunFor(lockCtx context.Context, lockedUntil time.Time) localRun {
	if !w.opts.LocalActivities {
		return nil
	}
	d := w.opts.MaxLocalActivityTime
	if d <= 0 {
		d = defaultLocalActivityTime
		if !lockedUntil.IsZero() {
			d = time.Until(lockedUntil) / 2
		}
	}
	r := &localRunner{w: w, lockCtx: lockCtx, left: w.opts.MaxLocalActivities, deadline: time.Now().Add(d)}
	return r.run
}

// acquireSlot takes a slot of the worker-wide activity semaphore; it
// returns false, without a slot, when stop is closed first.
func (w *Worker) acquireSlot(stop <-chan struct{}) bool {
	select {
	case w.slots <- struct{}{}:
		return true
	case <-stop:
		return false
	}
}

func (w *Worker) releaseSlot() { <-w.slots }

// ended reports whether the runner must stop starting calls: its time is
// up, the worker is stopping or the lock is lost.
func (r *localRunner) ended() bool {
	return r.w.isStopping() || r.lockCtx.Err() != nil || !time.Now().Before(r.deadline)
}

// acquire waits for an activity slot until the runner's deadline, the
// worker's stop or the loss of the lock. *timer is made only when a slot
// must be waited for; the caller stops it.
func (r *localRunner) acquire(timer **time.Timer) bool {
	select {
	case r.w.slots <- struct{}{}:
		return true
	default:
	}
	if *timer == nil {
		*timer = time.NewTimer(time.Until(r.deadline))
	}
	select {
	case r.w.slots <- struct{}{}:
		return true
	case <-(*timer).C:
		r.deadline = time.Time{} // expired: start nothing more
	case <-r.w.stopping:
	case <-r.lockCtx.Done():
	}
	return false
}

// run runs activity calls of one episode in-process, each holding a slot
// of the worker-wide activity semaphore, so that at most
// MaxConcurrentActivities activities run at once on the worker however
// many calls the episode made. It stops starting calls when the budget is
// spent or the runner has ended; it waits for those it started. Calls of
// activities not registered here, calls it did not start and calls that
// failed during shutdown (the failure may be due to it) are returned in
// rest for the task hub.
func (r *localRunner) run(msgs []*sp.TaskMessage) (results []*sp.HistoryEvent, rest []*sp.TaskMessage) {
	w := r.w
	out := make([]*sp.HistoryEvent, len(msgs))
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	// order records the calls in the order they finished: their results
	// are applied in that order, so a WhenAny over them sees the first to
	// finish, as it would with queued calls.
	var mu sync.Mutex
	order := make([]int, 0, len(msgs))
	var wg sync.WaitGroup
	for i, m := range msgs {
		if r.left <= 0 || r.ended() {
			break
		}
		act, ok := lookupFold(w.reg.Activities, m.Event.Name)
		if !ok {
			continue
		}
		if !r.acquire(&timer) {
			break
		}
		if r.ended() { // both were ready: the end wins
			w.releaseSlot()
			break
		}
		r.left--
		if len(msgs) == 1 {
			// A sequence's single call: no goroutine needed.
			out[i] = w.runActivity(w.actCtx, act, m, true)
			order = append(order, i)
			w.releaseSlot()
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer w.releaseSlot()
			out[i] = w.runActivity(w.actCtx, act, m, true)
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return sortLocalResults(msgs, out, order, w.actCtx.Err() != nil)
}

// sortLocalResults splits the outcome of run: the results of the calls
// that ran, in the order they finished, and the calls the task hub must
// run (not run here, or failed while the worker shut down).
func sortLocalResults(msgs []*sp.TaskMessage, out []*sp.HistoryEvent, order []int, shutdown bool) (results []*sp.HistoryEvent, rest []*sp.TaskMessage) {
	for i, r := range out {
		if r == nil || (shutdown && r.EventType == sp.EventTaskFailed) {
			rest = append(rest, msgs[i])
		}
	}
	for _, i := range order {
		if r := out[i]; !shutdown || r.EventType != sp.EventTaskFailed {
			results = append(results, r)
		}
	}
	return results, rest
}
