package azurestorage

import (
	"container/list"
	"context"
	"sync"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/internal/waitq"
)

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

// dispatcher is the in-memory side of the owned partitions: it groups
// received control-queue messages by instance, hands out one work item
// per instance at a time (the instance that became ready first goes
// first), and caches each instance's committed history between work
// items, up to MaxCachedInstances.
type dispatcher struct {
	parts     *partitionManager
	msgs      *queueOps
	maxCached int

	mu      sync.Mutex
	insts   map[string]*instState
	ready   []*instState
	waiters waitq.Queue // blocked LockNextOrchestrationWorkItem calls
	byID    map[string]*qmsg
	lru     *list.List
	room    chan struct{} // signalled when held messages are released
}

func newDispatcher(maxCached int, parts *partitionManager, msgs *queueOps) *dispatcher {
	return &dispatcher{parts: parts, msgs: msgs, maxCached: maxCached, insts: map[string]*instState{},
		byID: map[string]*qmsg{}, lru: list.New(), room: make(chan struct{}, 1)}
}

// heldCount is the number of received messages held in memory.
func (d *dispatcher) heldCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.byID)
}

// take blocks until an instance has messages and no work item out, marks
// it locked and returns its messages and cached history (nil if none). It
// fails with waitq.ErrStopped once stop is closed, or with ctx's error.
func (d *dispatcher) take(ctx context.Context, stop <-chan struct{}) (*instState, []*qmsg, *instCache, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for {
		select {
		case <-stop:
			return nil, nil, nil, waitq.ErrStopped
		default:
		}
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
			for _, m := range msgs {
				m.markDelivered()
			}
			return inst, msgs, inst.cache, nil
		}
		if err := d.waiters.Wait(ctx, &d.mu, stop); err != nil {
			return nil, nil, nil, err
		}
	}
}

// claim records lk as inst's outstanding work item, unless one of its
// messages was received again while the work item was built (its lock
// expired meanwhile): then the instance is made ready again and claim
// reports false.
func (d *dispatcher) claim(inst *instState, msgs []*qmsg, lk *orchLock) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, m := range msgs {
		if d.byID[m.id] != m {
			inst.locked = false
			d.makeReady(inst)
			return false
		}
	}
	inst.lock = lk
	return true
}

// retryLater puts msgs back in front of inst's pending messages after a
// work item could not be built, and makes inst ready again in a second.
func (d *dispatcher) retryLater(inst *instState, msgs []*qmsg) {
	d.mu.Lock()
	inst.pending = append(msgs, inst.pending...)
	inst.locked = false
	d.mu.Unlock()
	time.AfterFunc(time.Second, func() { d.mu.Lock(); d.makeReady(inst); d.mu.Unlock() })
}

// messagesOf returns a copy of the work item's messages.
func (d *dispatcher) messagesOf(lk *orchLock) []*qmsg {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]*qmsg(nil), lk.msgs...)
}

// add hands received messages to their instances.
func (d *dispatcher) add(ctx context.Context, p int, epoch uint64, msgs []*qmsg) {
	if len(msgs) == 0 {
		return
	}
	if !d.parts.ownsEpoch(p, epoch) {
		d.msgs.release(ctx, msgs, 0)
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

// heldFor returns a copy of the messages waiting for the instance of the
// outstanding work item lk (none when lk is not outstanding).
func (d *dispatcher) heldFor(lk *orchLock) []*qmsg {
	d.mu.Lock()
	defer d.mu.Unlock()
	if lk.done || lk.inst.lock != lk {
		return nil
	}
	return append([]*qmsg(nil), lk.inst.pending...)
}

func (d *dispatcher) isDone(lk *orchLock) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return lk.done
}

// lockOf returns the outstanding work item holding m, if any. Called
// with d.mu held.
func (d *dispatcher) lockOf(m *qmsg) *orchLock {
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
func (d *dispatcher) expire(lk *orchLock) {
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
func (d *dispatcher) untrack(msgs []*qmsg) {
	for _, m := range msgs {
		if d.byID[m.id] == m {
			delete(d.byID, m.id)
		}
	}
}

// makeReady queues inst for a work item if it has messages and no work
// item out. Called with d.mu held.
func (d *dispatcher) makeReady(inst *instState) {
	if inst.locked || inst.inReady || len(inst.pending) == 0 {
		return
	}
	inst.inReady = true
	d.ready = append(d.ready, inst)
	d.waiters.WakeFirst()
}

// forget removes inst from the map when nothing refers to it. Called with
// d.mu held.
func (d *dispatcher) forget(inst *instState) {
	if !inst.locked && len(inst.pending) == 0 && inst.cache == nil && !inst.inReady {
		if d.insts[inst.id] == inst {
			delete(d.insts, inst.id)
		}
	}
}

func (d *dispatcher) setCache(inst *instState, c *instCache) {
	inst.cache = c
	if inst.lru != nil {
		d.lru.MoveToBack(inst.lru)
	} else {
		inst.lru = d.lru.PushBack(inst)
	}
	for d.lru.Len() > d.maxCached {
		e := d.lru.Front()
		old := e.Value.(*instState)
		d.lru.Remove(e)
		old.lru = nil
		old.cache = nil
		d.forget(old)
	}
}

func (d *dispatcher) dropCache(inst *instState) {
	inst.cache = nil
	if inst.lru != nil {
		d.lru.Remove(inst.lru)
		inst.lru = nil
	}
}

// invalidate forgets the cached history of an instance (purge).
func (d *dispatcher) invalidate(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if inst := d.insts[id]; inst != nil {
		d.dropCache(inst)
		d.forget(inst)
	}
}

// dropPartition forgets everything about partition p and returns its
// held messages that are not part of a work item.
func (d *dispatcher) dropPartition(p int) []*qmsg {
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
func (d *dispatcher) dropAll() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, inst := range d.insts {
		d.dropCache(inst)
	}
}

func (d *dispatcher) signalRoom() { signal(d.room) }

// finish ends a work item: forgets its messages, unlocks the instance,
// stores the new cache entry (when still owned) and schedules the next
// work item if messages arrived meanwhile.
func (d *dispatcher) finish(lk *orchLock, cache *instCache, keepCache bool) {
	owned := d.parts.ownsEpoch(lk.inst.partition, lk.epoch)
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
		go d.msgs.release(context.Background(), msgs, 0)
	}
	d.forget(inst)
	d.signalRoom()
}
