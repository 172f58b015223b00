package azurestorage

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/internal/waitq"
)

// orchLock is the ProviderData of an orchestration work item.
type orchLock struct {
	inst        *instState
	msgs        []*qmsg
	etag        string
	executionID string
	histLen     int
	epoch       uint64
	cache       *instCache // the cache entry the work item was built from (nil: none)
	fresh       bool       // history read skipped for a brand-new instance
	done        bool

	// renewing serialises lock renewals with the steps that end the lock
	// (deleting or releasing the messages): a renewal changes each
	// message's pop receipt, so one in flight during the commit's delete
	// would make the delete miss, and one after a release would hide the
	// released messages again. ended (under renewing) turns later
	// renewals into ErrWorkItemLost without a queue request.
	renewing sync.Mutex
	ended    bool
}

// endRenewals waits for a renewal in flight and stops later ones; the
// caller is about to delete or release the work item's messages.
func (lk *orchLock) endRenewals() {
	lk.renewing.Lock()
	lk.ended = true
	lk.renewing.Unlock()
}

// LockNextOrchestrationWorkItem blocks until an instance of an owned
// partition has messages, and returns them with the instance's history.
func (h *TaskHub) LockNextOrchestrationWorkItem(ctx context.Context) (*sp.OrchestrationWorkItem, error) {
	for {
		stop := h.stopChan()
		if stop == nil {
			return nil, h.closedErr()
		}
		inst, msgs, cache, err := h.orch.take(ctx, stop)
		if errors.Is(err, waitq.ErrStopped) {
			return nil, h.closedErr()
		} else if err != nil {
			return nil, err
		}
		wi, err := h.buildWorkItem(ctx, inst, msgs, cache)
		if err != nil {
			h.log.Warn("preparing a work item failed; retrying", "instance", inst.id, "err", errString(err))
			h.orch.retryLater(inst, msgs)
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			continue
		}
		if h.orch.claim(inst, msgs, wi.ProviderData.(*orchLock)) {
			return wi, nil
		}
	}
}

// canSkipHistoryRead: a first delivery of a generation-0 start for an
// instance we have no cache for is almost always a brand-new instance. The
// history read is skipped; if history exists after all, the sentinel's
// conditional insert fails and the retry (dequeue count 2) reads it.
//
// Only starts that cannot meet a running instance qualify: client starts
// (CreateInstance's conditional insert already refused a running ID) and
// sub-orchestration starts with a system-made ID (32 hex digits, derived
// from the parent). A sub-orchestration start with an explicit ID may hit
// a running instance; run blind, its episode's messages would be sent
// before the sentinel insert fails.
func canSkipHistoryRead(msgs []*qmsg) bool {
	for _, m := range msgs {
		ev := m.msg.Event
		if dc, _ := m.delivery(); ev.EventType == sp.EventExecutionStarted && ev.Generation == 0 && dc <= 1 &&
			(ev.ParentInstance == nil || isSystemInstanceID(m.msg.Target.InstanceID)) {
			return true
		}
	}
	return false
}

// isSystemInstanceID reports whether id has the shape of the IDs the
// system makes up (32 lower-case hex digits).
func isSystemInstanceID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// buildWorkItem makes the work item for inst's msgs: history from the
// cache, from the History table, or none for a brand-new instance.
func (h *TaskHub) buildWorkItem(ctx context.Context, inst *instState, msgs []*qmsg, cache *instCache) (*sp.OrchestrationWorkItem, error) {
	epoch, _ := h.parts.current(inst.partition)
	lk := &orchLock{inst: inst, msgs: msgs, epoch: epoch, cache: cache}
	var state *sp.OrchestrationState
	switch {
	case cache != nil:
		lk.etag, lk.executionID, lk.histLen = cache.etag, cache.executionID, len(cache.history)
		state = cache.state.Clone()
	case canSkipHistoryRead(msgs):
		lk.fresh = true
	default:
		lh, err := h.history.load(ctx, inst.id)
		if err != nil {
			return nil, err
		}
		c := &instCache{executionID: lh.executionID, history: lh.events, etag: lh.etag}
		for _, ev := range lh.events {
			if ev.EventType == sp.EventExecutionStarted {
				c.rowInput, c.inputKnown = ev.Input, true
			}
		}
		lk.cache = c
		lk.etag, lk.executionID, lk.histLen = c.etag, c.executionID, len(c.history)
	}
	var history []*sp.HistoryEvent
	if lk.cache != nil {
		history = lk.cache.history[:len(lk.cache.history):len(lk.cache.history)]
	}
	wi := &sp.OrchestrationWorkItem{
		InstanceID:   inst.id,
		History:      history,
		State:        state,
		ProviderData: lk,
	}
	for _, m := range msgs {
		dc, vis := m.delivery()
		wi.NewMessages = append(wi.NewMessages, m.msg)
		if m.reminder == nil {
			// Rejected deliveries do not count (sp.Rejecter).
			dc = max(dc-m.rejected, 1)
			wi.Rejections = max(wi.Rejections, m.rejected)
		}
		wi.DequeueCount = max(wi.DequeueCount, dc)
		if wi.LockedUntil.IsZero() || (!vis.IsZero() && vis.Before(wi.LockedUntil)) {
			wi.LockedUntil = vis
		}
	}
	return wi, nil
}

func orchLockOf(wi *sp.OrchestrationWorkItem) (*orchLock, error) {
	if wi == nil {
		return nil, errors.New("azurestorage: nil work item")
	}
	lk, ok := wi.ProviderData.(*orchLock)
	if !ok || lk == nil {
		return nil, fmt.Errorf("azurestorage: work item for %q was not issued by this provider", wi.InstanceID)
	}
	return lk, nil
}

// RenewOrchestrationWorkItem extends the visibility of the work item's
// messages, and of the messages received for the instance meanwhile,
// which wait in the dispatcher for the next work item: a work item that
// outlasts the lock time (an episode that schedules many thousands of
// calls) would otherwise let them reappear in the queue, and a locally
// delivered activity result whose activity message reappears makes the
// activity run again. Only the work item's own messages decide the
// outcome; a waiting message that cannot be renewed (it was received
// again meanwhile) is left to the dispatcher, which keeps the newest
// delivery.
func (h *TaskHub) RenewOrchestrationWorkItem(ctx context.Context, wi *sp.OrchestrationWorkItem) error {
	lk, err := orchLockOf(wi)
	if err != nil {
		return err
	}
	lk.renewing.Lock()
	defer lk.renewing.Unlock()
	if lk.ended || h.orch.isDone(lk) {
		return fmt.Errorf("azurestorage: renewing instance %q: %w", wi.InstanceID, sp.ErrWorkItemLost)
	}
	until, err := h.msgs.renew(ctx, lk.msgs, h.opts.ControlQueueVisibilityTimeout)
	if err != nil {
		return fmt.Errorf("azurestorage: renewing instance %q: %w", wi.InstanceID, err)
	}
	wi.LockedUntil = until
	if held := h.orch.heldFor(lk); len(held) > 0 {
		_, _ = h.msgs.renew(ctx, held, h.opts.ControlQueueVisibilityTimeout)
	}
	return nil
}

// RejectOrchestrationWorkItem is AbandonOrchestrationWorkItem for a work
// item that orchestration versioning rejected (sp.Rejecter): each
// message's body records the rejection in the same update that hides it,
// so that the queue's DequeueCount, which grows on every receive, is read
// net of rejections when the messages come back.
func (h *TaskHub) RejectOrchestrationWorkItem(ctx context.Context, wi *sp.OrchestrationWorkItem, retryAfter time.Duration) error {
	lk, err := orchLockOf(wi)
	if err != nil {
		return err
	}
	if h.orch.isDone(lk) {
		return nil
	}
	lk.endRenewals()
	h.msgs.reject(ctx, lk.msgs, min(retryAfter, maxAbandonDelay))
	h.orch.finish(lk, nil, false)
	return nil
}

// AbandonOrchestrationWorkItem releases the work item; its messages are
// delivered again after retryAfter (at most maxAbandonDelay, as DTFx caps
// it, so a poison message keeps coming back until the engine gives up).
func (h *TaskHub) AbandonOrchestrationWorkItem(ctx context.Context, wi *sp.OrchestrationWorkItem, retryAfter time.Duration) error {
	lk, err := orchLockOf(wi)
	if err != nil {
		return err
	}
	if h.orch.isDone(lk) {
		return nil
	}
	lk.endRenewals()
	h.msgs.release(ctx, lk.msgs, min(retryAfter, maxAbandonDelay))
	h.orch.finish(lk, nil, false)
	return nil
}
