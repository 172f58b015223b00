package engine

import (
	"math"
	"strconv"
	"time"

	"github.com/funchost/funchost/internal/options"
)

// Calls made with a retry policy (bindings.WithRetry); the history shape is
// in docs/replay.md, "Retries".

// defaultMaxRetryInterval is Durable Functions' default cap on retry
// delays.
const defaultMaxRetryInterval = 6 * 24 * time.Hour

// withRetry runs attempt until it succeeds or the policy gives up, with a
// durable timer between attempts. History shape follows DTFx's
// RetryInterceptor: after the last allowed attempt fails, one more timer
// (firing at once) is created before the error is returned. A failure
// marked non-retriable (FailureDetails.IsNonRetriable) ends the retries
// at once, without that timer.
func (e *execution) withRetry(p options.Retry, attempt func(tags map[string]string) *task) *task {
	if err := p.Validate(); err != nil {
		return e.failedTask(err)
	}
	outer := e.newTask()
	first := e.now
	// Every event of the chain carries the first attempt's action id.
	tags := map[string]string{retryChainTag: strconv.Itoa(e.nextID)}
	var try func(n int)
	try = func(n int) {
		t := attempt(tags)
		t.then(func() {
			if t.err == nil {
				outer.complete(t.result, nil)
				return
			}
			if t.nonRetriable {
				// DTFx rethrows a non-retriable failure at once, without
				// the final timer.
				outer.complete("", t.err)
				return
			}
			if n+1 >= p.MaxAttempts {
				e.scheduleTimer(e.now, tags).then(func() { outer.complete("", t.err) })
				return
			}
			delay := retryDelay(p, n, first, e.now, t.err)
			if delay <= 0 {
				outer.complete("", t.err)
				return
			}
			e.scheduleTimer(e.now.Add(delay), tags).then(func() { try(n + 1) })
		})
	}
	try(0)
	return outer
}

// retryDelay is the wait before attempt n+1 (0: give up).
func retryDelay(p options.Retry, n int, first, now time.Time, err error) (d time.Duration) {
	if p.Handle != nil {
		retry := func() (ok bool) {
			defer func() {
				if recover() != nil {
					ok = false
				}
			}()
			return p.Handle(err)
		}()
		if !retry {
			return 0
		}
	}
	if p.RetryTimeout > 0 && !now.Before(first.Add(p.RetryTimeout)) {
		return 0
	}
	coef := p.BackoffCoefficient
	if coef == 0 {
		coef = 1
	}
	max := p.MaxRetryInterval
	if max <= 0 {
		max = defaultMaxRetryInterval
	}
	f := float64(p.FirstRetryInterval) * math.Pow(coef, float64(n))
	if f >= float64(max) || math.IsInf(f, 0) || math.IsNaN(f) {
		return max
	}
	return time.Duration(f)
}
