package engine

import (
	"context"
	"errors"
	"sync"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
)

// lockRenewer renews a work item's lock at half the remaining lock time
// (clamped to 100 ms–30 s) until stopped. A failed renewal is retried at
// the next round; lost is called, and the renewals end, when the task hub
// says the lock is lost or the lock has expired without a successful
// renewal.
//
// Every work item has one, from fetch to commit, and nearly all finish
// long before their first renewal is due: the renewer is a timer, with no
// goroutine and no context of its own until a renewal fires (a goroutine
// per work item cost the memory provider's HelloSequence benchmark about a
// tenth of its throughput).
type lockRenewer struct {
	parent context.Context
	renew  func(context.Context) error
	until  func() time.Time
	lost   func()

	mu      sync.Mutex
	timer   *time.Timer
	stopped bool
	ctx     context.Context // made at the first renewal
	cancel  context.CancelFunc
	busy    sync.WaitGroup // a renewal in flight
}

// renewLoop starts renewing (see lockRenewer) and returns the function
// that stops it, which waits for a renewal in flight. A zero lockedUntil
// means the task hub reports no lock expiry: nothing is renewed.
func renewLoop(ctx context.Context, lockedUntil time.Time, renew func(context.Context) error, until func() time.Time, lost func()) func() {
	if lockedUntil.IsZero() {
		return func() {}
	}
	r := &lockRenewer{parent: ctx, renew: renew, until: until, lost: lost}
	r.mu.Lock()
	r.timer = time.AfterFunc(renewDelay(until()), r.fire)
	r.mu.Unlock()
	return r.stop
}

// renewDelay is the wait before the next renewal of a lock held until
// lockedUntil.
func renewDelay(lockedUntil time.Time) time.Duration {
	return min(max(time.Until(lockedUntil)/2, 100*time.Millisecond), 30*time.Second)
}

// fire runs one renewal on the timer's goroutine and schedules the next.
func (r *lockRenewer) fire() {
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		return
	}
	if r.ctx == nil {
		r.ctx, r.cancel = context.WithCancel(r.parent)
	}
	ctx := r.ctx
	r.busy.Add(1)
	r.mu.Unlock()
	defer r.busy.Done()

	err := r.renew(ctx)
	if err != nil && ctx.Err() == nil && (errors.Is(err, sp.ErrWorkItemLost) || time.Now().After(r.until())) {
		if r.lost != nil {
			r.lost()
		}
		return
	}
	r.mu.Lock()
	if !r.stopped {
		r.timer.Reset(renewDelay(r.until()))
	}
	r.mu.Unlock()
}

// stop ends the renewals: no renewal starts after it, and one in flight
// is cancelled and waited for.
func (r *lockRenewer) stop() {
	r.mu.Lock()
	r.stopped = true
	r.timer.Stop()
	if r.cancel != nil {
		r.cancel()
	}
	r.mu.Unlock()
	r.busy.Wait()
}
