package memory

import (
	"context"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
)

// SendTaskMessages delivers messages to their target instances. Messages
// to unknown instances are delivered too (the engine drops them), as they
// would be on a storage queue.
func (h *TaskHub) SendTaskMessages(ctx context.Context, msgs ...*sp.TaskMessage) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, m := range msgs {
		if err := checkMessage(m, ""); err != nil {
			return err
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	t := time.Now()
	for _, m := range msgs {
		c := m.Clone()
		h.enqueueLocked(h.instanceFor(c.Target.InstanceID), c, t)
	}
	return nil
}

// checkMessage validates a message addressed to an instance; defaultID
// fills an empty target.
func checkMessage(m *sp.TaskMessage, defaultID string) error {
	if m == nil || m.Event == nil {
		return errInvalid("nil message or event")
	}
	if m.Target.InstanceID == "" && defaultID == "" {
		return errInvalid("%s message has no target instance", m.Event.EventType)
	}
	return nil
}

// enqueueLocked appends m to inst's messages, or schedules it when it is a
// start with a future ScheduledStartTime, a timer or a scheduled entity
// signal due later (sp.DeliveryTime).
func (h *TaskHub) enqueueLocked(inst *instance, m *sp.TaskMessage, t time.Time) {
	h.seq++
	qm := &queuedMsg{msg: m, seq: h.seq}
	due := sp.DeliveryTime(m)
	if !due.IsZero() && due.After(t) {
		h.schedule(&timerEntry{at: due, kind: deliverMessage, instanceID: inst.id, msg: qm})
		return
	}
	inst.pending = append(inst.pending, qm)
	h.markReady(inst, t)
}

// markReady queues inst for a worker if it has deliverable messages and no
// work item, and wakes one waiting worker.
func (h *TaskHub) markReady(inst *instance, t time.Time) {
	if inst.inReady || inst.locked != nil || len(inst.pending) == 0 || inst.notBefore.After(t) {
		return
	}
	inst.inReady = true
	h.ready.push(inst)
	h.orchWait.WakeFirst()
}
