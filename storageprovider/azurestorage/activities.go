package azurestorage

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	sp "github.com/funchost/funchost/storageprovider"
)

// activityPoller receives the work-items queue on demand: it asks for at
// most as many messages as there are waiting LockNextActivityWorkItem
// calls, so a host never hides activity messages it has no worker for.
type activityPoller struct {
	h       *TaskHub
	mu      sync.Mutex
	buf     []*qmsg
	waiters []chan struct{}
	demand  chan struct{}
	wake    chan struct{}
	out     map[string]*qmsg // handed-out work items by message ID
}

func newActivityPoller(h *TaskHub) *activityPoller {
	return &activityPoller{h: h, demand: make(chan struct{}, 1), wake: make(chan struct{}, 1), out: map[string]*qmsg{}}
}

// signal wakes whoever waits on ch (capacity 1) without blocking; a
// pending wake-up absorbs this one.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func (a *activityPoller) run(ctx context.Context) {
	h := a.h
	var backoff time.Duration
	vis := visibilitySeconds(h.opts.WorkItemQueueVisibilityTimeout)
	for ctx.Err() == nil {
		a.mu.Lock()
		need := len(a.waiters) - len(a.buf)
		a.mu.Unlock()
		if need <= 0 {
			select {
			case <-a.demand:
			case <-ctx.Done():
			}
			continue
		}
		asked := min(need, 32)
		resp, err := h.workItems.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{
			NumberOfMessages:  to.Ptr(int32(asked)),
			VisibilityTimeout: to.Ptr(vis),
		})
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			h.log.Warn("receiving from the work-item queue failed; retrying", "err", errString(err))
			sleepCtx(ctx, jitter(time.Second))
			continue
		}
		backoff = h.pollDelay(backoff, len(resp.Messages), asked)
		if len(resp.Messages) == 0 {
			waitWake(ctx, a.wake, jitter(backoff))
			continue
		}
		msgs := h.decodeReceived(ctx, h.workItems, -1, resp.Messages)
		a.mu.Lock()
		for _, m := range msgs {
			if old := a.out[m.id]; old != nil {
				// Re-delivered while handed out: that lock expired.
				old.mu.Lock()
				old.expired = true
				old.mu.Unlock()
				delete(a.out, m.id)
			}
		}
		a.buf = append(a.buf, msgs...)
		for range msgs {
			if !wakeFirst(&a.waiters) {
				break
			}
		}
		a.mu.Unlock()
		if backoff > 0 {
			waitWake(ctx, a.wake, jitter(backoff))
		}
	}
}

// releaseBuffered returns received but unclaimed activity messages to
// the queue (shutdown).
func (a *activityPoller) releaseBuffered(ctx context.Context) {
	a.mu.Lock()
	msgs := a.buf
	a.buf = nil
	a.mu.Unlock()
	a.h.releaseMessages(ctx, msgs, 0)
}

// sendActivity puts an activity invocation on the work-item queue and
// wakes this host's activity poller.
func (h *TaskHub) sendActivity(ctx context.Context, m *sp.TaskMessage, sender sp.OrchestrationInstance) error {
	body, _, err := h.prepareMessage(ctx, m, sender)
	if err != nil {
		return err
	}
	if err := enqueue(ctx, h.workItems, body, 0); err != nil {
		return fmt.Errorf("scheduling activity %q of %q: %w", m.Event.Name, m.Target.InstanceID, err)
	}
	signal(h.acts.wake)
	return nil
}

// LockNextActivityWorkItem blocks until an activity message is received.
func (h *TaskHub) LockNextActivityWorkItem(ctx context.Context) (*sp.ActivityWorkItem, error) {
	a := h.acts
	for {
		stop := h.stopChan()
		if stop == nil {
			return nil, h.closedErr()
		}
		a.mu.Lock()
		for len(a.buf) > 0 && lockRanOut(a.buf[0], time.Second) {
			// Buffered for so long that its lock ran out: it is visible
			// in the queue again and will be received anew.
			a.buf[0] = nil
			a.buf = a.buf[1:]
		}
		if len(a.buf) > 0 {
			m := a.buf[0]
			a.buf[0] = nil
			a.buf = a.buf[1:]
			more := len(a.waiters) > len(a.buf)
			a.out[m.id] = m
			a.mu.Unlock()
			if more {
				signal(a.demand) // others still wait: keep the poller going
			}
			dc, vis := m.delivery()
			return &sp.ActivityWorkItem{Message: m.msg, DequeueCount: dc, LockedUntil: vis, ProviderData: m}, nil
		}
		ch := make(chan struct{}, 1)
		a.waiters = append(a.waiters, ch)
		a.mu.Unlock()
		signal(a.demand)
		select {
		case <-ch:
		case <-stop:
			a.removeWaiter(ch)
			return nil, h.closedErr()
		case <-ctx.Done():
			a.removeWaiter(ch)
			return nil, ctx.Err()
		}
	}
}

func (a *activityPoller) removeWaiter(ch chan struct{}) {
	a.mu.Lock()
	defer a.mu.Unlock()
	dropWaiter(&a.waiters, ch, len(a.buf) > 0)
}

// wakeFirst hands a wake-up to the longest-waiting Lock call, reporting
// whether there was one. The caller holds the mutex guarding waiters.
func wakeFirst(waiters *[]chan struct{}) bool {
	if len(*waiters) == 0 {
		return false
	}
	ch := (*waiters)[0]
	*waiters = (*waiters)[1:]
	ch <- struct{}{}
	return true
}

// dropWaiter removes the channel of a Lock call that gave up. If it was
// already signalled and work is left, the wake-up is passed on to the
// next waiter. The caller holds the mutex guarding waiters.
func dropWaiter(waiters *[]chan struct{}, ch chan struct{}, workLeft bool) {
	for i, c := range *waiters {
		if c == ch {
			*waiters = append((*waiters)[:i], (*waiters)[i+1:]...)
			return
		}
	}
	if workLeft {
		wakeFirst(waiters)
	}
}

func activityLock(wi *sp.ActivityWorkItem) (*qmsg, error) {
	if wi == nil {
		return nil, errors.New("azurestorage: nil activity work item")
	}
	m, ok := wi.ProviderData.(*qmsg)
	if !ok || m == nil {
		return nil, errors.New("azurestorage: activity work item was not issued by this provider")
	}
	return m, nil
}

// RenewActivityWorkItem extends the activity message's visibility.
func (h *TaskHub) RenewActivityWorkItem(ctx context.Context, wi *sp.ActivityWorkItem) error {
	m, err := activityLock(wi)
	if err != nil {
		return err
	}
	if h.acts.expired(m) {
		return fmt.Errorf("azurestorage: renewing activity %q of %q: %w", wi.Message.Event.Name, wi.Message.Target.InstanceID, sp.ErrWorkItemLost)
	}
	until, err := h.renewMessages(ctx, []*qmsg{m}, h.opts.WorkItemQueueVisibilityTimeout)
	if err != nil {
		return fmt.Errorf("azurestorage: renewing activity %q of %q: %w", wi.Message.Event.Name, wi.Message.Target.InstanceID, err)
	}
	wi.LockedUntil = until
	return nil
}

// CompleteActivityWorkItem sends the result to the orchestration, then
// deletes the activity message.
func (h *TaskHub) CompleteActivityWorkItem(ctx context.Context, wi *sp.ActivityWorkItem, result *sp.TaskMessage) error {
	m, err := activityLock(wi)
	if err != nil {
		return err
	}
	if result == nil || result.Event == nil {
		return errors.New("azurestorage: CompleteActivityWorkItem needs a result message")
	}
	if h.acts.expired(m) {
		// Another worker may run it now: do not send a second result.
		return fmt.Errorf("azurestorage: completing activity %q of %q: lock expired: %w", wi.Message.Event.Name, wi.Message.Target.InstanceID, sp.ErrWorkItemLost)
	}
	if h.deliverLocally(ctx, m, result) {
		return nil
	}
	if err := h.sendToInstance(ctx, result, wi.Message.Target); err != nil {
		return fmt.Errorf("azurestorage: completing activity %q of %q: %w", wi.Message.Event.Name, wi.Message.Target.InstanceID, err)
	}
	pop := m.receipt()
	h.acts.done(m)
	if _, err := h.workItems.DeleteMessage(ctx, m.id, pop, nil); err != nil && !isNotFound(err) {
		h.log.Warn("deleting a completed activity message failed; it will run again", "messageId", m.id, "err", errString(err))
	}
	return nil
}

// expired reports whether m's lock ran out: it was delivered again, or
// its visibility deadline passed (another worker may hold it).
func (a *activityPoller) expired(m *qmsg) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.expired || (!m.visibleAt.IsZero() && time.Now().After(m.visibleAt))
}

// lockRanOut reports whether m's visibility ends within margin.
func lockRanOut(m *qmsg, margin time.Duration) bool {
	_, vis := m.delivery()
	return !vis.IsZero() && time.Until(vis) < margin
}

func (a *activityPoller) done(m *qmsg) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.out[m.id] == m {
		delete(a.out, m.id)
	}
}

// AbandonActivityWorkItem makes the activity message visible again after
// retryAfter (at most maxAbandonDelay).
func (h *TaskHub) AbandonActivityWorkItem(ctx context.Context, wi *sp.ActivityWorkItem, retryAfter time.Duration) error {
	m, err := activityLock(wi)
	if err != nil {
		return err
	}
	h.acts.done(m)
	pop := m.receipt()
	if _, err := h.workItems.UpdateMessage(ctx, m.id, pop, m.text, &azqueue.UpdateMessageOptions{VisibilityTimeout: to.Ptr(visibilitySeconds(min(retryAfter, maxAbandonDelay)))}); err != nil && !isNotFound(err) {
		return fmt.Errorf("azurestorage: abandoning activity %q of %q: %w", wi.Message.Event.Name, wi.Message.Target.InstanceID, err)
	}
	return nil
}

// deliverLocally hands an activity result straight to this host's
// dispatcher when this host owns the orchestration's partition, saving the
// result's enqueue, dequeue and delete. The activity message is not
// deleted: it stays invisible as the result's durable reminder and is
// deleted when the orchestration commits the result (if the host dies
// first, the activity runs again). If the result cannot be processed here
// after all (abandon, lost work item, partition moved, shutdown), it is
// persisted to the control queue then (persistLocalResult).
func (h *TaskHub) deliverLocally(ctx context.Context, act *qmsg, result *sp.TaskMessage) bool {
	p := sp.PartitionIndex(result.Target.InstanceID, h.opts.PartitionCount)
	h.mu.Lock()
	owned, epoch := h.running && h.parts[p].owned, h.parts[p].epoch
	h.mu.Unlock()
	if !owned {
		return false
	}
	if result.SequenceNumber == 0 {
		result = &sp.TaskMessage{Event: result.Event, Target: result.Target, SequenceNumber: h.seq.Add(1)}
	}
	local := &qmsg{id: "local:" + act.id, msg: result, partition: p, reminder: act}
	h.acts.done(act)
	h.orch.add(ctx, p, epoch, []*qmsg{local})
	return true
}

// persistLocalResult turns a locally delivered activity result into a
// control-queue message (visible after delay) and then deletes the
// activity message. If sending fails, the activity message stays and the
// activity runs again once its lock expires.
func (h *TaskHub) persistLocalResult(ctx context.Context, m *qmsg, delay time.Duration) {
	body, _, err := h.prepareMessage(ctx, m.msg, sp.OrchestrationInstance{})
	if err == nil {
		err = h.enqueueControl(ctx, m.msg.Target.InstanceID, body, delay)
	}
	if err != nil {
		h.log.Warn("persisting an activity result failed; the activity will run again", "instance", m.msg.Target.InstanceID, "err", errString(err))
		return
	}
	act := m.reminder
	if _, err := act.queue.DeleteMessage(ctx, act.id, act.receipt(), nil); err != nil && !isNotFound(err) {
		h.log.Warn("deleting a completed activity message failed; it will run again", "messageId", act.id, "err", errString(err))
	}
}
