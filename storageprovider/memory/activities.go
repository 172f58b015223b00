package memory

import (
	"context"
	"fmt"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
)

// queueActivity makes item available to activity workers.
func (h *TaskHub) queueActivity(item *activityItem) {
	item.queued = true
	h.acts.push(item)
	h.actWait.WakeFirst()
}

// LockNextActivityWorkItem hands out the oldest queued activity message.
// It blocks until there is one, ctx ends or the hub stops.
func (h *TaskHub) LockNextActivityWorkItem(ctx context.Context) (*sp.ActivityWorkItem, error) {
	return lockNext(ctx, h, &h.actWait, h.takeActivityLocked)
}

func (h *TaskHub) takeActivityLocked() *sp.ActivityWorkItem {
	for {
		item, ok := h.acts.pop()
		if !ok {
			return nil
		}
		if item.done || !item.queued {
			continue
		}
		item.queued = false
		item.dequeueCount++
		l := &actLock{item: item, until: time.Now().Add(h.opts.LockTimeout)}
		l.expiry = &timerEntry{at: l.until, kind: actLockExpiry, actLock: l}
		h.schedule(l.expiry)
		item.lock = l
		return &sp.ActivityWorkItem{
			Message:      item.msg.Clone(),
			DequeueCount: item.dequeueCount,
			LockedUntil:  l.until.UTC(),
			ProviderData: l,
		}
	}
}

func actLockOf(wi *sp.ActivityWorkItem) (*actLock, error) {
	if wi == nil {
		return nil, errNilWorkItem
	}
	return providerLock[actLock](wi.ProviderData)
}

func actLostErr(l *actLock) error {
	return fmt.Errorf("memory task hub: activity %q of instance %q: %w",
		l.item.msg.Event.Name, l.item.msg.Target.InstanceID, sp.ErrWorkItemLost)
}

// RenewActivityWorkItem extends the activity's lock by LockTimeout.
func (h *TaskHub) RenewActivityWorkItem(ctx context.Context, wi *sp.ActivityWorkItem) error {
	l, err := actLockOf(wi)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if l.item.done || l.item.lock != l {
		return actLostErr(l)
	}
	wi.LockedUntil = h.extendLock(l.expiry, &l.until)
	return nil
}

// CompleteActivityWorkItem delivers result to the orchestration and
// deletes the activity message. It fails with ErrWorkItemLost, sending
// nothing, when another worker holds the activity or completed it.
func (h *TaskHub) CompleteActivityWorkItem(ctx context.Context, wi *sp.ActivityWorkItem, result *sp.TaskMessage) error {
	l, err := actLockOf(wi)
	if err != nil {
		return err
	}
	if err := checkMessage(result, l.item.msg.Target.InstanceID); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	item := l.item
	if item.done || (item.lock != l && item.lock != nil) {
		return actLostErr(l)
	}
	item.done = true
	item.queued = false // a queued copy (after lock expiry) is skipped
	item.lock = nil
	h.unschedule(l.expiry)
	rc := result.Clone()
	if rc.Target.InstanceID == "" {
		rc.Target = item.msg.Target
	}
	h.enqueueLocked(h.instanceFor(rc.Target.InstanceID), rc, time.Now())
	return nil
}

// AbandonActivityWorkItem puts the activity back in the queue after
// retryAfter.
func (h *TaskHub) AbandonActivityWorkItem(ctx context.Context, wi *sp.ActivityWorkItem, retryAfter time.Duration) error {
	l, err := actLockOf(wi)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	item := l.item
	if item.done || item.lock != l {
		return actLostErr(l)
	}
	item.lock = nil
	h.unschedule(l.expiry)
	if retryAfter <= 0 {
		h.queueActivity(item)
	} else {
		h.schedule(&timerEntry{at: time.Now().Add(retryAfter), kind: requeueActivity, act: item})
	}
	return nil
}
