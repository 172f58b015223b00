package azurestorage

import (
	"container/list"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	sp "github.com/funchost/funchost/storageprovider"
)

// partition is one control queue and this process's ownership of it.
// Fields other than index and wake are guarded by TaskHub.mu.
type partition struct {
	index  int
	owned  bool
	epoch  uint64 // increases with every gain and loss
	cancel context.CancelFunc
	done   chan struct{}
	wake   chan struct{}
}

// qmsg is a received queue message.
type qmsg struct {
	queue     *azqueue.QueueClient
	id        string
	text      string // the body as received (sent back on updates)
	msg       *sp.TaskMessage
	partition int

	// reminder is set on an activity result delivered in memory (see
	// CompleteActivityWorkItem): the activity's own work-item message,
	// still undeleted, is the result's durable form until the
	// orchestration commits it.
	reminder *qmsg

	mu           sync.Mutex // guards the fields below
	popReceipt   string
	dequeueCount int
	visibleAt    time.Time
	expired      bool // activity work items: the lock ran out
}

// lockMsg is the queue message whose visibility is m's lock.
func (m *qmsg) lockMsg() *qmsg {
	if m.reminder != nil {
		return m.reminder
	}
	return m
}

func (m *qmsg) receipt() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.popReceipt
}

func (m *qmsg) delivery() (dequeueCount int, visibleAt time.Time) {
	if m.reminder != nil {
		_, vis := m.reminder.delivery()
		return 1, vis
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.dequeueCount, m.visibleAt
}

// redelivered records a new pop receipt (and, when dequeueCount > 0, a new
// delivery count).
func (m *qmsg) redelivered(pop string, dequeueCount int, visibleAt time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.popReceipt = pop
	if dequeueCount > 0 {
		m.dequeueCount = dequeueCount
	}
	if !visibleAt.IsZero() {
		m.visibleAt = visibleAt
	}
}

// instState is what the dispatcher knows about one instance of an owned
// partition: messages waiting for the next work item, whether a work item
// is out, and the cached history.
type instState struct {
	id        string
	partition int
	pending   []*qmsg
	locked    bool
	lock      *orchLock // the outstanding work item, when locked
	inReady   bool
	cache     *instCache
	lru       *list.Element
}

// instCache is an instance's committed history as last read or written by
// this process, with the sentinel ETag that guards the next commit.
type instCache struct {
	executionID string
	history     []*sp.HistoryEvent
	etag        string
	state       *sp.OrchestrationState // the status row as last written, nil if unknown
	rowInput    string                 // the Input the status row holds
	inputKnown  bool
}

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
}

// orchDispatcher turns control-queue messages into orchestration work
// items, one per instance at a time.
type orchDispatcher struct {
	h       *TaskHub
	mu      sync.Mutex
	insts   map[string]*instState
	ready   []*instState
	waiters []chan struct{}
	byID    map[string]*qmsg
	lru     *list.List
	room    chan struct{}
}

func (d *orchDispatcher) init(h *TaskHub) {
	d.h = h
	d.insts = map[string]*instState{}
	d.byID = map[string]*qmsg{}
	d.lru = list.New()
	d.room = make(chan struct{}, 1)
}

func (d *orchDispatcher) heldCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.byID)
}

// ---- partition ownership ----

// gainPartition starts receiving partition p. After a steal, delay gives
// the previous owner time to notice (at its next renewal) and stop, which
// keeps the window in which both hosts receive the queue short; the
// sentinel ETag keeps that window safe anyway.
func (h *TaskHub) gainPartition(p int, delay time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	part := h.parts[p]
	if !h.running || part.owned {
		return
	}
	part.owned = true
	part.epoch++
	ctx, cancel := context.WithCancel(context.Background())
	part.cancel = cancel
	part.done = make(chan struct{})
	epoch, done := part.epoch, part.done
	go func() {
		defer close(done)
		if delay > 0 && !sleepCtx(ctx, delay) {
			return
		}
		h.receiveLoop(ctx, part, epoch)
	}()
}

// losePartition stops receiving partition p, forgets its cached
// instances and (with release) makes its held, unprocessed messages
// visible again for the next owner.
func (h *TaskHub) losePartition(ctx context.Context, p int, release bool) {
	h.mu.Lock()
	part := h.parts[p]
	if !part.owned {
		h.mu.Unlock()
		return
	}
	part.owned = false
	part.epoch++
	cancel, done := part.cancel, part.done
	h.mu.Unlock()
	cancel()
	<-done
	msgs := h.orch.dropPartition(p)
	if release {
		h.releaseMessages(ctx, msgs, 0)
	}
	h.log.Info("partition released", "partition", p, "messagesReturned", len(msgs))
}

func (h *TaskHub) ownsEpoch(p int, epoch uint64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.parts[p].owned && h.parts[p].epoch == epoch
}

// releaseMessages makes messages visible again after delay.
func (h *TaskHub) releaseMessages(ctx context.Context, msgs []*qmsg, delay time.Duration) {
	_ = parallel(ctx, 8, len(msgs), func(ctx context.Context, i int) error {
		m := msgs[i]
		if m.reminder != nil {
			h.persistLocalResult(ctx, m, delay)
			return nil
		}
		if _, err := m.queue.UpdateMessage(ctx, m.id, m.receipt(), m.text, &azqueue.UpdateMessageOptions{VisibilityTimeout: to.Ptr(visibilitySeconds(delay))}); err != nil && !isNotFound(err) {
			h.log.Warn("returning a message to its queue failed; it reappears when its lock expires", "messageId", m.id, "err", errString(err))
		}
		return nil
	})
}

// ---- receiving ----

func (h *TaskHub) receiveLoop(ctx context.Context, part *partition, epoch uint64) {
	q := h.control[part.index]
	var backoff time.Duration
	vis := visibilitySeconds(h.opts.ControlQueueVisibilityTimeout)
	for ctx.Err() == nil {
		if h.orch.heldCount() >= h.opts.ControlQueueBufferThreshold {
			select {
			case <-h.orch.room:
			case <-time.After(100 * time.Millisecond):
			case <-ctx.Done():
				return
			}
			continue
		}
		resp, err := q.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{
			NumberOfMessages:  to.Ptr(int32(h.opts.ControlQueueBatchSize)),
			VisibilityTimeout: to.Ptr(vis),
		})
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			h.log.Warn("receiving from control queue failed; retrying", "partition", part.index, "err", errString(err))
			sleepCtx(ctx, jitter(time.Second))
			continue
		}
		backoff = h.pollDelay(backoff, len(resp.Messages), h.opts.ControlQueueBatchSize)
		if len(resp.Messages) > 0 {
			msgs := h.decodeReceived(ctx, q, part.index, resp.Messages)
			h.orch.add(ctx, part.index, epoch, msgs)
		}
		if backoff > 0 {
			waitWake(ctx, part.wake, jitter(backoff))
		}
	}
}

// waitWake waits d, or until wake is signalled or ctx ends.
func waitWake(ctx context.Context, wake chan struct{}, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-wake:
	case <-t.C:
	case <-ctx.Done():
	}
}

// pollDelay returns the pause before a queue's next poll, given the
// previous pause and how many of the asked messages the last poll got:
// growing while the queue is empty, brief once it is drained (the next
// poll would most likely be empty; local sends wake the poller at once),
// none while full batches arrive.
func (h *TaskHub) pollDelay(cur time.Duration, got, asked int) time.Duration {
	switch {
	case got == 0:
		return nextBackoff(cur, h.opts.MinQueuePollingInterval, h.opts.MaxQueuePollingInterval)
	case got < asked:
		return h.opts.MinQueuePollingInterval
	default:
		return 0
	}
}

func nextBackoff(cur, min, max time.Duration) time.Duration {
	if cur < min {
		return min
	}
	cur *= 2
	if cur > max {
		return max
	}
	return cur
}

// decodeReceived parses received messages. Undecodable ones are retried
// with backoff and deleted after MaxDequeueCount deliveries; timers and
// delayed starts that are not yet due (chained beyond the queue's 7-day
// visibility limit) are re-sent with the remaining delay.
func (h *TaskHub) decodeReceived(ctx context.Context, q *azqueue.QueueClient, p int, in []*azqueue.DequeuedMessage) []*qmsg {
	out := make([]*qmsg, 0, len(in))
	for _, dm := range in {
		m := &qmsg{queue: q, id: deref(dm.MessageID), popReceipt: deref(dm.PopReceipt), text: deref(dm.MessageText), partition: p}
		if dm.DequeueCount != nil {
			m.dequeueCount = int(*dm.DequeueCount)
		}
		if dm.TimeNextVisible != nil {
			m.visibleAt = *dm.TimeNextVisible
		}
		msg, err := h.decodeText(ctx, m.text)
		if err != nil {
			if m.dequeueCount >= h.opts.MaxDequeueCount {
				h.log.Error("deleting a queue message that cannot be read", "queue", q.URL(), "messageId", m.id, "dequeueCount", m.dequeueCount, "err", err)
				h.deleteMessages(ctx, []*qmsg{m})
			} else {
				h.log.Warn("cannot read a queue message; retrying later", "messageId", m.id, "err", err)
				h.releaseMessages(ctx, []*qmsg{m}, sp.AbandonBackoff(m.dequeueCount, maxAbandonDelay))
			}
			continue
		}
		m.msg = msg
		if d := messageDelay(msg); d > 0 && d < maxVisibility/2 {
			// Visible a little early (whole-second visibility): hide it
			// until it is due.
			h.releaseMessages(ctx, []*qmsg{m}, d)
			h.wakePartitionAfter(p, d)
			continue
		} else if d > 0 {
			// Not due yet: a long timer hop. Send the rest of the delay.
			if err := enqueue(ctx, q, m.text, d); err != nil {
				h.log.Warn("re-sending a long timer failed; retrying later", "instance", msg.Target.InstanceID, "err", errString(err))
				h.releaseMessages(ctx, []*qmsg{m}, time.Minute)
				continue
			}
			h.deleteMessages(ctx, []*qmsg{m})
			continue
		}
		out = append(out, m)
	}
	return out
}

func (h *TaskHub) decodeText(ctx context.Context, text string) (*sp.TaskMessage, error) {
	d, err := decodeBody(text)
	if err != nil {
		return nil, err
	}
	if d.blobName != "" {
		data, err := h.downloadLarge(ctx, d.blobName)
		if err != nil {
			return nil, err
		}
		if d, err = decodeBody(string(data)); err != nil {
			return nil, err
		}
		if d.msg == nil {
			return nil, errors.New("offloaded message refers to another blob")
		}
	}
	if d.msg.Event == nil || d.msg.Target.InstanceID == "" {
		return nil, errors.New("message has no event or no target instance")
	}
	return d.msg, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// deleteMessages deletes consumed messages; already deleted ones are
// fine.
func (h *TaskHub) deleteMessages(ctx context.Context, msgs []*qmsg) {
	_ = parallel(ctx, 8, len(msgs), func(ctx context.Context, i int) error {
		m := msgs[i]
		if m.reminder != nil {
			m = m.reminder // a local activity result: consume its activity message
		}
		if _, err := m.queue.DeleteMessage(ctx, m.id, m.receipt(), nil); err != nil && !isNotFound(err) {
			h.log.Warn("deleting a consumed message failed; it will be delivered again", "messageId", m.id, "err", errString(err))
		}
		return nil
	})
}

// add hands received messages to their instances.
func (d *orchDispatcher) add(ctx context.Context, p int, epoch uint64, msgs []*qmsg) {
	if len(msgs) == 0 {
		return
	}
	if !d.h.ownsEpoch(p, epoch) {
		d.h.releaseMessages(ctx, msgs, 0)
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, m := range msgs {
		if old, ok := d.byID[m.id]; ok {
			if lk := d.lockOf(old); lk != nil {
				// The message came back while a work item held it: that
				// work item's lock expired. It is lost; the messages
				// start a new one.
				d.expire(lk)
			} else {
				// A re-delivery of a pending message: keep one copy with
				// the newest pop receipt.
				old.redelivered(m.popReceipt, m.dequeueCount, m.visibleAt)
				continue
			}
		}
		d.byID[m.id] = m
		inst := d.insts[m.msg.Target.InstanceID]
		if inst == nil {
			inst = &instState{id: m.msg.Target.InstanceID, partition: p}
			d.insts[inst.id] = inst
		}
		inst.pending = append(inst.pending, m)
		d.makeReady(inst)
	}
}

func (d *orchDispatcher) isDone(lk *orchLock) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return lk.done
}

// lockOf returns the outstanding work item holding m, if any. Called
// with d.mu held.
func (d *orchDispatcher) lockOf(m *qmsg) *orchLock {
	inst := d.insts[m.msg.Target.InstanceID]
	if inst == nil || inst.lock == nil {
		return nil
	}
	for _, x := range inst.lock.msgs {
		if x == m {
			return inst.lock
		}
	}
	return nil
}

// expire ends a work item whose lock ran out: its holder can no longer
// renew or commit. Called with d.mu held.
func (d *orchDispatcher) expire(lk *orchLock) {
	lk.done = true
	d.untrack(lk.msgs)
	inst := lk.inst
	if inst.lock == lk {
		inst.lock = nil
		inst.locked = false
	}
	d.dropCache(inst)
}

// untrack forgets a work item's messages, except those a re-delivery has
// replaced. Called with d.mu held.
func (d *orchDispatcher) untrack(msgs []*qmsg) {
	for _, m := range msgs {
		if d.byID[m.id] == m {
			delete(d.byID, m.id)
		}
	}
}

// makeReady queues inst for a work item if it has messages and no work
// item out. Called with d.mu held.
func (d *orchDispatcher) makeReady(inst *instState) {
	if inst.locked || inst.inReady || len(inst.pending) == 0 {
		return
	}
	inst.inReady = true
	d.ready = append(d.ready, inst)
	wakeFirst(&d.waiters)
}

// forget removes inst from the map when nothing refers to it. Called with
// d.mu held.
func (d *orchDispatcher) forget(inst *instState) {
	if !inst.locked && len(inst.pending) == 0 && inst.cache == nil && !inst.inReady {
		if d.insts[inst.id] == inst {
			delete(d.insts, inst.id)
		}
	}
}

func (d *orchDispatcher) setCache(inst *instState, c *instCache) {
	inst.cache = c
	if inst.lru != nil {
		d.lru.MoveToBack(inst.lru)
	} else {
		inst.lru = d.lru.PushBack(inst)
	}
	for d.lru.Len() > d.h.opts.MaxCachedInstances {
		e := d.lru.Front()
		old := e.Value.(*instState)
		d.lru.Remove(e)
		old.lru = nil
		old.cache = nil
		d.forget(old)
	}
}

func (d *orchDispatcher) dropCache(inst *instState) {
	inst.cache = nil
	if inst.lru != nil {
		d.lru.Remove(inst.lru)
		inst.lru = nil
	}
}

// invalidate forgets the cached history of an instance (purge).
func (d *orchDispatcher) invalidate(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if inst := d.insts[id]; inst != nil {
		d.dropCache(inst)
		d.forget(inst)
	}
}

// dropPartition forgets everything about partition p and returns its
// held messages that are not part of a work item.
func (d *orchDispatcher) dropPartition(p int) []*qmsg {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []*qmsg
	for _, inst := range d.insts {
		if inst.partition != p {
			continue
		}
		for _, m := range inst.pending {
			delete(d.byID, m.id)
		}
		out = append(out, inst.pending...)
		inst.pending = nil
		d.dropCache(inst)
		d.forget(inst)
	}
	ready := d.ready[:0]
	for _, inst := range d.ready {
		if inst.partition == p {
			inst.inReady = false
			d.forget(inst)
			continue
		}
		ready = append(ready, inst)
	}
	d.ready = ready
	d.signalRoom()
	return out
}

// dropAll forgets all instances (the hub was deleted).
func (d *orchDispatcher) dropAll() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, inst := range d.insts {
		d.dropCache(inst)
	}
}

func (d *orchDispatcher) signalRoom() { signal(d.room) }

// ---- orchestration work items ----

// LockNextOrchestrationWorkItem blocks until an instance of an owned
// partition has messages, and returns them with the instance's history.
func (h *TaskHub) LockNextOrchestrationWorkItem(ctx context.Context) (*sp.OrchestrationWorkItem, error) {
	d := &h.orch
	for {
		stop := h.stopChan()
		if stop == nil {
			return nil, h.closedErr()
		}
		d.mu.Lock()
		for len(d.ready) > 0 {
			inst := d.ready[0]
			d.ready[0] = nil
			d.ready = d.ready[1:]
			inst.inReady = false
			if inst.locked || len(inst.pending) == 0 {
				continue
			}
			msgs := inst.pending
			inst.pending = nil
			inst.locked = true
			cache := inst.cache
			d.mu.Unlock()
			wi, err := h.buildWorkItem(ctx, inst, msgs, cache)
			if err == nil {
				lk := wi.ProviderData.(*orchLock)
				d.mu.Lock()
				expired := false
				for _, m := range msgs {
					if d.byID[m.id] != m {
						expired = true // re-delivered while the history was read
					}
				}
				if !expired {
					inst.lock = lk
				}
				d.mu.Unlock()
				if !expired {
					return wi, nil
				}
				d.mu.Lock()
				inst.locked = false
				d.makeReady(inst)
				continue
			}
			h.log.Warn("preparing a work item failed; retrying", "instance", inst.id, "err", errString(err))
			d.mu.Lock()
			inst.pending = append(msgs, inst.pending...)
			inst.locked = false
			d.mu.Unlock()
			time.AfterFunc(time.Second, func() { d.mu.Lock(); d.makeReady(inst); d.mu.Unlock() })
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			d.mu.Lock()
		}
		ch := make(chan struct{}, 1)
		d.waiters = append(d.waiters, ch)
		d.mu.Unlock()
		select {
		case <-ch:
		case <-stop:
			d.removeWaiter(ch)
			return nil, h.closedErr()
		case <-ctx.Done():
			d.removeWaiter(ch)
			return nil, ctx.Err()
		}
	}
}

func (d *orchDispatcher) removeWaiter(ch chan struct{}) {
	d.mu.Lock()
	defer d.mu.Unlock()
	dropWaiter(&d.waiters, ch, len(d.ready) > 0)
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

func (h *TaskHub) buildWorkItem(ctx context.Context, inst *instState, msgs []*qmsg, cache *instCache) (*sp.OrchestrationWorkItem, error) {
	h.mu.Lock()
	epoch := h.parts[inst.partition].epoch
	h.mu.Unlock()
	lk := &orchLock{inst: inst, msgs: msgs, epoch: epoch, cache: cache}
	var state *sp.OrchestrationState
	switch {
	case cache != nil:
		lk.etag, lk.executionID, lk.histLen = cache.etag, cache.executionID, len(cache.history)
		state = cache.state.Clone()
	case canSkipHistoryRead(msgs):
		lk.fresh = true
	default:
		lh, err := h.loadHistory(ctx, inst.id)
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
		wi.DequeueCount = max(wi.DequeueCount, dc)
		if wi.LockedUntil.IsZero() || (!vis.IsZero() && vis.Before(wi.LockedUntil)) {
			wi.LockedUntil = vis
		}
	}
	return wi, nil
}

func (h *TaskHub) orchLockOf(wi *sp.OrchestrationWorkItem) (*orchLock, error) {
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
// messages.
func (h *TaskHub) RenewOrchestrationWorkItem(ctx context.Context, wi *sp.OrchestrationWorkItem) error {
	lk, err := h.orchLockOf(wi)
	if err != nil {
		return err
	}
	if h.orch.isDone(lk) {
		return fmt.Errorf("azurestorage: renewing instance %q: %w", wi.InstanceID, sp.ErrWorkItemLost)
	}
	until, err := h.renewMessages(ctx, lk.msgs, h.opts.ControlQueueVisibilityTimeout)
	if err != nil {
		return fmt.Errorf("azurestorage: renewing instance %q: %w", wi.InstanceID, err)
	}
	wi.LockedUntil = until
	return nil
}

// renewMessages pushes the messages' visibility out by vis and records
// their new pop receipts.
func (h *TaskHub) renewMessages(ctx context.Context, msgs []*qmsg, vis time.Duration) (time.Time, error) {
	until := time.Now().Add(vis)
	err := parallel(ctx, 8, len(msgs), func(ctx context.Context, i int) error {
		m := msgs[i].lockMsg()
		resp, err := m.queue.UpdateMessage(ctx, m.id, m.receipt(), m.text, &azqueue.UpdateMessageOptions{VisibilityTimeout: to.Ptr(visibilitySeconds(vis))})
		if err != nil {
			if isNotFound(err) || errorCode(err) == "PopReceiptMismatch" || statusOf(err) == 400 {
				return sp.ErrWorkItemLost
			}
			return err
		}
		var next time.Time
		if resp.TimeNextVisible != nil {
			next = *resp.TimeNextVisible
		}
		m.redelivered(deref(resp.PopReceipt), 0, next)
		return nil
	})
	return until, err
}

// AbandonOrchestrationWorkItem releases the work item; its messages are
// delivered again after retryAfter (at most maxAbandonDelay, as DTFx caps
// it, so a poison message keeps coming back until the engine gives up).
func (h *TaskHub) AbandonOrchestrationWorkItem(ctx context.Context, wi *sp.OrchestrationWorkItem, retryAfter time.Duration) error {
	lk, err := h.orchLockOf(wi)
	if err != nil {
		return err
	}
	if h.orch.isDone(lk) {
		return nil
	}
	h.releaseMessages(ctx, lk.msgs, min(retryAfter, maxAbandonDelay))
	h.orch.finish(lk, nil, false)
	return nil
}

// finish ends a work item: forgets its messages, unlocks the instance,
// stores the new cache entry (when still owned) and schedules the next
// work item if messages arrived meanwhile.
func (d *orchDispatcher) finish(lk *orchLock, cache *instCache, keepCache bool) {
	owned := d.h.ownsEpoch(lk.inst.partition, lk.epoch)
	d.mu.Lock()
	defer d.mu.Unlock()
	if lk.done {
		return // expired meanwhile; the instance was already released
	}
	lk.done = true
	d.untrack(lk.msgs)
	inst := lk.inst
	inst.locked = false
	inst.lock = nil
	switch {
	case !owned:
		d.dropCache(inst)
	case cache != nil:
		d.setCache(inst, cache)
	case keepCache && lk.cache != nil && inst.cache == nil:
		d.setCache(inst, lk.cache)
	case !keepCache:
		d.dropCache(inst)
	}
	if owned {
		d.makeReady(inst)
	} else if len(inst.pending) > 0 {
		// Messages of a partition we no longer own: hand them back.
		msgs := inst.pending
		inst.pending = nil
		for _, m := range msgs {
			delete(d.byID, m.id)
		}
		go d.h.releaseMessages(context.Background(), msgs, 0)
	}
	d.forget(inst)
	d.signalRoom()
}

// errConflict marks a lost optimistic-concurrency check on history.
var errConflict = errors.New("history was changed by another worker")

// CompleteOrchestrationWorkItem commits the checkpoint: send messages,
// write history (guarded by the sentinel ETag), write the status row,
// delete the consumed messages.
func (h *TaskHub) CompleteOrchestrationWorkItem(ctx context.Context, wi *sp.OrchestrationWorkItem, c *sp.OrchestrationCheckpoint) error {
	lk, err := h.orchLockOf(wi)
	if err != nil {
		return err
	}
	if h.orch.isDone(lk) {
		return fmt.Errorf("azurestorage: completing instance %q: %w", wi.InstanceID, sp.ErrWorkItemLost)
	}
	if c == nil {
		c = &sp.OrchestrationCheckpoint{}
	}
	id := wi.InstanceID

	// 1. Messages first: a crash after this point replays the episode and
	// sends duplicates, which engines drop.
	if err := h.sendCheckpointMessages(ctx, id, lk, c); err != nil {
		return fmt.Errorf("azurestorage: completing instance %q: %w", id, err)
	}

	// 2. History.
	execID := lk.executionID
	if c.ReplaceHistory || execID == "" {
		if x := startedExecutionID(c.NewEvents); x != "" {
			execID = x
		} else if c.State != nil && c.State.ExecutionID != "" {
			execID = c.State.ExecutionID
		}
	}
	var base []*sp.HistoryEvent
	if lk.cache != nil && !c.ReplaceHistory {
		base = lk.cache.history
	}
	newCache := &instCache{executionID: execID, history: base, etag: lk.etag}
	if lk.cache != nil {
		newCache.state, newCache.rowInput, newCache.inputKnown = lk.cache.state, lk.cache.rowInput, lk.cache.inputKnown
	} else if lk.fresh {
		for _, m := range lk.msgs {
			if m.msg.Event.EventType == sp.EventExecutionStarted {
				newCache.rowInput, newCache.inputKnown = m.msg.Event.Input, true
			}
		}
	}
	if len(c.NewEvents) > 0 || c.ReplaceHistory {
		start := lk.histLen
		if c.ReplaceHistory {
			start = 0
		}
		etag, err := h.commitHistory(ctx, id, execID, start, c.NewEvents, lk.etag)
		if err != nil {
			return h.historyCheckFailed(ctx, lk, id, "another worker committed this instance first; abandoning the work item", err)
		}
		newCache.etag = etag
		hist := make([]*sp.HistoryEvent, 0, len(base)+len(c.NewEvents))
		newCache.history = append(append(hist, base...), c.NewEvents...)
	}

	if len(c.NewEvents) == 0 && !c.ReplaceHistory {
		// Nothing to append, but the consumed messages are about to be
		// deleted: make sure the history they were judged against is
		// still current. Otherwise a stale cache after an unnoticed
		// partition move, or a previous owner still committing an
		// instance's first episode (whose activity result arrives here
		// before its history exists), would drop messages for good.
		etag, err := h.touchSentinel(ctx, id, execID, lk.etag)
		if err != nil {
			return h.historyCheckFailed(ctx, lk, id, "the instance changed since its history was read; abandoning the work item", err)
		}
		newCache.etag = etag
	}

	// 3. Status row, unless nothing a reader sees would change.
	if c.State != nil && stateChanged(newCache.state, c.State) {
		withInput := !newCache.inputKnown || newCache.rowInput != c.State.Input
		if err := h.writeState(ctx, c.State, withInput); err != nil {
			// History is committed but the work item stays locked: the
			// caller abandons it, the cache is dropped and the messages
			// replay against the committed history (duplicates are
			// dropped by the engine).
			return fmt.Errorf("azurestorage: completing instance %q: %w", id, err)
		}
		newCache.state = c.State.Clone()
		newCache.rowInput, newCache.inputKnown = c.State.Input, true
	}

	// 4. Consumed messages.
	h.orch.mu.Lock()
	msgs := append([]*qmsg(nil), lk.msgs...)
	h.orch.mu.Unlock()
	h.deleteMessages(ctx, msgs)
	if newCache.etag == "" && (len(c.NewEvents) > 0 || c.ReplaceHistory) {
		newCache = nil // ETag unknown: read history next time
	}
	h.orch.finish(lk, newCache, true)
	return nil
}

// historyCheckFailed handles a failed history write or sentinel check of
// a commit. A lost concurrency check (another worker got there first)
// releases the messages and reports ErrWorkItemLost; any other error is
// returned for the caller to abandon the work item.
func (h *TaskHub) historyCheckFailed(ctx context.Context, lk *orchLock, id, why string, err error) error {
	if !errors.Is(err, errConflict) {
		return fmt.Errorf("azurestorage: completing instance %q: %w", id, err)
	}
	h.log.Warn(why, "instance", id)
	h.releaseMessages(ctx, lk.msgs, lostRetryDelay)
	h.orch.finish(lk, nil, false)
	return fmt.Errorf("azurestorage: completing instance %q: %w: %w", id, sp.ErrWorkItemLost, err)
}

func startedExecutionID(evs []*sp.HistoryEvent) string {
	for _, ev := range evs {
		if ev.EventType == sp.EventExecutionStarted && ev.OrchestrationInstance != nil {
			return ev.OrchestrationInstance.ExecutionID
		}
	}
	return ""
}

// statusRowRefresh bounds how stale LastUpdatedTime may get in the status
// row of a running instance.
const statusRowRefresh = time.Minute

// stateChanged reports whether writing s over old changes anything a
// reader of the status row sees, ignoring LastUpdatedTime while the
// instance keeps running (every episode moves it; writing it alone would
// double the table writes of an orchestration) unless it is more than
// statusRowRefresh behind.
func stateChanged(old, s *sp.OrchestrationState) bool {
	if old == nil || s.LastUpdatedTime.Sub(old.LastUpdatedTime) > statusRowRefresh {
		return true
	}
	if old.InstanceID != s.InstanceID || old.ExecutionID != s.ExecutionID || old.Name != s.Name ||
		old.Version != s.Version || old.RuntimeStatus != s.RuntimeStatus || !old.CreatedTime.Equal(s.CreatedTime) ||
		!old.CompletedTime.Equal(s.CompletedTime) || old.Input != s.Input || old.Output != s.Output ||
		old.CustomStatus != s.CustomStatus || old.Generation != s.Generation || !old.ScheduledStartTime.Equal(s.ScheduledStartTime) {
		return true
	}
	ta, _ := json.Marshal(old.Tags)
	tb, _ := json.Marshal(s.Tags)
	fa, _ := json.Marshal(old.FailureDetails)
	fb, _ := json.Marshal(s.FailureDetails)
	return string(ta) != string(tb) || string(fa) != string(fb)
}

// writeState merges the status row (Input only when it changed).
func (h *TaskHub) writeState(ctx context.Context, s *sp.OrchestrationState, withInput bool) error {
	row := instanceEntity(h.Name(), s, withInput)
	if err := h.offloadInstanceColumns(ctx, row, s.InstanceID); err != nil {
		return err
	}
	b, _ := json.Marshal(row)
	// The row nearly always exists (created with the instance): a merge
	// with If-Match * is one lookup in Azurite where an upsert is two.
	_, err := h.instances.UpdateEntity(ctx, b, &aztables.UpdateEntityOptions{IfMatch: to.Ptr(azcore.ETagAny), UpdateMode: aztables.UpdateModeMerge})
	if isNotFound(err) {
		_, err = h.instances.UpsertEntity(ctx, b, &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeMerge})
	}
	if err != nil {
		return fmt.Errorf("writing status row: %w", err)
	}
	return nil
}

// sendCheckpointMessages sends an episode's outbound, activity and timer
// messages in parallel. Sub-orchestration starts first get a Pending
// status row when the child has none.
func (h *TaskHub) sendCheckpointMessages(ctx context.Context, id string, lk *orchLock, c *sp.OrchestrationCheckpoint) error {
	sender := sp.OrchestrationInstance{InstanceID: id, ExecutionID: lk.executionID}
	for _, group := range [][]*sp.TaskMessage{c.OutboundMessages, c.TimerMessages, c.ActivityMessages} {
		for _, m := range group {
			if m == nil || m.Event == nil {
				return errors.New("checkpoint message without event")
			}
		}
	}
	var errAct, errInst error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		errAct = parallel(ctx, 8, len(c.ActivityMessages), func(ctx context.Context, i int) error {
			return h.sendActivity(ctx, c.ActivityMessages[i], sender)
		})
	}()
	errInst = h.sendOrdered(ctx, append(append([]*sp.TaskMessage{}, c.OutboundMessages...), c.TimerMessages...), sender)
	wg.Wait()
	return errors.Join(errAct, errInst)
}

// ensureInstanceRow inserts a Pending status row for a sub-orchestration
// unless one exists.
func (h *TaskHub) ensureInstanceRow(ctx context.Context, start *sp.TaskMessage) error {
	row := instanceEntity(h.Name(), pendingState(start, start.Event.Generation), true)
	if err := h.offloadInstanceColumns(ctx, row, start.Target.InstanceID); err != nil {
		return err
	}
	b, _ := json.Marshal(row)
	if _, err := h.instances.AddEntity(ctx, b, nil); err != nil && !isConflict(err) {
		return fmt.Errorf("creating status row of sub-orchestration %q: %w", start.Target.InstanceID, err)
	}
	return nil
}

// touchSentinel merges the sentinel row under If-Match (or inserts it
// when etag is "", meaning no history existed): it proves that nobody
// committed since the history was read, and returns the new ETag.
func (h *TaskHub) touchSentinel(ctx context.Context, id, execID, etag string) (string, error) {
	var resp struct{ ETag azcore.ETag }
	var err error
	if etag == "" {
		b, _ := json.Marshal(entity{"PartitionKey": sanitizeKey(id), "RowKey": sentinelRowKey, "ExecutionId": execID, "IsCheckpointComplete": true})
		var r aztables.AddEntityResponse
		r, err = h.history.AddEntity(ctx, b, nil)
		resp.ETag = r.ETag
	} else {
		b, _ := json.Marshal(entity{"PartitionKey": sanitizeKey(id), "RowKey": sentinelRowKey})
		et := azcore.ETag(etag)
		var r aztables.UpdateEntityResponse
		r, err = h.history.UpdateEntity(ctx, b, &aztables.UpdateEntityOptions{IfMatch: &et, UpdateMode: aztables.UpdateModeMerge})
		resp.ETag = r.ETag
	}
	if err != nil {
		if s := statusOf(err); s == 412 || s == 404 || s == 409 {
			return "", fmt.Errorf("%w (status %d)", errConflict, s)
		}
		return "", fmt.Errorf("checking the history version: %w", err)
	}
	return string(resp.ETag), nil
}

// commitHistory writes events as rows start, start+1, ... in entity-group
// transactions of at most 99 rows plus the sentinel, chaining the
// sentinel's ETag from each transaction's reply. It returns the final
// ETag ("" if the service did not report one) or errConflict.
func (h *TaskHub) commitHistory(ctx context.Context, id, execID string, start int, events []*sp.HistoryEvent, etag string) (string, error) {
	pk := sanitizeKey(id)
	type row struct {
		body []byte
	}
	rows := make([]row, 0, len(events))
	for i, ev := range events {
		e := historyEntity(pk, start+i, execID, ev)
		if err := h.offloadHistoryColumns(ctx, e, pk); err != nil {
			return "", err
		}
		b, err := json.Marshal(e)
		if err != nil {
			return "", err
		}
		rows = append(rows, row{body: b})
	}
	// Without a sentinel the instance has no history rows at all (rows are
	// only ever written together with it, and purge deletes it last), so
	// a first commit inserts its rows instead of upserting them: the same
	// for Azure, but half the work for Azurite, whose upsert looks the row
	// up twice. Should rows exist after all (an interrupted purge), the
	// batch is retried with upserts; the sentinel insert still detects a
	// competing commit.
	insertRows := etag == "" && start == 0
	const maxBatchBytes = 3 << 20
	for {
		n, size := 0, 0
		for n < len(rows) && n < 99 && (n == 0 || size+len(rows[n].body)+1024 <= maxBatchBytes) {
			size += len(rows[n].body) + 1024
			n++
		}
		last := n == len(rows)
		actions := make([]aztables.TransactionAction, 0, n+1)
		rowAction := aztables.TransactionTypeInsertReplace
		if insertRows {
			rowAction = aztables.TransactionTypeAdd
		}
		for _, r := range rows[:n] {
			actions = append(actions, aztables.TransactionAction{ActionType: rowAction, Entity: r.body})
		}
		sentinel := entity{"PartitionKey": pk, "RowKey": sentinelRowKey, "ExecutionId": execID, "IsCheckpointComplete": last}
		if last {
			sentinel.setTime("CheckpointCompletedTimestamp", sp.Now())
		}
		sb, _ := json.Marshal(sentinel)
		if etag == "" {
			actions = append(actions, aztables.TransactionAction{ActionType: aztables.TransactionTypeAdd, Entity: sb})
		} else {
			et := azcore.ETag(etag)
			actions = append(actions, aztables.TransactionAction{ActionType: aztables.TransactionTypeUpdateMerge, Entity: sb, IfMatch: &et})
		}
		capture := &batchCapture{}
		_, err := h.history.SubmitTransaction(withBatchCapture(ctx, capture), actions, nil)
		subs, perr := parseBatchResponse(capture)
		conflict := 0
		for _, s := range subs {
			if s.status == 409 || s.status == 412 || s.status == 404 {
				conflict = s.status
			}
		}
		if conflict == 409 && insertRows && n > 0 {
			insertRows = false // maybe leftover rows: retry with upserts
			continue
		}
		if conflict != 0 {
			return "", fmt.Errorf("%w (status %d)", errConflict, conflict)
		}
		if err != nil {
			return "", fmt.Errorf("writing history: %w", err)
		}
		if perr != nil {
			h.log.Warn("cannot parse the history transaction reply; the next work item re-reads history", "instance", id, "err", perr)
			etag = ""
		} else {
			etag = ""
			if len(subs) == len(actions) {
				etag = subs[len(subs)-1].etag
			}
		}
		rows = rows[n:]
		if len(rows) == 0 {
			return etag, nil
		}
		if etag == "" {
			return "", fmt.Errorf("writing history: the sentinel ETag of a partial checkpoint is unknown")
		}
	}
}
