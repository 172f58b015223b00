package azurestorage

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	sp "github.com/funchost/funchost/storageprovider"
)

// sender puts messages on the hub's queues. Every enqueue the provider
// makes goes through it: client sends, instance creation, an episode's
// outbound, timer and activity messages, activity results, locally
// delivered results that must be persisted after all, and long timers
// hopping past the queue's visibility limit. Bodies too large for a queue
// message are offloaded to a blob first (docs/storage-layout.md, "Queue
// messages").
type sender struct {
	control   []*azqueue.QueueClient
	workItems *azqueue.QueueClient
	rows      *instanceRows // Pending rows of sub-orchestrations
	blobs     *largeStore
	parts     *partitionManager // woken when this host owns the target
	actsWake  chan struct{}     // the local activity poller's wake-up
	local     *localSends       // nil: every message goes through the queue
	seq       atomic.Int64

	localCount atomic.Int64 // messages sent the local way
}

// maxVisibility is the longest visibility delay used: queues allow 7
// days; longer timers are chained (a variable so tests can shorten it).
var maxVisibility = 6 * 24 * time.Hour

// numbered returns m with a sequence number, copying it if it has none.
func (s *sender) numbered(m *sp.TaskMessage) *sp.TaskMessage {
	if m.SequenceNumber != 0 {
		return m
	}
	return &sp.TaskMessage{Event: m.Event, Target: m.Target, SequenceNumber: s.seq.Add(1)}
}

// prepared is a message ready for a queue: the numbered message, its
// body and, when the body was offloaded, the blob's name.
type prepared struct {
	msg      *sp.TaskMessage
	body     string
	blobName string
}

// prepare encodes m for a queue; bodies over the limit go to a gzip blob
// and the queue gets a reference. The body is measured before it is
// written: one over the limit is gzipped into the blob as the upload
// reads it and never held whole.
func (s *sender) prepare(ctx context.Context, m *sp.TaskMessage, from sp.OrchestrationInstance) (prepared, error) {
	m = s.numbered(m)
	aid := newActivityID()
	body, err := encodeMessageBody(m, aid, from)
	if err != nil {
		return prepared{}, err
	}
	if body.n <= queueMessageLimit {
		return prepared{msg: m, body: ownedString(body.bytes())}, nil
	}
	name := fmt.Sprintf("%s/message-%s-%s.json.gz", sanitizeKey(m.Target.InstanceID), aid, m.Event.EventType)
	if err := s.blobs.uploadMessage(ctx, name, body); err != nil {
		return prepared{}, err
	}
	return prepared{msg: m, body: string(wrapperMessage(aid, name, m.SequenceNumber)), blobName: name}, nil
}

// visibilitySeconds rounds a delay up to whole seconds within the queue's
// limits.
func visibilitySeconds(d time.Duration) int32 {
	if d <= 0 {
		return 0
	}
	if d > maxVisibility {
		d = maxVisibility
	}
	return int32((d + time.Second - 1) / time.Second)
}

// enqueue puts a prepared body on q with a visibility delay and returns
// what the queue answered (the message ID and pop receipt; nil if it
// answered none). It is the only place that calls EnqueueMessage.
func enqueue(ctx context.Context, q *azqueue.QueueClient, body string, delay time.Duration) (*azqueue.EnqueuedMessage, error) {
	resp, err := q.EnqueueMessage(ctx, body, &azqueue.EnqueueMessageOptions{
		TimeToLive:        to.Ptr(int32(-1)),
		VisibilityTimeout: to.Ptr(visibilitySeconds(delay)),
	})
	if err != nil || len(resp.Messages) == 0 {
		return nil, err
	}
	return resp.Messages[0], nil
}

// messageDelay is how long a message must stay invisible: timers until
// FireAt, delayed starts until ScheduledStartTime, scheduled entity
// signals until their time (sp.DeliveryTime).
func messageDelay(m *sp.TaskMessage) time.Duration {
	at := sp.DeliveryTime(m)
	if at.IsZero() {
		return 0
	}
	return time.Until(at)
}

// toInstance puts m on its target's control queue.
func (s *sender) toInstance(ctx context.Context, m *sp.TaskMessage, from sp.OrchestrationInstance) error {
	pm, err := s.prepare(ctx, m, from)
	if err != nil {
		return err
	}
	return s.toControl(ctx, pm, messageDelay(m))
}

// toControl puts a prepared message on the control queue of its target's
// partition. A start due now for a partition this host owns goes the local
// way (sendLocal); any other message wakes the local receive loop when this
// host owns the partition.
func (s *sender) toControl(ctx context.Context, pm prepared, delay time.Duration) error {
	id := pm.msg.Target.InstanceID
	p := sp.PartitionIndex(id, len(s.control))
	if delay <= 0 {
		if done, err := s.sendLocal(ctx, p, pm); done || err != nil {
			if err != nil {
				return fmt.Errorf("azurestorage: sending a message to instance %q: %w", id, err)
			}
			return nil
		}
	}
	if _, err := enqueue(ctx, s.control[p], pm.body, delay); err != nil {
		return fmt.Errorf("azurestorage: sending a message to instance %q: %w", id, err)
	}
	s.parts.wakeAfter(p, delay)
	return nil
}

// toActivity puts an activity invocation on the work-item queue and wakes
// this host's activity poller.
func (s *sender) toActivity(ctx context.Context, m *sp.TaskMessage, from sp.OrchestrationInstance) error {
	pm, err := s.prepare(ctx, m, from)
	if err != nil {
		return err
	}
	if _, err := enqueue(ctx, s.workItems, pm.body, 0); err != nil {
		return fmt.Errorf("scheduling activity %q of %q: %w", m.Event.Name, m.Target.InstanceID, err)
	}
	signal(s.actsWake)
	return nil
}

// requeue sends a received body again with the rest of its delay: a timer
// or delayed start due beyond the queue's visibility limit hops along.
func (s *sender) requeue(ctx context.Context, q *azqueue.QueueClient, body string, delay time.Duration) error {
	_, err := enqueue(ctx, q, body, delay)
	return err
}

// localResult persists an activity result that was handed to this host's
// dispatcher in memory (see TaskHub.deliverLocally) as a control-queue
// message, visible after delay (a result, so never the local way: that
// carries starts only).
func (s *sender) localResult(ctx context.Context, m *sp.TaskMessage, delay time.Duration) error {
	pm, err := s.prepare(ctx, m, sp.OrchestrationInstance{})
	if err != nil {
		return err
	}
	return s.toControl(ctx, pm, delay)
}

// ordered sends messages to their instances: in parallel across
// instances, in order for each instance (queues keep insertion order). A
// sub-orchestration start sent by an orchestration first gets the child's
// Pending status row, unless the child has one.
func (s *sender) ordered(ctx context.Context, msgs []*sp.TaskMessage, from sp.OrchestrationInstance) error {
	var order []string
	groups := map[string][]*sp.TaskMessage{}
	for _, m := range msgs {
		id := m.Target.InstanceID
		if _, ok := groups[id]; !ok {
			order = append(order, id)
		}
		groups[id] = append(groups[id], m)
	}
	return parallel(ctx, 8, len(order), func(ctx context.Context, i int) error {
		for _, m := range groups[order[i]] {
			if m.Event.EventType == sp.EventExecutionStarted && from.InstanceID != "" {
				if err := s.rows.addPending(ctx, m); err != nil {
					return err
				}
			}
			if err := s.toInstance(ctx, m, from); err != nil {
				return err
			}
		}
		return nil
	})
}

// checkpoint sends an episode's outbound, timer and activity messages,
// the activities in parallel with the rest.
func (s *sender) checkpoint(ctx context.Context, from sp.OrchestrationInstance, c *sp.OrchestrationCheckpoint) error {
	for _, group := range [][]*sp.TaskMessage{c.OutboundMessages, c.TimerMessages, c.ActivityMessages} {
		for _, m := range group {
			if m == nil || m.Event == nil {
				return errors.New("checkpoint message without event")
			}
		}
	}
	var errAct error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		errAct = parallel(ctx, 8, len(c.ActivityMessages), func(ctx context.Context, i int) error {
			return s.toActivity(ctx, c.ActivityMessages[i], from)
		})
	}()
	errInst := s.ordered(ctx, append(append([]*sp.TaskMessage{}, c.OutboundMessages...), c.TimerMessages...), from)
	wg.Wait()
	return errors.Join(errAct, errInst)
}

// SendTaskMessages delivers messages to orchestration instances.
func (h *TaskHub) SendTaskMessages(ctx context.Context, msgs ...*sp.TaskMessage) error {
	for _, m := range msgs {
		if m == nil || m.Event == nil {
			return errors.New("azurestorage: SendTaskMessages: message without event")
		}
	}
	release, err := h.clientSlot(ctx)
	if err != nil {
		return fmt.Errorf("azurestorage: SendTaskMessages: %w", err)
	}
	defer release()
	return h.send.ordered(ctx, msgs, sp.OrchestrationInstance{})
}
