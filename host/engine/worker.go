package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/funchost/funchost/bindings"
	sp "github.com/funchost/funchost/storageprovider"
)

// nowFunc is the engine's clock (a variable so tests could pin it).
var nowFunc = time.Now

// Registry holds the orchestrator and activity functions a Worker runs, by
// function name. Names are matched exactly first, then case-insensitively,
// as Azure Functions treats function names.
type Registry struct {
	Orchestrators map[string]bindings.Orchestrator
	Activities    map[string]bindings.Activity
}

func lookupFold[T any](m map[string]T, name string) (T, bool) {
	if v, ok := m[name]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	var zero T
	return zero, false
}

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
	// Logger receives the engine's logs and, through
	// OrchestrationContext.Logger, the orchestrators' (default: discard).
	Logger *slog.Logger
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
	w := &Worker{hub: hub, reg: reg, opts: opts, log: log, stopping: make(chan struct{}),
		slots: make(chan struct{}, opts.MaxConcurrentActivities)}
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
	}
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

// processOrchestration runs and commits one orchestration work item.
func (w *Worker) processOrchestration(ctx context.Context, wi *sp.OrchestrationWorkItem) {
	var cached *execution
	if w.cache != nil {
		cached = w.cache.take(wi.InstanceID)
		if cached != nil && !sessionMatches(cached, wi.History) {
			cached.teardown()
			cached = nil
		}
	}
	var stopRenew func()
	var local localRun
	if w.opts.LocalActivities {
		// In-process activities can keep the work item busy for long: renew
		// its lock meanwhile, and stop starting activities once it is lost.
		b := w.newLocalBudget(wi) // before the renewals move LockedUntil
		var lockCtx context.Context
		lockCtx, stopRenew = w.renewOrchestration(ctx, wi)
		local = func(acts []*sp.TaskMessage) ([]*sp.HistoryEvent, []*sp.TaskMessage) {
			return w.runLocalActivities(lockCtx, &b, acts)
		}
	}
	res, err := w.safeProcess(wi, cached, local)
	if stopRenew != nil {
		stopRenew()
	}
	if err != nil {
		w.log.Error("orchestration work item failed; abandoning it", "instanceId", wi.InstanceID, "error", err)
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

// sessionMatches reports whether a cached execution is exactly at the
// committed history the work item brings.
func sessionMatches(e *execution, hist []*sp.HistoryEvent) bool {
	if len(e.history) != len(hist) || e.done {
		return false
	}
	for _, ev := range hist {
		if ev.EventType == sp.EventExecutionStarted {
			return ev.OrchestrationInstance != nil && ev.OrchestrationInstance.ExecutionID == e.executionID
		}
	}
	return false
}

// safeProcess runs the processor, turning an engine panic into an error
// so the work item is abandoned instead of the process crashing.
func (w *Worker) safeProcess(wi *sp.OrchestrationWorkItem, cached *execution, local localRun) (res result, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("engine panic processing instance %s: %v", wi.InstanceID, r)
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
	stop := renewLoop(ctx, wi.LockedUntil, func(ctx context.Context) error { return w.hub.RenewOrchestrationWorkItem(ctx, wi) },
		func() time.Time { return wi.LockedUntil }, lost)
	return lockCtx, func() { stop(); lost() }
}

// renewLoop calls renew at half the remaining lock time (clamped to
// 100 ms–30 s) until stopped. A failed renewal is retried at the next
// round; lost is called, and the loop ends, when the task hub says the
// lock is lost or the lock has expired without a successful renewal.
func renewLoop(ctx context.Context, lockedUntil time.Time, renew func(context.Context) error, until func() time.Time, lost func()) func() {
	if lockedUntil.IsZero() {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			d := time.Until(until()) / 2
			if d < 100*time.Millisecond {
				d = 100 * time.Millisecond
			} else if d > 30*time.Second {
				d = 30 * time.Second
			}
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			err := renew(ctx)
			if err == nil || ctx.Err() != nil {
				continue
			}
			if errors.Is(err, sp.ErrWorkItemLost) || time.Now().After(until()) {
				if lost != nil {
					lost()
				}
				return
			}
		}
	}()
	return func() { cancel(); <-done }
}

// localBudget is what one orchestration work item may still run
// in-process.
type localBudget struct {
	left     int       // activity calls
	deadline time.Time // for starting them
}

// newLocalBudget returns a fresh work item's in-process budget.
func (w *Worker) newLocalBudget(wi *sp.OrchestrationWorkItem) localBudget {
	d := w.opts.MaxLocalActivityTime
	if d <= 0 {
		d = defaultLocalActivityTime
		if !wi.LockedUntil.IsZero() {
			d = time.Until(wi.LockedUntil) / 2
		}
	}
	return localBudget{left: w.opts.MaxLocalActivities, deadline: time.Now().Add(d)}
}

// acquireSlot takes a slot of the worker-wide activity semaphore; it
// returns false, without a slot, when stop is closed first.
func (w *Worker) acquireSlot(stop <-chan struct{}) bool {
	select {
	case w.slots <- struct{}{}:
		return true
	case <-stop:
		return false
	}
}

func (w *Worker) releaseSlot() { <-w.slots }

// runLocalActivities runs activity calls of one episode in-process (see
// Options.LocalActivities), each holding a slot of the worker-wide
// activity semaphore, so that at most MaxConcurrentActivities activities
// run at once on the worker however many calls the episode made. It
// stops starting calls when the budget is spent, the worker is stopping
// or the work item's lock is lost (lockCtx); it waits for those it
// started. Calls of activities not registered here, calls it did not
// start and calls that failed during shutdown (the failure may be due to
// it) are returned in rest for the task hub.
func (w *Worker) runLocalActivities(lockCtx context.Context, b *localBudget, msgs []*sp.TaskMessage) (results []*sp.HistoryEvent, rest []*sp.TaskMessage) {
	out := make([]*sp.HistoryEvent, len(msgs))
	var deadline *time.Timer // made only when a slot must be waited for
	defer func() {
		if deadline != nil {
			deadline.Stop()
		}
	}()
	expired := false
	ended := func() bool {
		return expired || w.isStopping() || lockCtx.Err() != nil || !time.Now().Before(b.deadline)
	}
	acquire := func() bool {
		select {
		case w.slots <- struct{}{}:
			return true
		default:
		}
		if deadline == nil {
			deadline = time.NewTimer(time.Until(b.deadline))
		}
		select {
		case w.slots <- struct{}{}:
			return true
		case <-deadline.C:
			expired = true
		case <-w.stopping:
		case <-lockCtx.Done():
		}
		return false
	}
	// order records the calls in the order they finished: their results
	// are applied in that order, so a WhenAny over them sees the first to
	// finish, as it would with queued calls.
	var mu sync.Mutex
	order := make([]int, 0, len(msgs))
	finished := func(i int) {
		mu.Lock()
		order = append(order, i)
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for i, m := range msgs {
		if b.left <= 0 || ended() {
			break
		}
		act, ok := lookupFold(w.reg.Activities, m.Event.Name)
		if !ok {
			continue
		}
		if !acquire() {
			break
		}
		if ended() { // both were ready: the end wins
			w.releaseSlot()
			break
		}
		b.left--
		if len(msgs) == 1 {
			// A sequence's single call: no goroutine needed.
			out[i] = runActivity(w.actCtx, act, m)
			finished(i)
			w.releaseSlot()
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer w.releaseSlot()
			out[i] = runActivity(w.actCtx, act, m)
			finished(i)
		}()
	}
	wg.Wait()
	shutdown := w.actCtx.Err() != nil
	for i, r := range out {
		if r == nil || (shutdown && r.EventType == sp.EventTaskFailed) {
			rest = append(rest, msgs[i])
		}
	}
	for _, i := range order {
		if r := out[i]; !shutdown || r.EventType != sp.EventTaskFailed {
			results = append(results, r)
		}
	}
	return results, rest
}

func (w *Worker) activityLoop(ctx context.Context) {
	fetchLoop(ctx, w, "an activity", w.hub.LockNextActivityWorkItem, w.processActivity)
}

// processActivity runs one activity work item: it waits for a slot of the
// worker-wide activity semaphore (renewing the item's lock meanwhile), runs
// the activity and completes the item with the result.
func (w *Worker) processActivity(ctx context.Context, wi *sp.ActivityWorkItem) {
	msg := wi.Message
	if msg == nil || msg.Event == nil || msg.Event.EventType != sp.EventTaskScheduled {
		w.log.Error("dropping a malformed activity work item")
		_ = w.hub.CompleteActivityWorkItem(ctx, wi, nil)
		return
	}
	var res *sp.HistoryEvent
	if max := w.opts.MaxDequeueCount; max > 0 && wi.DequeueCount > max {
		res = taskFailed(msg.Event, &sp.FailureDetails{ErrorType: "PoisonMessage", IsNonRetriable: true, ErrorMessage: fmt.Sprintf(
			"activity '%s' was delivered %d times (more than MaxDequeueCount %d) without completing", msg.Event.Name, wi.DequeueCount, max)})
	} else {
		act, _ := lookupFold(w.reg.Activities, msg.Event.Name)
		stopRenew := renewLoop(ctx, wi.LockedUntil, func(ctx context.Context) error { return w.hub.RenewActivityWorkItem(ctx, wi) },
			func() time.Time { return wi.LockedUntil }, nil)
		if !w.acquireSlot(w.stopping) {
			stopRenew()
			// Stopping before it could run: leave it to the next worker.
			if err := w.hub.AbandonActivityWorkItem(ctx, wi, 0); err != nil {
				w.log.Warn("abandoning an activity work item failed", "activity", msg.Event.Name, "error", err)
			}
			return
		}
		res = runActivity(w.actCtx, act, msg)
		w.releaseSlot()
		stopRenew()
		if res.EventType == sp.EventTaskFailed && w.actCtx.Err() != nil {
			// Failed during shutdown: run it again later rather than
			// report a failure the shutdown caused.
			if err := w.hub.AbandonActivityWorkItem(ctx, wi, 0); err != nil {
				w.log.Warn("abandoning an activity work item failed", "activity", msg.Event.Name, "error", err)
			}
			return
		}
	}
	out := &sp.TaskMessage{Event: res, Target: msg.Target}
	if err := w.hub.CompleteActivityWorkItem(ctx, wi, out); err != nil {
		w.log.Warn("completing an activity work item failed", "activity", msg.Event.Name, "instanceId", msg.Target.InstanceID, "error", err)
	}
}
