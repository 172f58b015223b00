package azurestorage

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// partition is one control queue and this process's ownership of it.
// Fields other than index and wake are guarded by partitionManager.mu.
type partition struct {
	index  int
	owned  bool
	epoch  uint64 // increases with every gain and loss
	cancel context.CancelFunc
	done   chan struct{}
	wake   chan struct{}
}

// partitionManager tracks which control queues this process owns (the
// lease manager decides, see leases.go), runs a receive loop for each
// owned one and wakes those loops when local sends make messages visible.
// A work item remembers the epoch of its partition when it was built: a
// commit from an older epoch is a commit after a loss of ownership.
type partitionManager struct {
	log     *slog.Logger
	recv    *receiver   // runs an owned partition's receive loop
	orch    *dispatcher // forgets a lost partition's instances
	msgs    *queueOps   // returns a lost partition's held messages
	renewal time.Duration

	mu     sync.Mutex
	active bool // the hub runs: partitions may be gained
	parts  []*partition
}

func newPartitionManager(n int, log *slog.Logger, renewal time.Duration) *partitionManager {
	pm := &partitionManager{log: log, renewal: renewal}
	for i := range n {
		pm.parts = append(pm.parts, &partition{index: i, wake: make(chan struct{}, 1)})
	}
	return pm
}

// setActive allows (true) or refuses (false) gaining partitions.
func (pm *partitionManager) setActive(on bool) {
	pm.mu.Lock()
	defer pm.mu.Unlock()
	pm.active = on
}

// owned returns the indexes of the partitions this process owns.
func (pm *partitionManager) owned() []int {
	pm.mu.Lock()
	defer pm.mu.Unlock()
	var out []int
	for _, p := range pm.parts {
		if p.owned {
			out = append(out, p.index)
		}
	}
	return out
}

// gain starts receiving partition p. After a steal (stolen), the start
// waits until the previous owner noticed at its next renewal and stopped,
// which keeps the window in which both hosts receive the queue short; the
// sentinel ETag keeps that window safe anyway.
func (pm *partitionManager) gain(p int, stolen bool) {
	pm.mu.Lock()
	defer pm.mu.Unlock()
	part := pm.parts[p]
	if !pm.active || part.owned {
		return
	}
	var delay time.Duration
	if stolen {
		delay = pm.renewal + time.Second
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
		pm.recv.loop(ctx, part, epoch)
	}()
}

// lose stops receiving partition p, forgets its cached instances and
// (with release) makes its held, unprocessed messages visible again for
// the next owner.
func (pm *partitionManager) lose(ctx context.Context, p int, release bool) {
	pm.mu.Lock()
	part := pm.parts[p]
	if !part.owned {
		pm.mu.Unlock()
		return
	}
	part.owned = false
	part.epoch++
	cancel, done := part.cancel, part.done
	pm.mu.Unlock()
	cancel()
	<-done
	msgs := pm.orch.dropPartition(p)
	if release {
		pm.msgs.release(ctx, msgs, 0)
	}
	pm.log.Info("partition released", "partition", p, "messagesReturned", len(msgs))
}

// loseAll loses every partition (shutdown).
func (pm *partitionManager) loseAll(ctx context.Context, release bool) {
	for i := range pm.parts {
		pm.lose(ctx, i, release)
	}
}

// ownsEpoch reports whether p is still owned in the given epoch.
func (pm *partitionManager) ownsEpoch(p int, epoch uint64) bool {
	pm.mu.Lock()
	defer pm.mu.Unlock()
	return pm.parts[p].owned && pm.parts[p].epoch == epoch
}

// current returns p's epoch and whether this process owns p while the
// hub runs.
func (pm *partitionManager) current(p int) (epoch uint64, owned bool) {
	pm.mu.Lock()
	defer pm.mu.Unlock()
	return pm.parts[p].epoch, pm.active && pm.parts[p].owned
}

// maxLocalTimerWake bounds the delays for which wakeAfter arms a timer;
// polling (at most MaxQueuePollingInterval late) covers longer ones.
const maxLocalTimerWake = time.Hour

// wakeAfter wakes partition p's receive loop once a message sent with
// visibility delay d is visible, so that a durable timer (or a delayed
// start) on an idle host fires on time rather than up to
// MaxQueuePollingInterval late. A wake-up for a partition this host does
// not own (any more) costs one extra poll at most.
func (pm *partitionManager) wakeAfter(p int, d time.Duration) {
	if p < 0 || p >= len(pm.parts) {
		return // not a control queue
	}
	if d <= 0 {
		pm.wake(p)
		return
	}
	if d > maxLocalTimerWake {
		return
	}
	// The queue makes the message visible after whole seconds (rounded
	// up); a little margin keeps the poll from coming too early.
	at := time.Duration(visibilitySeconds(d))*time.Second + 100*time.Millisecond
	time.AfterFunc(at, func() { pm.wake(p) })
}

func (pm *partitionManager) wake(p int) { signal(pm.parts[p].wake) }
