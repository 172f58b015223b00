package azurestorage

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	sp "github.com/funchost/funchost/storageprovider"
)

// qmsg is a received queue message.
type qmsg struct {
	queue     *azqueue.QueueClient
	id        string
	text      string // the body as received (sent back on updates)
	msg       *sp.TaskMessage
	partition int
	rejected  int // FunchostRejections of the body as received

	// reminder is set on an activity result delivered in memory (see
	// CompleteActivityWorkItem): the activity's own work-item message,
	// still undeleted, is the result's durable form until the
	// orchestration commits it.
	reminder *qmsg

	// local is set on a message enqueued invisible and handed to the
	// dispatcher without a dequeue (localsend.go).
	local bool

	mu           sync.Mutex // guards the fields below
	popReceipt   string
	dequeueCount int
	visibleAt    time.Time
	expired      bool // activity work items: the lock ran out
	// delivered is set once a local message was part of a work item: a
	// release then records the delivery in the body (LocalDeliveries).
	delivered bool
}

// markDelivered records that m is part of a work item.
func (m *qmsg) markDelivered() {
	if !m.local {
		return
	}
	m.mu.Lock()
	m.delivered = true
	m.mu.Unlock()
}

// releaseText is the body to send back when releasing m: a local message
// that reached a work item counts that delivery in its body, since the
// queue never saw it.
func (m *qmsg) releaseText() string {
	if !m.local {
		return m.text
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.delivered {
		return m.text
	}
	return withLocalDelivery(m.text)
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

// lockRanOut reports whether m's visibility ends within margin.
func lockRanOut(m *qmsg, margin time.Duration) bool {
	_, vis := m.delivery()
	return !vis.IsZero() && time.Until(vis) < margin
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// queueOps acts on received messages through their pop receipts: renew
// their visibility (the lock), release them for redelivery, delete them
// once consumed. A locally delivered activity result (reminder set) has no
// queue message of its own: its lock is the activity message's, releasing
// it persists it to the control queue, and consuming it deletes the
// activity message.
type queueOps struct {
	log  *slog.Logger
	send *sender
}

// renew pushes the messages' visibility out by vis and records their new
// pop receipts. A message that is gone or was received again meanwhile
// fails the renewal with ErrWorkItemLost.
func (o *queueOps) renew(ctx context.Context, msgs []*qmsg, vis time.Duration) (time.Time, error) {
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

// release makes messages visible again after delay.
func (o *queueOps) release(ctx context.Context, msgs []*qmsg, delay time.Duration) {
	_ = parallel(ctx, 8, len(msgs), func(ctx context.Context, i int) error {
		m := msgs[i]
		if m.reminder != nil {
			o.persistLocalResult(ctx, m, delay)
			return nil
		}
		if _, err := m.queue.UpdateMessage(ctx, m.id, m.receipt(), m.releaseText(), &azqueue.UpdateMessageOptions{VisibilityTimeout: to.Ptr(visibilitySeconds(delay))}); err != nil && !isNotFound(err) {
			o.log.Warn("returning a message to its queue failed; it reappears when its lock expires", "messageId", m.id, "err", errString(err))
		}
		return nil
	})
}

// reject returns messages to their queue after delay, each with its
// rejection count raised in the same UpdateMessage that sets its
// visibility (one atomic service call per message: nothing is copied or
// lost). A body that cannot take the count is returned as release does,
// and that delivery counts.
func (o *queueOps) reject(ctx context.Context, msgs []*qmsg, delay time.Duration) {
	_ = parallel(ctx, 8, len(msgs), func(ctx context.Context, i int) error {
		m := msgs[i]
		if m.reminder != nil {
			o.persistLocalResult(ctx, m, delay)
			return nil
		}
		text, err := withRejections(m.text, m.rejected+1)
		if err != nil {
			o.log.Warn("cannot count a rejection in a queue message; the delivery counts", "messageId", m.id, "err", err)
			text = m.text
		}
		if _, err := m.queue.UpdateMessage(ctx, m.id, m.receipt(), text, &azqueue.UpdateMessageOptions{VisibilityTimeout: to.Ptr(visibilitySeconds(delay))}); err != nil && !isNotFound(err) {
			o.log.Warn("returning a rejected message to its queue failed; it reappears when its lock expires", "messageId", m.id, "err", errString(err))
		}
		return nil
	})
}

// delete deletes consumed messages; already deleted ones are fine. An
// entity batch consumes one message per operation (tens per commit), so
// they are deleted 32 at a time: the deletes are the longest step of such
// a commit (docs/benchmarks.md, durable entities).
func (o *queueOps) delete(ctx context.Context, msgs []*qmsg) {
	_ = parallel(ctx, 32, len(msgs), func(ctx context.Context, i int) error {
		m := msgs[i]
		if m.reminder != nil {
			m = m.reminder // a local activity result: consume its activity message
		}
		if _, err := m.queue.DeleteMessage(ctx, m.id, m.receipt(), nil); err != nil && !isNotFound(err) {
			o.log.Warn("deleting a consumed message failed; it will be delivered again", "messageId", m.id, "err", errString(err))
		}
		return nil
	})
}

// persistLocalResult turns a locally delivered activity result into a
// control-queue message (visible after delay) and then deletes the
// activity message. If sending fails, the activity message stays and the
// activity runs again once its lock expires.
func (o *queueOps) persistLocalResult(ctx context.Context, m *qmsg, delay time.Duration) {
	if err := o.send.localResult(ctx, m.msg, delay); err != nil {
		o.log.Warn("persisting an activity result failed; the activity will run again", "instance", m.msg.Target.InstanceID, "err", errString(err))
		return
	}
	act := m.reminder
	if _, err := act.queue.DeleteMessage(ctx, act.id, act.receipt(), nil); err != nil && !isNotFound(err) {
		o.log.Warn("deleting a completed activity message failed; it will run again", "messageId", act.id, "err", errString(err))
	}
}
