package memory

import (
	"context"
	"slices"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
)

// LockNextOrchestrationWorkItem hands out all pending messages of the
// instance that has waited longest, with its history, and locks the
// instance until the work item is completed, abandoned or its lock
// expires. It blocks until there is work, ctx ends (ctx.Err()) or the hub
// stops (ErrTaskHubClosed).
//
// History is the hub's own committed history, shared, not copied (an
// episode's cost must not grow with the history): it is clipped, so an
// engine's append copies, and engines never modify its events (the
// TaskHub contract). NewMessages are deep copies.
func (h *TaskHub) LockNextOrchestrationWorkItem(ctx context.Context) (*sp.OrchestrationWorkItem, error) {
	return lockNext(ctx, h, &h.orchWait, h.takeOrchLocked)
}

func (h *TaskHub) takeOrchLocked() *sp.OrchestrationWorkItem {
	t := time.Now()
	for {
		inst, ok := h.ready.pop()
		if !ok {
			return nil
		}
		inst.inReady = false
		if h.instances[inst.id] != inst || inst.locked != nil || len(inst.pending) == 0 || inst.notBefore.After(t) {
			continue // stale entry; whatever changed re-queues it when due
		}
		msgs := inst.pending
		inst.pending = nil
		l := &orchLock{inst: inst, version: inst.version, msgs: msgs, until: t.Add(h.opts.LockTimeout)}
		l.expiry = &timerEntry{at: l.until, kind: orchLockExpiry, orchLock: l}
		h.schedule(l.expiry)
		inst.locked = l

		wi := &sp.OrchestrationWorkItem{
			InstanceID:   inst.id,
			History:      slices.Clip(h.historyLocked(inst)),
			State:        inst.state.Clone(),
			NewMessages:  make([]*sp.TaskMessage, len(msgs)),
			LockedUntil:  l.until.UTC(),
			ProviderData: l,
		}
		for i, m := range msgs {
			m.dequeueCount++
			wi.DequeueCount = max(wi.DequeueCount, m.dequeueCount-m.rejected)
			wi.Rejections = max(wi.Rejections, m.rejected)
			wi.NewMessages[i] = m.msg.Clone()
		}
		return wi
	}
}

// releaseOrchLock ends l, returning its messages to the front of the
// instance's queue (delayed by retryAfter) so they are delivered again in
// their original order.
func (h *TaskHub) releaseOrchLock(l *orchLock, t time.Time, retryAfter time.Duration) {
	inst := l.inst
	if inst.locked == l {
		inst.locked = nil
		inst.pending = append(slices.Clip(l.msgs), inst.pending...)
	}
	h.unschedule(l.expiry)
	if retryAfter > 0 {
		inst.notBefore = t.Add(retryAfter)
		h.schedule(&timerEntry{at: inst.notBefore, kind: wakeInstance, inst: inst})
	}
	h.markReady(inst, t)
}

func lockOf(wi *sp.OrchestrationWorkItem) (*orchLock, error) {
	if wi == nil {
		return nil, errNilWorkItem
	}
	return providerLock[orchLock](wi.ProviderData)
}

// RenewOrchestrationWorkItem extends the lock by LockTimeout from now, or
// returns ErrWorkItemLost when the lock has already been lost.
func (h *TaskHub) RenewOrchestrationWorkItem(ctx context.Context, wi *sp.OrchestrationWorkItem) error {
	l, err := lockOf(wi)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if l.lost() {
		return lostErr(wi.InstanceID)
	}
	wi.LockedUntil = h.extendLock(l.expiry, &l.until)
	return nil
}

// CompleteOrchestrationWorkItem commits c atomically: either everything
// (history, state, messages, consumption of the work item's messages)
// becomes visible or, with ErrWorkItemLost, nothing does.
//
// A work item whose lock expired can still commit as long as no other
// worker holds the instance or has committed it since (the same rule an
// ETag gives a storage provider).
func (h *TaskHub) CompleteOrchestrationWorkItem(ctx context.Context, wi *sp.OrchestrationWorkItem, c *sp.OrchestrationCheckpoint) error {
	l, err := lockOf(wi)
	if err != nil {
		return err
	}
	if c == nil {
		c = &sp.OrchestrationCheckpoint{}
	}
	for _, g := range []struct {
		msgs []*sp.TaskMessage
		self string // the instance they must target ("" = any)
	}{{c.OutboundMessages, ""}, {c.ActivityMessages, wi.InstanceID}, {c.TimerMessages, wi.InstanceID}} {
		for _, m := range g.msgs {
			if err := checkMessage(m, g.self); err != nil {
				return err
			}
		}
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	inst := l.inst
	t := time.Now()
	if l.done {
		return lostErr(inst.id)
	}
	current := h.instances[inst.id] == inst && inst.version == l.version
	switch {
	case inst.locked == l:
		if !current {
			l.done = true
			h.releaseOrchLock(l, t, 0)
			h.forgetIfEmpty(inst)
			return lostErr(inst.id)
		}
	case inst.locked != nil || !current:
		l.done = true
		return lostErr(inst.id)
	default:
		// The lock expired and nobody took over: consume our messages
		// from the queue they were returned to.
		consumed := make(map[*queuedMsg]bool, len(l.msgs))
		for _, m := range l.msgs {
			consumed[m] = true
		}
		inst.pending = slices.DeleteFunc(inst.pending, func(m *queuedMsg) bool { return consumed[m] })
	}

	// History and state.
	if c.ReplaceHistory {
		inst.compact = nil
		inst.history = cloneEvents(nil, c.NewEvents)
	} else if len(c.NewEvents) > 0 {
		inst.history = cloneEvents(h.historyLocked(inst), c.NewEvents)
	}
	if c.State != nil {
		st := c.State.Clone()
		if st.InstanceID == "" {
			st.InstanceID = inst.id
		}
		inst.state = st
	}
	inst.version++

	// Messages.
	for _, m := range c.OutboundMessages {
		mc := m.Clone()
		target := h.instanceFor(mc.Target.InstanceID)
		if mc.Event.EventType == sp.EventExecutionStarted && target.state == nil {
			// A sub-orchestration start: its status row appears now.
			h.createRowLocked(target, mc, 0)
		}
		h.enqueueLocked(target, mc, t)
	}
	for _, m := range c.ActivityMessages {
		h.queueActivity(&activityItem{msg: cloneFor(m, inst.id)})
	}
	for _, m := range c.TimerMessages {
		mc := cloneFor(m, inst.id)
		h.enqueueLocked(h.instanceFor(mc.Target.InstanceID), mc, t)
	}

	// Release.
	l.done = true
	if inst.locked == l {
		inst.locked = nil
	}
	l.msgs = nil
	h.unschedule(l.expiry)
	h.markReady(inst, t)
	h.maybeCompact(inst)
	h.forgetIfEmpty(inst)
	return nil
}

// cloneFor copies m, targeting instanceID when m names no target.
func cloneFor(m *sp.TaskMessage, instanceID string) *sp.TaskMessage {
	mc := m.Clone()
	if mc.Target.InstanceID == "" {
		mc.Target.InstanceID = instanceID
	}
	return mc
}

// cloneEvents appends deep copies of evs to dst.
func cloneEvents(dst, evs []*sp.HistoryEvent) []*sp.HistoryEvent {
	dst = slices.Grow(dst, len(evs))
	for _, e := range evs {
		dst = append(dst, e.Clone())
	}
	return dst
}

// AbandonOrchestrationWorkItem releases the work item; its messages come
// back, ahead of newer ones, after retryAfter.
func (h *TaskHub) AbandonOrchestrationWorkItem(ctx context.Context, wi *sp.OrchestrationWorkItem, retryAfter time.Duration) error {
	return h.giveBack(wi, retryAfter, false)
}

// RejectOrchestrationWorkItem is AbandonOrchestrationWorkItem without
// counting the delivery (sp.Rejecter): each message remembers that it was
// rejected, in the same step that returns it to the queue.
func (h *TaskHub) RejectOrchestrationWorkItem(ctx context.Context, wi *sp.OrchestrationWorkItem, retryAfter time.Duration) error {
	return h.giveBack(wi, retryAfter, true)
}

func (h *TaskHub) giveBack(wi *sp.OrchestrationWorkItem, retryAfter time.Duration, rejected bool) error {
	l, err := lockOf(wi)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if l.lost() {
		l.done = true
		return lostErr(l.inst.id)
	}
	l.done = true
	if rejected {
		for _, m := range l.msgs {
			m.rejected++
		}
	}
	h.releaseOrchLock(l, time.Now(), retryAfter)
	h.forgetIfEmpty(l.inst)
	return nil
}
