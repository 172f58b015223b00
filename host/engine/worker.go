package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/internal/entitywire"
	"github.com/funchost/funchost/internal/version"
	sp "github.com/funchost/funchost/storageprovider"
)

// Options configure a Worker. Zero values select the defaults.
type Options struct {
	// MaxConcurrentOrchestrations bounds the orchestration work items
	// processed at once (default 10 × GOMAXPROCS).
	MaxConcurrentOrchestrations int
	// MaxConcurrentActivities bounds the activities run at once (default
	// 10 × GOMAXPROCS): those of the activity work items and those run
	// in-process (LocalActivities) share one worker-wide limit.
	MaxConcurrentActivities int
	// SessionCacheSize is how many live orchestration executions the
	// worker keeps between work items (extended sessions); 0 turns the
	// cache off.
	SessionCacheSize int
	// LocalActivities runs the activity calls of an episode that makes
	// nothing but activity calls (any number of them) in-process, right
	// away, at most MaxConcurrentActivities at a time, and feeds their
	// results to the next episode inside the same work item, committing
	// once at the end. It cuts task-hub traffic per orchestration; the
	// work item's messages stay locked (the lock is renewed meanwhile) as
	// the durable reminder, so a crash before the commit only re-runs the
	// activities (at-least-once). A work item stops starting activities
	// in-process when MaxLocalActivities or MaxLocalActivityTime is
	// reached: it commits what is done and sends the calls it did not run
	// through the task hub.
	LocalActivities bool
	// MaxLocalActivities bounds the activity calls one orchestration work
	// item runs in-process (default DefaultMaxLocalActivities).
	MaxLocalActivities int
	// MaxLocalActivityTime bounds how long one orchestration work item
	// keeps starting activities in-process; 0 selects half the work item's
	// lock time at fetch (30 s when the provider reports none). Activities
	// already running when it passes are awaited, however long they take.
	MaxLocalActivityTime time.Duration
	// MaxDequeueCount fails an orchestration whose work item has been
	// delivered more than this many times (poison). 0 selects the default
	// (DefaultMaxDequeueCount); a negative value disables the check.
	MaxDequeueCount int
	// MaxOrchestrationActions fails an execution whose code makes more
	// actions than this (host.json maxOrchestrationActions; counted as
	// docs/guards.md says). 0 selects DefaultMaxOrchestrationActions; a
	// negative value disables the limit.
	MaxOrchestrationActions int
	// MaxOpenActivityCalls bounds the activity calls of one execution that
	// are scheduled and not yet completed: an episode whose code makes more
	// calls records (and sends) as many as the bound allows and the rest
	// as earlier ones complete, so that one fan-out of 100,000 calls does
	// not put 100,000 messages in the work-item queue at once (queue
	// operations slow with the backlog on the emulator; docs/replay.md,
	// "Open activity calls"). 0 or negative: no bound, which suits a task
	// hub without queues (each smaller episode replays the whole fan-out);
	// the host sets azurestorage.DefaultMaxOpenActivityCalls for Azure
	// Storage.
	MaxOpenActivityCalls int
	// OrchestratorYieldTimeout fails an orchestration whose code runs
	// longer than this without yielding (awaiting an incomplete task or
	// returning), with the stack of where it is (docs/guards.md). 0
	// selects DefaultOrchestratorYieldTimeout; negative disables it (in a
	// debugger, say).
	OrchestratorYieldTimeout time.Duration
	// OrchestratorEpisodeTimeout bounds the orchestrator code of one
	// episode (host.json functionTimeout): past it the episode is aborted
	// and the work item abandoned, to be retried. 0 means unbounded.
	OrchestratorEpisodeTimeout time.Duration
	// Clock returns the current time for everything the engine records:
	// episode and activity-result timestamps, the messages it sends and
	// status rows (default time.Now). The author test kit sets a fake clock
	// here. Lock renewals and the in-process time budget measure real time
	// against the task hub's locks and always use the wall clock.
	Clock func() time.Time
	// MaxEntityOperationBatchSize bounds the operations one entity work
	// item runs (host.json maxEntityOperationBatchSize; 0 selects
	// DefaultMaxEntityOperationBatchSize).
	MaxEntityOperationBatchSize int
	// Versioning is the worker's orchestration versioning (host.json
	// defaultVersion, versionMatchStrategy, versionFailureStrategy): the
	// version stamped on sub-orchestrations started without WithVersion,
	// and which instances the worker runs (docs/versioning.md). The zero
	// value turns versioning off.
	Versioning version.Settings
	// Logger receives the engine's logs and, through
	// OrchestrationContext.Logger, the orchestrators' (default: discard).
	Logger *slog.Logger
	// Observer receives the lifecycle events of orchestrations and
	// activities (observer.go); nil reports nothing.
	Observer Observer
}

// DefaultMaxDequeueCount is the poison threshold when
// Options.MaxDequeueCount is 0.
const DefaultMaxDequeueCount = 10

// DefaultMaxLocalActivities is the in-process activity budget of one work
// item when Options.MaxLocalActivities is 0.
const DefaultMaxLocalActivities = 10000

// defaultLocalActivityTime is the in-process time budget of a work item
// whose provider reports no lock expiry.
const defaultLocalActivityTime = 30 * time.Second

// maxAbandonDelay caps the back-off of abandoned work items, as DTFx does.
const maxAbandonDelay = 10 * time.Minute

// Worker runs orchestrations and activities from a task hub: one dispatch
// loop per allowed concurrent orchestration work item and one per allowed
// concurrent activity. The task hub must be started (TaskHub.Start) by the
// caller before Worker.Start and stopped after Worker.Stop.
type Worker struct {
	hub   sp.TaskHub
	reg   Registry
	opts  Options
	log   *slog.Logger
	cache *sessionCache
	proc  *processor
	clock clock
	// obs is Options.Observer; hubName the task hub's name it reports.
	obs     Observer
	hubName string

	mu      sync.Mutex
	started bool
	stopped bool
	cancel  context.CancelFunc // stops fetching
	// stopAfter unregisters the hook that stops fetching when Start's
	// context ends.
	stopAfter func() bool
	shutdown  context.CancelFunc // cancels running activities' contexts
	actCtx    context.Context
	wg        sync.WaitGroup
	// stopping is closed when Stop begins; local activity loops check it.
	stopping chan struct{}
	// stuck counts abandoned orchestrator goroutines still running.
	stuck atomic.Int64
	// slots is the worker-wide activity semaphore (capacity
	// MaxConcurrentActivities): a running activity, queued or in-process,
	// holds one.
	slots chan struct{}
}

// NewWorker returns a Worker for hub running the functions of reg.
func NewWorker(hub sp.TaskHub, reg Registry, opts Options) *Worker {
	if opts.MaxConcurrentOrchestrations <= 0 {
		opts.MaxConcurrentOrchestrations = 10 * runtime.GOMAXPROCS(0)
	}
	if opts.MaxConcurrentActivities <= 0 {
		opts.MaxConcurrentActivities = 10 * runtime.GOMAXPROCS(0)
	}
	if opts.MaxDequeueCount == 0 {
		opts.MaxDequeueCount = DefaultMaxDequeueCount
	}
	if opts.MaxLocalActivities <= 0 {
		opts.MaxLocalActivities = DefaultMaxLocalActivities
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(discardHandler{})
	}
	w := &Worker{hub: hub, reg: reg, opts: opts, log: log, clock: clock(opts.Clock), stopping: make(chan struct{}),
		slots: make(chan struct{}, opts.MaxConcurrentActivities), obs: opts.Observer}
	if w.obs != nil {
		w.hubName = hub.Name()
	}
	if opts.SessionCacheSize > 0 {
		w.cache = newSessionCache(opts.SessionCacheSize)
	}
	maxDequeue := opts.MaxDequeueCount
	if maxDequeue < 0 {
		maxDequeue = 0
	}
	w.proc = &processor{
		lookup: func(name string) bindings.Orchestrator {
			o, _ := lookupFold(reg.Orchestrators, name)
			return o
		},
		logger:     log,
		maxDequeue: maxDequeue,
		clock:      w.clock,
		obs:        w.obs,
		hubName:    w.hubName,
		versioning: opts.Versioning,
		lim:        limitsFrom(opts),
	}
	w.proc.lim.stuck = &w.stuck
	return w
}

// Start launches the dispatch loops. They run until Stop is called or ctx
// is cancelled.
func (w *Worker) Start(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started {
		return errors.New("engine: worker already started")
	}
	w.started = true
	fetchCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w.cancel = cancel
	w.actCtx, w.shutdown = context.WithCancel(context.WithoutCancel(ctx))
	// Cancelling ctx stops fetching just like Stop does.
	w.stopAfter = context.AfterFunc(ctx, cancel)
	for i := 0; i < w.opts.MaxConcurrentOrchestrations; i++ {
		w.wg.Add(1)
		go w.orchestrationLoop(fetchCtx)
	}
	for i := 0; i < w.opts.MaxConcurrentActivities; i++ {
		w.wg.Add(1)
		go w.activityLoop(fetchCtx)
	}
	return nil
}

// Stop stops fetching work, signals shutdown to running activities
// (their context is cancelled; an activity that fails because of it is
// abandoned, not failed), waits for in-flight work items to finish or ctx
// to end, and tears down the cached sessions.
func (w *Worker) Stop(ctx context.Context) error {
	w.mu.Lock()
	if !w.started || w.stopped {
		w.mu.Unlock()
		return nil
	}
	w.stopped = true
	close(w.stopping)
	w.stopAfter()
	w.cancel()
	w.shutdown()
	w.mu.Unlock()

	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("engine: stopping the worker: %w", ctx.Err())
	}
	w.cache.clear()
	return err
}

// StuckOrchestrators returns the number of orchestrator goroutines the
// stuck guard abandoned that have not ended yet (Go cannot stop them; each
// leaves when it next yields or returns).
func (w *Worker) StuckOrchestrators() int { return int(w.stuck.Load()) }

// CachedSessions returns the number of executions in the session cache.
func (w *Worker) CachedSessions() int { return w.cache.len() }

func (w *Worker) isStopping() bool {
	select {
	case <-w.stopping:
		return true
	default:
		return false
	}
}

// fetchBackoff waits after a failed fetch; it returns false when the loop
// should end.
func fetchBackoff(ctx context.Context, d *time.Duration) bool {
	if *d == 0 {
		*d = 50 * time.Millisecond
	} else if *d < 5*time.Second {
		*d *= 2
	}
	t := time.NewTimer(*d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// fetchLoop fetches work items with fetch and hands each to process until
// ctx ends or the task hub closes, backing off after failed fetches.
func fetchLoop[T any](ctx context.Context, w *Worker, what string, fetch func(context.Context) (*T, error), process func(context.Context, *T)) {
	defer w.wg.Done()
	var backoff time.Duration
	for ctx.Err() == nil {
		wi, err := fetch(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, sp.ErrTaskHubClosed) {
				return
			}
			w.log.Warn("fetching "+what+" work item failed", "error", err)
			if !fetchBackoff(ctx, &backoff) {
				return
			}
			continue
		}
		backoff = 0
		if wi == nil {
			continue
		}
		// The work item is finished even when fetching stops meanwhile.
		process(context.WithoutCancel(ctx), wi)
	}
}

func (w *Worker) orchestrationLoop(ctx context.Context) {
	fetchLoop(ctx, w, "an orchestration", w.hub.LockNextOrchestrationWorkItem, w.processOrchestration)
}

// processOrchestration runs and commits one orchestration work item. The
// work item's lock is renewed from fetch until the task hub has the
// outcome (committed, abandoned or rejected): an episode that schedules
// many thousands of calls can take longer to run and commit than the lock
// lasts, and a lock that runs out lets another worker (or this one) take
// the same messages and redo the episode.
func (w *Worker) processOrchestration(ctx context.Context, wi *sp.OrchestrationWorkItem) {
	lockedUntil := wi.LockedUntil // as fetched; the renewals move it
	lockCtx, stopRenewing := w.renewOrchestration(ctx, wi)
	defer stopRenewing()
	if entitywire.IsEntity(wi.InstanceID) {
		w.processEntity(ctx, wi)
		return
	}
	var cached *execution
	if w.cache != nil {
		cached = w.cache.take(wi.InstanceID)
		if cached != nil && !cached.matchesHistory(wi.History) {
			cached.teardown()
			cached = nil
		}
	}
	res, err := w.safeProcess(wi, cached, w.localRunFor(lockCtx, lockedUntil))
	if err != nil {
		w.log.Error("orchestration work item failed; abandoning it", "instanceId", wi.InstanceID, "error", err)
		w.abandonOrchestration(ctx, wi)
		return
	}
	if res.rejected {
		w.rejectOrchestration(ctx, wi, res.version)
		return
	}
	if res.awaitStart {
		w.log.Info("events for an instance that has not started yet; delivering them again after its start",
			"instanceId", wi.InstanceID, "count", len(wi.NewMessages), "dequeueCount", wi.DequeueCount)
		w.abandonOrchestration(ctx, wi)
		return
	}
	keep := res.exec != nil && w.cache != nil
	res.checkpoint.KeepSession = keep
	if err := w.hub.CompleteOrchestrationWorkItem(ctx, wi, res.checkpoint); err != nil {
		if res.exec != nil {
			res.exec.teardown()
		}
		if errors.Is(err, sp.ErrWorkItemLost) {
			w.log.Info("orchestration work item lost; dropping its session", "instanceId", wi.InstanceID)
			return
		}
		w.log.Error("committing an orchestration work item failed", "instanceId", wi.InstanceID, "error", err)
		w.abandonOrchestration(ctx, wi)
		return
	}
	if res.exec == nil {
		return
	}
	if keep && !w.isStopping() {
		w.cache.put(wi.InstanceID, res.exec)
		return
	}
	res.exec.teardown()
}

// abandonOrchestration hands a work item back to the task hub, with the
// back-off of its delivery count.
func (w *Worker) abandonOrchestration(ctx context.Context, wi *sp.OrchestrationWorkItem) {
	if err := w.hub.AbandonOrchestrationWorkItem(ctx, wi, sp.AbandonBackoff(wi.DequeueCount, maxAbandonDelay)); err != nil {
		w.log.Warn("abandoning an orchestration work item failed", "instanceId", wi.InstanceID, "error", err)
	}
}

// safeProcess runs the processor, turning an engine panic into an error
// so the work item is abandoned instead of the process crashing.
func (w *Worker) safeProcess(wi *sp.OrchestrationWorkItem, cached *execution, local localRun) (res result, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("engine panic processing instance %s: %v", wi.InstanceID, r)
			if s, ok := r.(*stuckSignal); ok {
				err = fmt.Errorf("instance %s: %s", wi.InstanceID, s.failure.ErrorMessage)
			}
			if cached != nil {
				cached.teardown()
			}
		}
	}()
	return w.proc.process(wi, cached, local), nil
}

// renewOrchestration renews the work item's lock in the background until
// the returned function is called. The returned context is cancelled when
// the lock is lost.
func (w *Worker) renewOrchestration(ctx context.Context, wi *sp.OrchestrationWorkItem) (context.Context, func()) {
	lockCtx, lost := context.WithCancel(ctx)
	renew := func(ctx context.Context) error {
		err := w.hub.RenewOrchestrationWorkItem(ctx, wi)
		if err != nil && !errors.Is(err, sp.ErrWorkItemLost) && ctx.Err() == nil {
			w.log.Warn("renewing an orchestration work item's lock failed; retrying", "instanceId", wi.InstanceID, "error", err)
		}
		return err
	}
	stop := renewLoop(ctx, wi.LockedUntil, renew, func() time.Time { return wi.LockedUntil }, lost)
	return lockCtx, func() { stop(); lost() }
}
