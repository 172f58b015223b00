package testkit

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
)

// hub wraps the memory task hub the kit runs on. It counts the work in
// flight — messages sent but not yet consumed by a commit, activity calls
// not yet completed — so that the kit can wait until nothing is left to
// do, and it holds durable timers until the fake clock reaches them.
//
// A held timer is delivered with FireAt cleared, or the memory hub would
// hold it again until the wall clock reaches FireAt; hub restores FireAt
// when it hands the message to the engine, so history keeps the real one.
type hub struct {
	sp.TaskHub

	mu sync.Mutex
	// pending counts messages sent to orchestrations and not yet consumed,
	// acts activity calls not yet completed.
	pending, acts int
	// changed is closed and replaced whenever the counts fall.
	changed chan struct{}
	// timers are the held TimerFired messages, in FireAt order.
	timers []*sp.TaskMessage
	// fireAt remembers the FireAt of delivered timers by timerKey.
	fireAt map[string]time.Time
	// calls are the scheduling events each instance committed, in commit
	// order; seen identifies them by execution and action id, and exec is
	// each instance's current execution.
	calls map[string][]*sp.HistoryEvent
	seen  map[string]bool
	exec  map[string]string
}

func newHub(inner sp.TaskHub) *hub {
	return &hub{TaskHub: inner, changed: make(chan struct{}), fireAt: map[string]time.Time{},
		calls: map[string][]*sp.HistoryEvent{}, seen: map[string]bool{}, exec: map[string]string{}}
}

func timerKey(m *sp.TaskMessage) string {
	return m.Target.InstanceID + "\x00" + m.Target.ExecutionID + "\x00" + strconv.Itoa(m.Event.TimerID)
}

// add changes the counts under the lock and wakes waiters when work ends.
func (h *hub) add(pending, acts int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pending += pending
	h.acts += acts
	if pending < 0 || acts < 0 {
		close(h.changed)
		h.changed = make(chan struct{})
	}
}

// idle reports whether no work is in flight, and returns a channel closed
// at the next change otherwise.
func (h *hub) idle() (bool, <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.pending == 0 && h.acts == 0, h.changed
}

func (h *hub) CreateInstance(ctx context.Context, start *sp.TaskMessage) error {
	h.add(1, 0)
	err := h.TaskHub.CreateInstance(ctx, start)
	if err != nil {
		h.add(-1, 0)
	}
	return err
}

func (h *hub) SendTaskMessages(ctx context.Context, msgs ...*sp.TaskMessage) error {
	h.add(len(msgs), 0)
	err := h.TaskHub.SendTaskMessages(ctx, msgs...)
	if err != nil {
		h.add(-len(msgs), 0)
	}
	return err
}

func (h *hub) LockNextOrchestrationWorkItem(ctx context.Context) (*sp.OrchestrationWorkItem, error) {
	wi, err := h.TaskHub.LockNextOrchestrationWorkItem(ctx)
	if wi == nil {
		return wi, err
	}
	h.mu.Lock()
	for _, m := range wi.NewMessages {
		if m.Event != nil && m.Event.EventType == sp.EventTimerFired && m.Event.FireAt.IsZero() {
			m.Event.FireAt = h.fireAt[timerKey(m)]
		}
	}
	h.mu.Unlock()
	return wi, err
}

// CompleteOrchestrationWorkItem commits c without its timers, which the
// kit holds, and records the calls the new history makes.
func (h *hub) CompleteOrchestrationWorkItem(ctx context.Context, wi *sp.OrchestrationWorkItem, c *sp.OrchestrationCheckpoint) error {
	if c == nil {
		c = &sp.OrchestrationCheckpoint{}
	}
	held := c.TimerMessages
	commit := *c
	commit.TimerMessages = nil
	h.add(len(c.OutboundMessages), len(c.ActivityMessages))
	if err := h.TaskHub.CompleteOrchestrationWorkItem(ctx, wi, &commit); err != nil {
		h.add(-len(c.OutboundMessages), -len(c.ActivityMessages))
		return err
	}
	h.mu.Lock()
	for _, m := range held {
		m = m.Clone()
		if m.Target.InstanceID == "" {
			m.Target.InstanceID = wi.InstanceID
		}
		h.timers = append(h.timers, m)
	}
	slices.SortStableFunc(h.timers, func(a, b *sp.TaskMessage) int { return a.Event.FireAt.Compare(b.Event.FireAt) })
	h.recordCalls(wi.InstanceID, c.NewEvents)
	h.mu.Unlock()
	h.add(-len(wi.NewMessages), 0)
	return nil
}

// recordCalls appends the scheduling events of evs not recorded yet (a
// replaced history repeats those it keeps).
func (h *hub) recordCalls(instanceID string, evs []*sp.HistoryEvent) {
	for _, ev := range evs {
		switch ev.EventType {
		case sp.EventExecutionStarted:
			if ev.OrchestrationInstance != nil {
				h.exec[instanceID] = ev.OrchestrationInstance.ExecutionID
			}
		case sp.EventTaskScheduled, sp.EventSubOrchestrationInstanceCreated, sp.EventTimerCreated, sp.EventEventSent:
			key := instanceID + "\x00" + h.exec[instanceID] + "\x00" + strconv.Itoa(ev.EventID)
			if !h.seen[key] {
				h.seen[key] = true
				h.calls[instanceID] = append(h.calls[instanceID], ev.Clone())
			}
		}
	}
}

func (h *hub) CompleteActivityWorkItem(ctx context.Context, wi *sp.ActivityWorkItem, result *sp.TaskMessage) error {
	n := 0
	if result != nil {
		n = 1
	}
	h.add(n, 0)
	if err := h.TaskHub.CompleteActivityWorkItem(ctx, wi, result); err != nil {
		h.add(-n, 0)
		return err
	}
	h.add(0, -1)
	return nil
}

// nextTimer returns the FireAt of the earliest held timer.
func (h *hub) nextTimer() (time.Time, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.timers) == 0 {
		return time.Time{}, false
	}
	return h.timers[0].Event.FireAt, true
}

// fire delivers the held timers due at or before at.
func (h *hub) fire(ctx context.Context, at time.Time) error {
	h.mu.Lock()
	var due []*sp.TaskMessage
	for len(h.timers) > 0 && !h.timers[0].Event.FireAt.After(at) {
		m := h.timers[0]
		h.timers = h.timers[1:]
		h.fireAt[timerKey(m)] = m.Event.FireAt
		m.Event.FireAt = time.Time{}
		due = append(due, m)
	}
	h.mu.Unlock()
	if len(due) == 0 {
		return nil
	}
	return h.SendTaskMessages(ctx, due...)
}

// recordedCalls returns copies of the scheduling events instanceID
// committed.
func (h *hub) recordedCalls(instanceID string) []*sp.HistoryEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*sp.HistoryEvent, len(h.calls[instanceID]))
	for i, ev := range h.calls[instanceID] {
		out[i] = ev.Clone()
	}
	return out
}
