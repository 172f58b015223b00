package azurestorage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/internal/waitq"
)

// activityPoller receives the work-items queue on demand: it asks for at
// most as many messages as there are waiting LockNextActivityWorkItem
// calls, so a host never hides activity messages it has no worker for.
type activityPoller struct {
	opts  *Options
	log   *slog.Logger
	queue *azqueue.QueueClient
	recv  *receiver
	msgs  *queueOps

	mu      sync.Mutex
	buf     []*qmsg
	waiters waitq.Queue // blocked LockNextActivityWorkItem calls
	demand  chan struct{}
	wake    chan struct{}
	out     map[string]*qmsg // handed-out work items by message ID
}

func newActivityPoller(opts *Options, log *slog.Logger, queue *azqueue.QueueClient, recv *receiver, msgs *queueOps) *activityPoller {
	return &activityPoller{opts: opts, log: log, queue: queue, recv: recv, msgs: msgs,
		demand: make(chan struct{}, 1), wake: make(chan struct{}, 1), out: map[string]*qmsg{}}
}

// run receives the work-item queue until ctx ends, asking for as many
// messages as Lock calls wait for.
func (a *activityPoller) run(ctx context.Context) {
	var backoff time.Duration
	vis := visibilitySeconds(a.opts.WorkItemQueueVisibilityTimeout)
	for ctx.Err() == nil {
		a.mu.Lock()
		need := a.waiters.Len() - len(a.buf)
		a.mu.Unlock()
		if need <= 0 {
			select {
			case <-a.demand:
			case <-ctx.Done():
			}
			continue
		}
		asked := min(need, 32)
		resp, err := a.queue.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{
			NumberOfMessages:  to.Ptr(int32(asked)),
			VisibilityTimeout: to.Ptr(vis),
		})
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			a.log.Warn("receiving from the work-item queue failed; retrying", "err", errString(err))
			sleepCtx(ctx, jitter(time.Second))
			continue
		}
		backoff = a.opts.pollDelay(backoff, len(resp.Messages), asked)
		if len(resp.Messages) == 0 {
			waitWake(ctx, a.wake, jitter(backoff))
			continue
		}
		msgs := a.recv.decode(ctx, a.queue, -1, resp.Messages)
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
			if !a.waiters.WakeFirst() {
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
	a.msgs.release(ctx, msgs, 0)
}

// discard forgets received but unclaimed messages without returning them
// (a simulated crash: they reappear when their locks expire).
func (a *activityPoller) discard() {
	a.mu.Lock()
	a.buf = nil
	a.mu.Unlock()
}

// take blocks until a received activity message is buffered and hands it
// out. It fails with waitq.ErrStopped once stop is closed, or with ctx's
// error.
func (a *activityPoller) take(ctx context.Context, stop <-chan struct{}) (*qmsg, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for {
		select {
		case <-stop:
			return nil, waitq.ErrStopped
		default:
		}
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
			if a.waiters.Len() > len(a.buf) {
				signal(a.demand) // others still wait: keep the poller going
			}
			a.out[m.id] = m
			return m, nil
		}
		// The poller reads the number of waiters under a.mu, so it sees
		// this caller once Wait has queued it and unlocked.
		signal(a.demand)
		if err := a.waiters.Wait(ctx, &a.mu, stop); err != nil {
			return nil, err
		}
	}
}

// LockNextActivityWorkItem blocks until an activity message is received.
func (h *TaskHub) LockNextActivityWorkItem(ctx context.Context) (*sp.ActivityWorkItem, error) {
	stop := h.stopChan()
	if stop == nil {
		return nil, h.closedErr()
	}
	m, err := h.acts.take(ctx, stop)
	if errors.Is(err, waitq.ErrStopped) {
		return nil, h.closedErr()
	} else if err != nil {
		return nil, err
	}
	dc, vis := m.delivery()
	return &sp.ActivityWorkItem{Message: m.msg, DequeueCount: dc, LockedUntil: vis, ProviderData: m}, nil
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
	until, err := h.msgs.renew(ctx, []*qmsg{m}, h.opts.WorkItemQueueVisibilityTimeout)
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
	if err := h.send.toInstance(ctx, result, wi.Message.Target); err != nil {
		return fmt.Errorf("azurestorage: completing activity %q of %q: %w", wi.Message.Event.Name, wi.Message.Target.InstanceID, err)
	}
	pop := m.receipt()
	h.acts.done(m)
	if _, err := m.queue.DeleteMessage(ctx, m.id, pop, nil); err != nil && !isNotFound(err) {
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
	if _, err := m.queue.UpdateMessage(ctx, m.id, pop, m.text, &azqueue.UpdateMessageOptions{VisibilityTimeout: to.Ptr(visibilitySeconds(min(retryAfter, maxAbandonDelay)))}); err != nil && !isNotFound(err) {
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
// persisted to the control queue then (queueOps.persistLocalResult).
//
// While the dispatcher holds ControlQueueBufferThreshold messages or more
// (an instance busy with a long work item collects the results of a large
// fan-out), results go through the control queue instead: each held
// result keeps its activity message locked, and the renewals that keep
// them locked grow with their number.
func (h *TaskHub) deliverLocally(ctx context.Context, act *qmsg, result *sp.TaskMessage) bool {
	p := sp.PartitionIndex(result.Target.InstanceID, h.opts.PartitionCount)
	epoch, owned := h.parts.current(p)
	if !owned || h.orch.heldCount() >= h.opts.ControlQueueBufferThreshold {
		return false
	}
	result = h.send.numbered(result)
	local := &qmsg{id: "local:" + act.id, msg: result, partition: p, reminder: act}
	h.acts.done(act)
	h.orch.add(ctx, p, epoch, []*qmsg{local})
	return true
}
