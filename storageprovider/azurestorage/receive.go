package azurestorage

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	sp "github.com/funchost/funchost/storageprovider"
)

// receiver takes messages off queues: the receive loop of each owned
// control queue, and decoding (blob references resolved, undecodable
// messages retried and finally deleted, early timers hidden again) for
// both control and work-item queues.
type receiver struct {
	opts    *Options
	log     *slog.Logger
	control []*azqueue.QueueClient
	blobs   *largeStore
	msgs    *queueOps
	send    *sender
	parts   *partitionManager
	orch    *dispatcher
}

// loop receives partition part's control queue until ctx ends, handing
// the messages to the dispatcher. It pauses while the dispatcher holds
// ControlQueueBufferThreshold messages and backs off on an empty queue
// (local sends wake it through part.wake).
func (r *receiver) loop(ctx context.Context, part *partition, epoch uint64) {
	q := r.control[part.index]
	var backoff time.Duration
	vis := visibilitySeconds(r.opts.ControlQueueVisibilityTimeout)
	for ctx.Err() == nil {
		if r.orch.heldCount() >= r.opts.ControlQueueBufferThreshold {
			select {
			case <-r.orch.room:
			case <-time.After(100 * time.Millisecond):
			case <-ctx.Done():
				return
			}
			continue
		}
		resp, err := q.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{
			NumberOfMessages:  to.Ptr(int32(r.opts.ControlQueueBatchSize)),
			VisibilityTimeout: to.Ptr(vis),
		})
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			r.log.Warn("receiving from control queue failed; retrying", "partition", part.index, "err", errString(err))
			sleepCtx(ctx, jitter(time.Second))
			continue
		}
		backoff = r.opts.pollDelay(backoff, len(resp.Messages), r.opts.ControlQueueBatchSize)
		if len(resp.Messages) > 0 {
			msgs := r.decode(ctx, q, part.index, resp.Messages)
			r.orch.add(ctx, part.index, epoch, msgs)
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

// decode parses received messages of queue q (partition p, or -1 for the
// work-item queue). Undecodable ones are retried with backoff and deleted
// after MaxDequeueCount deliveries; timers and delayed starts that are not
// yet due (chained beyond the queue's 7-day visibility limit) are hidden
// again or re-sent with the remaining delay.
func (r *receiver) decode(ctx context.Context, q *azqueue.QueueClient, p int, in []*azqueue.DequeuedMessage) []*qmsg {
	out := make([]*qmsg, 0, len(in))
	for _, dm := range in {
		m := &qmsg{queue: q, id: deref(dm.MessageID), popReceipt: deref(dm.PopReceipt), text: deref(dm.MessageText), partition: p}
		if dm.DequeueCount != nil {
			m.dequeueCount = int(*dm.DequeueCount)
		}
		if dm.TimeNextVisible != nil {
			m.visibleAt = *dm.TimeNextVisible
		}
		msg, rejections, local, err := r.decodeText(ctx, m.text)
		if err != nil {
			r.unreadable(ctx, q, m, err)
			continue
		}
		m.msg, m.rejected = msg, rejections
		m.dequeueCount += local
		if d := messageDelay(msg); d > 0 {
			r.notDue(ctx, q, p, m, d)
			continue
		}
		out = append(out, m)
	}
	return out
}

// unreadable retries a message that cannot be decoded later, or deletes
// it after MaxDequeueCount deliveries.
func (r *receiver) unreadable(ctx context.Context, q *azqueue.QueueClient, m *qmsg, err error) {
	if m.dequeueCount >= r.opts.MaxDequeueCount {
		r.log.Error("deleting a queue message that cannot be read", "queue", q.URL(), "messageId", m.id, "dequeueCount", m.dequeueCount, "err", err)
		r.msgs.delete(ctx, []*qmsg{m})
		return
	}
	r.log.Warn("cannot read a queue message; retrying later", "messageId", m.id, "err", err)
	r.msgs.release(ctx, []*qmsg{m}, sp.AbandonBackoff(m.dequeueCount, maxAbandonDelay))
}

// notDue handles a message received d before it is due.
func (r *receiver) notDue(ctx context.Context, q *azqueue.QueueClient, p int, m *qmsg, d time.Duration) {
	if d < maxVisibility/2 {
		// Visible a little early (whole-second visibility): hide it
		// until it is due.
		r.msgs.release(ctx, []*qmsg{m}, d)
		r.parts.wakeAfter(p, d)
		return
	}
	// Not due yet: a long timer hop. Send the rest of the delay.
	if err := r.send.requeue(ctx, q, m.text, d); err != nil {
		r.log.Warn("re-sending a long timer failed; retrying later", "instance", m.msg.Target.InstanceID, "err", errString(err))
		r.msgs.release(ctx, []*qmsg{m}, time.Minute)
		return
	}
	r.msgs.delete(ctx, []*qmsg{m})
}

// decodeText parses a message body, downloading an offloaded one. It also
// returns the counts funchost keeps in the queue's body: versioning
// rejections and the deliveries the queue did not count (LocalDeliveries).
func (r *receiver) decodeText(ctx context.Context, text string) (*sp.TaskMessage, int, int, error) {
	d, err := decodeBody(text)
	if err != nil {
		return nil, 0, 0, err
	}
	rejections, local := d.rejections, d.localDeliveries // counted on the queue's body, not the blob's
	if d.blobName != "" {
		data, err := r.blobs.download(ctx, d.blobName)
		if err != nil {
			return nil, 0, 0, err
		}
		if d, err = decodeBodyBytes(data); err != nil {
			return nil, 0, 0, err
		}
		if d.msg == nil {
			return nil, 0, 0, errors.New("offloaded message refers to another blob")
		}
	}
	if d.msg.Event == nil || d.msg.Target.InstanceID == "" {
		return nil, 0, 0, errors.New("message has no event or no target instance")
	}
	return d.msg, rejections, local, nil
}
