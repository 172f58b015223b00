package azurestorage

import (
	"context"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
)

// localSends is the local way of start messages: an ExecutionStarted
// message due now (a client's start, a sub-orchestration start) for a
// partition this host owns is enqueued already invisible (for the
// control queue's visibility timeout, as if this host had just received
// it) and handed straight to this host's dispatcher with the pop receipt
// the enqueue answered. The dequeue round trip is saved; the queue message
// stays the durable form and is deleted by pop receipt when the work item
// that consumes it commits, as every received message is.
//
// Exactly one execution still follows a crash at any point: a message
// enqueued but never committed becomes visible when its invisibility ends
// and is received and processed like any other (by this host after a
// restart or by the partition's next owner). A partition lost before the
// dispatcher takes the message gets it released (made visible at once) by
// the dispatcher's ownership check. docs/storage-layout.md, "Local sends".
//
// Other messages (events, terminations, results) keep going through the
// queue: the engine drops messages for an instance that has not started,
// so an event handed over locally must never overtake its instance's start
// message still waiting in the queue (sent while this host did not own the
// partition, or while the dispatcher was full). A start cannot overtake
// anything that matters: messages sent to an instance before it exists
// are dropped either way.
type localSends struct {
	orch *dispatcher
	// visibility is how long a locally handed message stays invisible:
	// Options.ControlQueueVisibilityTimeout.
	visibility time.Duration
	// maxHeld is Options.ControlQueueBufferThreshold: above it messages go
	// through the queue, so that a burst waits in storage, not in memory.
	maxHeld int
}

// sendLocal sends pm the local way if this host owns partition p and the
// dispatcher has room. done reports whether it did (with err, whether it
// failed); when done is false nothing was sent.
func (s *sender) sendLocal(ctx context.Context, p int, pm prepared) (done bool, err error) {
	ls := s.local
	if ls == nil || pm.msg.Event.EventType != sp.EventExecutionStarted {
		return false, nil
	}
	epoch, owned := s.parts.current(p)
	if !owned || ls.orch.heldCount() >= ls.maxHeld {
		return false, nil
	}
	em, err := enqueue(ctx, s.control[p], pm.body, ls.visibility)
	if err != nil {
		return true, err
	}
	if em == nil || em.MessageID == nil || em.PopReceipt == nil {
		// Stored, but without a receipt it cannot be handed over: it is
		// received once its invisibility ends.
		return true, nil
	}
	m := &qmsg{queue: s.control[p], id: *em.MessageID, popReceipt: *em.PopReceipt, text: pm.body,
		msg: pm.msg.Clone(), partition: p, dequeueCount: 1, local: true}
	if em.TimeNextVisible != nil {
		m.visibleAt = *em.TimeNextVisible
	} else {
		m.visibleAt = time.Now().Add(ls.visibility)
	}
	s.localCount.Add(1)
	ls.orch.add(ctx, p, epoch, []*qmsg{m})
	return true, nil
}

// LocalSends returns how many start messages this hub has sent the local
// way since it was created (benchmarks and tests read it).
func (h *TaskHub) LocalSends() int64 { return h.send.localCount.Load() }
