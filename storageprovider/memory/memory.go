// Package memory is an in-memory storageprovider.TaskHub: exact, fast and
// lean, for engine tests and benchmarks. Nothing survives the process.
//
// One mutex guards all state. Work that becomes available wakes one waiting
// Lock* call through a per-waiter channel; everything that must happen at a
// future time (timer messages, delayed starts, abandon back-off, lock
// expiry) sits in a single timer heap served by one time.AfterFunc, so the
// hub owns no goroutine of its own and never polls.
//
// Files:
//
//	memory.go          Options, TaskHub and its records, life cycle, Stats
//	instances.go       creating instances, status rows, history, purging one instance
//	messages.go        SendTaskMessages and delivering messages to instances
//	queries.go         status queries with continuation tokens, purging by filter
//	workitems.go       what both kinds of work item share: waiting, lock expiry
//	orchestrations.go  orchestration work items: lock, renew, complete, abandon
//	activities.go      activity work items
//	timers.go          the timer heap behind timers, delayed starts, back-off and lock expiry
//	fifo.go            the slice-backed queue used for ready instances and activities
package memory

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/internal/waitq"
)

// Options configure a TaskHub. Zero values select the defaults.
type Options struct {
	// Name is the task hub name (default "memory").
	Name string
	// LockTimeout is how long a locked work item stays locked without a
	// renewal (default 1 minute). Tests of lock expiry use a short one.
	LockTimeout time.Duration
	// KeepTerminalHistory keeps the history of terminal instances as
	// decoded events. By default it is compacted to JSON once the instance
	// reaches a terminal status with no work in flight, which cuts the
	// memory per completed instance several times; reads decode it again.
	KeepTerminalHistory bool
}

const (
	defaultName        = "memory"
	defaultLockTimeout = time.Minute
)

// TaskHub is an in-memory task hub. Create it with New; all methods are
// safe for concurrent use.
type TaskHub struct {
	opts Options

	mu      sync.Mutex
	stopped bool
	stopCh  chan struct{}

	instances map[string]*instance
	ready     fifo[*instance]     // instances with deliverable messages, unlocked
	acts      fifo[*activityItem] // activity items ready for a worker
	orchWait  waitq.Queue         // waiting LockNextOrchestrationWorkItem calls
	actWait   waitq.Queue         // waiting LockNextActivityWorkItem calls
	timers    timerHeap           // future events
	alarm     *time.Timer         // fires at timers[0].at
	alarmAt   time.Time           // zero when the alarm is not armed
	seq       uint64              // message sequence, for stable ordering
}

// instance is everything the hub knows about one instance ID.
type instance struct {
	id string
	// state is the status row; nil when the instance does not exist (only
	// messages addressed to it, or it was purged while work was in flight).
	state *sp.OrchestrationState
	// history is the committed history of the current execution, or nil
	// when compact holds it.
	history []*sp.HistoryEvent
	compact []byte
	// version increases with every commit, re-creation and purge; a work
	// item remembers the version it read (optimistic concurrency).
	version uint64
	// pending messages in arrival order, not yet handed to a worker.
	pending []*queuedMsg
	locked  *orchLock
	// notBefore delays the next work item (abandon back-off).
	notBefore time.Time
	inReady   bool
}

type queuedMsg struct {
	msg          *sp.TaskMessage
	dequeueCount int
	rejected     int // deliveries given back by RejectOrchestrationWorkItem
	seq          uint64
}

// orchLock is the ProviderData of an orchestration work item.
type orchLock struct {
	inst    *instance
	version uint64
	msgs    []*queuedMsg
	until   time.Time
	expiry  *timerEntry
	done    bool // completed or abandoned by its holder
}

// lost reports whether the lock no longer holds its instance: its holder
// finished with it, or it expired and the instance moved on. h.mu must be
// held.
func (l *orchLock) lost() bool { return l.done || l.inst.locked != l }

type activityItem struct {
	msg          *sp.TaskMessage
	dequeueCount int
	lock         *actLock // current holder, nil when queued or waiting
	queued       bool
	done         bool
}

// actLock is the ProviderData of an activity work item.
type actLock struct {
	item   *activityItem
	until  time.Time
	expiry *timerEntry
}

// New returns an empty in-memory task hub.
func New(opts Options) *TaskHub {
	if opts.Name == "" {
		opts.Name = defaultName
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = defaultLockTimeout
	}
	h := &TaskHub{
		opts:      opts,
		stopCh:    make(chan struct{}),
		instances: make(map[string]*instance),
	}
	return h
}

var _ sp.TaskHub = (*TaskHub)(nil)

// Name returns the task hub name.
func (h *TaskHub) Name() string { return h.opts.Name }

// CreateIfNotExists does nothing: memory needs no storage to be created.
func (h *TaskHub) CreateIfNotExists(ctx context.Context) error { return ctx.Err() }

// DeleteTaskHub drops every instance, message and work item. Outstanding
// work items are lost.
func (h *TaskHub) DeleteTaskHub(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, inst := range h.instances {
		inst.version++ // invalidate outstanding locks
	}
	h.instances = make(map[string]*instance)
	h.ready = fifo[*instance]{}
	h.acts.each(func(a *activityItem) { a.done = true })
	h.acts = fifo[*activityItem]{}
	for _, e := range h.timers {
		if e.act != nil {
			e.act.done = true
		}
		if e.actLock != nil {
			e.actLock.item.done = true
		}
	}
	h.timers = nil
	h.rearmLocked(time.Now())
	return nil
}

// Start (re)opens the hub for Lock* calls. The memory hub needs no
// background work; Lock* calls made before Start are served too.
func (h *TaskHub) Start(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped {
		h.stopped = false
		h.stopCh = make(chan struct{})
		h.rearmLocked(time.Now())
	}
	return nil
}

// Stop makes waiting and future Lock* calls return ErrTaskHubClosed and
// stops the timer. State is kept; Start reopens the hub.
func (h *TaskHub) Stop(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.stopped {
		h.stopped = true
		close(h.stopCh)
		h.orchWait, h.actWait = waitq.Queue{}, waitq.Queue{}
		if h.alarm != nil {
			h.alarm.Stop()
		}
		h.alarmAt = time.Time{}
	}
	return nil
}

func (h *TaskHub) closedErr() error {
	return fmt.Errorf("memory task hub %q: %w", h.opts.Name, sp.ErrTaskHubClosed)
}

// errInvalid builds an argument error.
func errInvalid(format string, args ...any) error {
	return fmt.Errorf("memory task hub: "+format, args...)
}

var errNilWorkItem = errors.New("memory task hub: work item was not issued by this provider")

// Stats is a snapshot of the hub's contents, for tests and diagnostics.
type Stats struct {
	// Instances counts status rows.
	Instances int
	// PendingMessages counts orchestration messages waiting for a work
	// item (scheduled timers not included).
	PendingMessages int
	// LockedInstances counts orchestration work items in flight.
	LockedInstances int
	// QueuedActivities counts activity messages waiting for a worker.
	QueuedActivities int
	// ScheduledTimers counts heap entries: future messages, back-offs and
	// lock expiries.
	ScheduledTimers int
	// Waiters counts blocked Lock* calls.
	Waiters int
}

// Stats returns a snapshot of the hub's contents.
func (h *TaskHub) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	var s Stats
	for _, inst := range h.instances {
		if inst.state != nil {
			s.Instances++
		}
		s.PendingMessages += len(inst.pending)
		if inst.locked != nil {
			s.LockedInstances++
		}
	}
	h.acts.each(func(a *activityItem) {
		if a.queued && !a.done {
			s.QueuedActivities++
		}
	})
	s.ScheduledTimers = len(h.timers)
	s.Waiters = h.orchWait.Len() + h.actWait.Len()
	return s
}
