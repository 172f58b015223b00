package memory

import (
	"context"
	"strings"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
)

var _ sp.QueueStatsReporter = (*TaskHub)(nil)

// QueueStats samples the hub's two queues as the metrics report Azure
// Storage's: the orchestration messages waiting for a worker (one
// "control queue", partition 0, always owned: the memory hub has one
// partition and one host) and the queued activity work items. A message's
// age is measured from its event's timestamp (when it was created), the
// memory hub's stand-in for a queue's insertion time. Durable timers that
// have not fired yet are not queued messages and are not counted. The
// sample costs a walk over the instances under the hub's lock.
func (h *TaskHub) QueueStats(context.Context) (*sp.QueueStats, error) {
	name := strings.ToLower(h.opts.Name)
	control := sp.QueueDepth{Name: name + "-control-00", Owned: true}
	work := sp.QueueDepth{Name: name + "-workitems"}
	now := time.Now()
	var oldest, oldestWork time.Time
	h.mu.Lock()
	for _, inst := range h.instances {
		for _, qm := range inst.pending {
			control.Length++
			oldest = earlier(oldest, qm.msg.Event)
		}
	}
	h.acts.each(func(it *activityItem) {
		if it.queued && !it.done && it.lock == nil {
			work.Length++
			oldestWork = earlier(oldestWork, it.msg.Event)
		}
	})
	h.mu.Unlock()
	control.OldestAge, work.OldestAge = age(now, oldest), age(now, oldestWork)
	return &sp.QueueStats{ControlQueues: []sp.QueueDepth{control}, WorkItems: work}, nil
}

// earlier is the earlier of t and when ev was queued (t zero: none
// yet).
func earlier(t time.Time, ev *sp.HistoryEvent) time.Time {
	if ev == nil {
		return t
	}
	at := ev.Timestamp
	if ev.EventType == sp.EventTimerFired {
		at = ev.FireAt // queued when it fired, not when it was set
	}
	if at.IsZero() {
		return t
	}
	if t.IsZero() || at.Before(t) {
		return at
	}
	return t
}

// age is now - t, 0 for no message or a clock disagreement.
func age(now, t time.Time) time.Duration {
	if t.IsZero() || !now.After(t) {
		return 0
	}
	return now.Sub(t)
}
