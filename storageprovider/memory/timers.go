package memory

import (
	"container/heap"
	"time"
)

// timerKind says what a timerEntry does when it comes due.
type timerKind uint8

const (
	deliverMessage  timerKind = iota // a timer message or delayed start becomes deliverable
	wakeInstance                     // the abandon back-off of an instance ends
	orchLockExpiry                   // an orchestration work item's lock may have expired
	actLockExpiry                    // an activity work item's lock may have expired
	requeueActivity                  // the back-off of an abandoned activity ends
)

type timerEntry struct {
	at    time.Time
	seq   uint64
	kind  timerKind
	index int

	instanceID string
	msg        *queuedMsg
	inst       *instance
	orchLock   *orchLock
	actLock    *actLock
	act        *activityItem
}

// timerHeap orders entries by due time, then by insertion order so that
// timer messages due at the same instant keep their order.
type timerHeap []*timerEntry

func (t timerHeap) Len() int { return len(t) }

func (t timerHeap) Less(i, j int) bool {
	if !t[i].at.Equal(t[j].at) {
		return t[i].at.Before(t[j].at)
	}
	return t[i].seq < t[j].seq
}

func (t timerHeap) Swap(i, j int) {
	t[i], t[j] = t[j], t[i]
	t[i].index = i
	t[j].index = j
}

func (t *timerHeap) Push(x any) {
	e := x.(*timerEntry)
	e.index = len(*t)
	*t = append(*t, e)
}

func (t *timerHeap) Pop() any {
	old := *t
	n := len(old) - 1
	e := old[n]
	old[n] = nil
	e.index = -1
	*t = old[:n]
	return e
}

// schedule adds e to the heap and re-arms the alarm when e is the new
// earliest entry.
func (h *TaskHub) schedule(e *timerEntry) {
	h.seq++
	e.seq = h.seq
	heap.Push(&h.timers, e)
	if e.index == 0 {
		h.rearmLocked(time.Now())
	}
}

// unschedule removes e from the heap if it is still there.
func (h *TaskHub) unschedule(e *timerEntry) {
	if e == nil || e.index < 0 || e.index >= len(h.timers) || h.timers[e.index] != e {
		return
	}
	wasHead := e.index == 0
	heap.Remove(&h.timers, e.index)
	if wasHead {
		// Follow the new head (or disarm) so an idle hub has no alarm
		// pending and no goroutine fires for nothing.
		h.rearmLocked(time.Now())
	}
}

// reschedule moves e to a new due time.
func (h *TaskHub) reschedule(e *timerEntry, at time.Time) {
	if e.index < 0 || e.index >= len(h.timers) || h.timers[e.index] != e {
		e.at = at
		h.schedule(e)
		return
	}
	e.at = at
	heap.Fix(&h.timers, e.index)
	if e.index == 0 {
		h.rearmLocked(time.Now())
	}
}

// rearmLocked points the alarm at the earliest heap entry.
func (h *TaskHub) rearmLocked(now time.Time) {
	if h.stopped {
		return
	}
	if len(h.timers) == 0 {
		if h.alarm != nil && !h.alarmAt.IsZero() {
			h.alarm.Stop()
		}
		h.alarmAt = time.Time{}
		return
	}
	at := h.timers[0].at
	if !h.alarmAt.IsZero() && h.alarmAt.Equal(at) {
		return
	}
	d := at.Sub(now)
	if d < 0 {
		d = 0
	}
	h.alarmAt = at
	if h.alarm == nil {
		h.alarm = time.AfterFunc(d, h.onAlarm)
	} else {
		h.alarm.Reset(d)
	}
}

// onAlarm runs every due heap entry, then re-arms for the next one.
func (h *TaskHub) onAlarm() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped {
		return
	}
	h.alarmAt = time.Time{}
	now := time.Now()
	for len(h.timers) > 0 && !h.timers[0].at.After(now) {
		e := heap.Pop(&h.timers).(*timerEntry)
		h.fire(e, now)
	}
	h.rearmLocked(now)
}

func (h *TaskHub) fire(e *timerEntry, now time.Time) {
	switch e.kind {
	case deliverMessage:
		inst := h.instanceFor(e.instanceID)
		inst.pending = append(inst.pending, e.msg)
		h.markReady(inst, now)
	case wakeInstance:
		if h.instances[e.inst.id] == e.inst {
			h.markReady(e.inst, now)
		}
	case orchLockExpiry:
		l := e.orchLock
		if l.inst.locked == l && !l.until.After(now) {
			h.releaseOrchLock(l, now, 0)
		}
	case actLockExpiry:
		l := e.actLock
		if l.item.lock == l && !l.until.After(now) && !l.item.done {
			l.item.lock = nil
			h.queueActivity(l.item)
		}
	case requeueActivity:
		if !e.act.done && e.act.lock == nil && !e.act.queued {
			h.queueActivity(e.act)
		}
	}
}
