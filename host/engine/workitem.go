package engine

import (
	"fmt"
	"log/slog"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/internal/version"
	sp "github.com/funchost/funchost/storageprovider"
)

// maxGenerationsPerWorkItem bounds how many ContinueAsNew generations one
// work item runs; an orchestrator that continues as new without ever
// waiting would otherwise never commit. The next generation is then
// started by a message to itself.
const maxGenerationsPerWorkItem = 100

// maxLocalEpisodes bounds the episodes one work item runs with in-process
// activities, so that a long chain still commits now and then.
const maxLocalEpisodes = 100

// processor turns an orchestration work item into a checkpoint, in four
// stages: triage sorts the messages against the committed history, prepare
// builds (or reuses) the execution, runEpisodes runs the episodes the work
// item allows, and checkpoint renders the result. It holds no state of its
// own between work items: a live execution may be handed in (from the
// session cache) and is handed back.
type processor struct {
	lookup     func(name string) bindings.Orchestrator
	logger     *slog.Logger
	maxDequeue int
	clock      clock
	obs        Observer
	hubName    string
	versioning version.Settings
	lim        limits // the guards' settings
}

// localRun runs activity calls in-process for one work item (see
// Options.LocalActivities). It returns the TaskCompleted/TaskFailed events
// of the calls it ran, in the order they finished, and the calls it did
// not run, which must go through the task hub: its budget is spent, the
// activity is not registered here, the worker is stopping or the work
// item's lock was lost.
type localRun func(acts []*sp.TaskMessage) (results []*sp.HistoryEvent, rest []*sp.TaskMessage)

// result is what processing a work item produced.
type result struct {
	checkpoint *sp.OrchestrationCheckpoint
	// exec is the live execution after the work item (nil when none is
	// left running); the caller caches it or tears it down.
	exec *execution
	// rejected: versioning says this worker may not run the instance
	// (version); the caller abandons the work item (checkpoint is nil).
	rejected bool
	version  string
	// awaitStart: the messages are events for an instance whose start has
	// not been processed yet; the caller abandons the work item so that
	// they are delivered again after the start (checkpoint is nil).
	awaitStart bool
}

// plan is the triage stage's output: what the work item's messages ask of
// the instance.
type plan struct {
	hi historyInfo
	// newStart starts a new execution (normalised), rewind rewinds the
	// Failed one; at most one of them is set.
	newStart *sp.HistoryEvent
	rewind   *sp.HistoryEvent
	// rewindOther is a rewind that reached an instance that did not fail.
	rewindOther bool
	// events are the other events for the execution that runs.
	events []*sp.HistoryEvent
	// rejections answer sub-orchestration starts the instance did not take.
	rejections []*sp.TaskMessage
	// replace: the checkpoint replaces the committed history.
	replace bool
	// versionFail fails the instance without running its code: its
	// version is one this worker may not run (versioning.go).
	versionFail *sp.FailureDetails
}

// runs reports whether the plan runs an execution at all.
func (pl *plan) runs() bool {
	return pl.newStart != nil || pl.rewind != nil || (pl.hi.start != nil && !pl.hi.completed)
}

// output is what the episodes of a work item send, and whether their
// history replaces the committed one.
type output struct {
	acts, timers, outbound []*sp.TaskMessage
	replace                bool
}

// collect moves the messages the execution produced into o.
func (o *output) collect(e *execution) {
	a, t, x := e.takeMessages()
	o.acts, o.timers, o.outbound = append(o.acts, a...), append(o.timers, t...), append(o.outbound, x...)
}

// process runs one work item. cached, when non-nil, is a live execution
// whose history equals wi.History; process owns it from then on. local,
// when non-nil, runs the activity calls of episodes that make nothing but
// activity calls in-process, so that the work item goes on with the next
// episode instead of committing.
func (p *processor) process(wi *sp.OrchestrationWorkItem, cached *execution, local localRun) (res result) {
	var e *execution
	var pl plan
	defer func() {
		// An engine bug must not leave a parked orchestrator goroutine
		// behind: tear the executions down before passing the panic on.
		// A stuck orchestrator on the yield timeout fails its instance.
		if r := recover(); r != nil {
			if e != nil {
				e.teardown()
			}
			if cached != nil {
				cached.teardown()
			}
			if s, ok := r.(*stuckSignal); ok && !s.retry {
				res = result{checkpoint: p.stuckCheckpoint(wi, &pl, s)}
				return
			}
			panic(r)
		}
	}()
	pl = p.triage(wi, cached)
	if !pl.runs() {
		if cached != nil {
			cached.teardown()
		}
		if awaitsStart(wi, &pl) {
			return result{awaitStart: true}
		}
		return result{checkpoint: p.idleCheckpoint(wi, &pl)}
	}
	var reject bool
	if reject, pl.versionFail = p.checkVersion(&pl); reject {
		if cached != nil {
			cached.teardown()
		}
		return result{rejected: true, version: pl.version()}
	}
	e, children := p.prepare(wi, &pl, cached)
	e, out := p.runEpisodes(e, &pl, children, local)
	return p.checkpoint(wi, e, &out)
}

// triage is the first stage: it sorts the messages into a start of a new
// execution, a rewind and ordinary events, dropping stale and unwanted
// ones, and answers the sub-orchestration starts the instance refuses.
func (p *processor) triage(wi *sp.OrchestrationWorkItem, cached *execution) plan {
	var pl plan
	if cached != nil {
		// The caller checked that the live execution is exactly at this
		// history: no need to scan it.
		pl.hi = cached.historyInfo()
	} else {
		pl.hi = inspectHistory(wi.History)
	}
	hi := &pl.hi
	// A start is taken by an instance without (valid) history, a finished
	// one (re-created by a client) and one that continued as new beyond
	// the generation cap.
	acceptsStart := hi.start == nil || (hi.completed && (hi.status.IsTerminal() || hi.status == sp.StatusContinuedAsNew))
	var rest, droppedStarts []*sp.TaskMessage
	for _, m := range wi.NewMessages {
		if m == nil || m.Event == nil {
			continue
		}
		switch ev := m.Event; {
		case ev.EventType == sp.EventExecutionStarted:
			if acceptsStart && pl.newStart == nil && startExecutionID(m) != hi.executionID {
				pl.newStart = normaliseStart(m, p.clock.now())
			} else {
				droppedStarts = append(droppedStarts, m)
			}
		case ev.EventType == sp.EventExecutionRewound:
			if hi.start != nil && hi.completed && (m.Target.ExecutionID == "" || m.Target.ExecutionID == hi.executionID) {
				if hi.status == sp.StatusFailed {
					pl.rewind = ev
				} else {
					pl.rewindOther = true
				}
			}
		default:
			rest = append(rest, m)
		}
	}
	// A sub-orchestration start that loses to the execution holding the
	// instance ID fails the parent's call instead of leaving it waiting.
	holder := hi.start
	if pl.newStart != nil {
		holder = pl.newStart
	}
	pl.rejections = rejectStarts(droppedStarts, holder, wi.InstanceID, p.clock.now(), p.logger)

	execID := hi.executionID
	switch {
	case pl.newStart != nil:
		execID = pl.newStart.OrchestrationInstance.ExecutionID
		pl.replace = len(wi.History) > 0
		pl.rewind = nil
	case pl.rewind != nil:
		pl.replace = true
		return pl // a finished instance takes nothing but the rewind
	}
	for _, m := range rest {
		if m.Target.ExecutionID == "" || m.Target.ExecutionID == execID {
			pl.events = append(pl.events, m.Event) // others are stale
		}
	}
	return pl
}

// maxStartWaitDeliveries bounds how often events for an instance without
// history are delivered again while its start is awaited: with the
// abandon back-off (2^n s) ten deliveries span about 17 minutes, beyond
// the longest control-queue lock (5 minutes by default), after which a
// start message locked by a host that died is visible again.
const maxStartWaitDeliveries = 10

// awaitsStart reports whether the work item holds events, and no start,
// for an instance that has no history yet. A client creates an instance
// (status row and start message) before it can raise an event or
// terminate it, so its start is on the way: normally in the same batch or
// an earlier one, but when the host that had received the start died, the
// start message stays locked until its visibility timeout while the later
// messages are received by the partition's next owner. Dropping them
// would lose an acknowledged raise-event; they are delivered again
// instead, a bounded number of times (a purged instance's late messages
// are dropped in the end).
func awaitsStart(wi *sp.OrchestrationWorkItem, pl *plan) bool {
	return pl.hi.start == nil && len(wi.History) == 0 && pl.newStart == nil && pl.rewind == nil &&
		len(pl.events) > 0 && wi.DequeueCount < maxStartWaitDeliveries
}

// idleCheckpoint is the checkpoint of a work item that runs nothing: its
// messages are for an instance that never started, or for one that has
// finished.
func (p *processor) idleCheckpoint(wi *sp.OrchestrationWorkItem, pl *plan) *sp.OrchestrationCheckpoint {
	hi := pl.hi
	if len(wi.NewMessages) > 0 {
		p.logger.Debug("dropping messages for a missing or finished instance", "instanceId", wi.InstanceID, "count", len(wi.NewMessages))
	}
	cp := &sp.OrchestrationCheckpoint{OutboundMessages: pl.rejections}
	if pl.rewindOther {
		// A parent being rewound sent this to a child that did not fail (it
		// was terminated, or completed after all): the parent dropped the
		// child's outcome from its history and waits for it again, so tell
		// it once more rather than leave it waiting.
		if m := notifyParent(wi.History, hi, wi.InstanceID, p.clock.now()); m != nil {
			cp.OutboundMessages = append(cp.OutboundMessages, m)
		}
	}
	if hi.start != nil && hi.status.IsTerminal() && (wi.State == nil || wi.State.ExecutionID != hi.executionID || wi.State.RuntimeStatus != hi.status) {
		// The status row lags the history: a host that crashed (or failed
		// to write) between committing the final episode's history and
		// writing the status row left it Pending or Running, and the
		// redelivery of its messages is the only chance to repair it.
		cp.State = finishedState(wi, hi, p.clock.now())
	}
	return cp
}

// prepare is the second stage: it builds the execution the plan runs,
// replayed up to the committed history — a fresh one for a new execution,
// one replayed over the rewound history (returning the failed children to
// rewind too), the cached one, or one replayed from history.
func (p *processor) prepare(wi *sp.OrchestrationWorkItem, pl *plan, cached *execution) (e *execution, children []string) {
	defer func() {
		// A new execution is not the caller's to tear down yet.
		if r := recover(); r != nil {
			if e != nil && e != cached {
				e.teardown()
			}
			panic(r)
		}
	}()
	preFail := p.poison(wi)
	if preFail == nil {
		preFail = pl.versionFail
	}
	if cached != nil && (pl.newStart != nil || pl.rewind != nil || preFail != nil) {
		cached.teardown()
		cached = nil
	}
	switch {
	case pl.newStart != nil:
		e = p.newExecution(pl.newStart.Name, wi.InstanceID, preFail)
		if pl.hi.completed && pl.hi.status == sp.StatusContinuedAsNew && wi.State != nil {
			e.inheritCustomStatus(wi.State.CustomStatus) // the generation cap's hand-over
		}
	case pl.rewind != nil:
		var kept []*sp.HistoryEvent
		kept, children = rewindHistory(wi.History)
		e = p.newExecution(pl.hi.start.Name, wi.InstanceID, preFail)
		e.replay(kept)
		e.retrace(pl.rewind, children)
	case cached != nil:
		e = cached
	default:
		e = p.newExecution(pl.hi.start.Name, wi.InstanceID, preFail)
		// A custom status carried over by ContinueAsNew lives only in the
		// status row; start from it so that a replay ends where a cached
		// execution would (the code's own SetCustomStatus calls replay on
		// top of it).
		if wi.State != nil && wi.State.ExecutionID == pl.hi.executionID {
			e.inheritCustomStatus(wi.State.CustomStatus)
		}
		e.replay(wi.History)
	}
	return e, children
}

// poison returns the failure of a work item whose messages keep coming back
// (the orchestrator or the engine crashes on them), so that the instance is
// failed without running its code instead of looping forever; nil
// otherwise.
func (p *processor) poison(wi *sp.OrchestrationWorkItem) *sp.FailureDetails {
	if p.maxDequeue <= 0 || wi.DequeueCount <= p.maxDequeue {
		return nil
	}
	return &sp.FailureDetails{ErrorType: "PoisonMessage", IsNonRetriable: true, ErrorMessage: fmt.Sprintf(
		"the instance's messages were delivered %d times (more than MaxDequeueCount %d) without being processed; the instance was failed to stop the loop",
		wi.DequeueCount, p.maxDequeue)}
}

// runEpisodes is the third stage: the work item's first episode (its new
// events), then the follow-up episodes the same work item runs — those fed
// by in-process activities and the next ContinueAsNew generations. It
// returns the execution that is current at the end.
func (p *processor) runEpisodes(e *execution, pl *plan, children []string, local localRun) (*execution, output) {
	now := p.clock.now()
	e.beginEpisode(now)
	if pl.newStart != nil {
		e.applyNew(pl.newStart)
	}
	if pl.rewind != nil {
		e.applyNew(pl.rewind.Clone())
	}
	for _, ev := range pl.events {
		e.applyNew(ev)
	}
	e.endEpisode(p.clock.now())

	out := output{outbound: pl.rejections, replace: pl.replace}
	for _, child := range children {
		rw := sp.NewExecutionRewoundEvent(now, pl.rewind.Reason)
		rw.ParentTraceContext = e.rewindTrace(child)
		out.outbound = append(out.outbound, &sp.TaskMessage{Target: sp.OrchestrationInstance{InstanceID: child}, Event: rw})
	}
	for gen := 0; ; gen++ {
		p.runLocalEpisodes(e, local, &out)
		if !e.continuedAsNew() {
			return e, out
		}
		// ContinueAsNew: messages for the old execution's activities and
		// timers would be stale; drop them.
		out.acts, out.timers = nil, nil
		out.replace = true
		start := e.nextStart(p.clock.now())
		if gen+1 >= maxGenerationsPerWorkItem || !p.versioning.Allows(start.Version) {
			// Commit this generation as ContinuedAsNew and let a message
			// to self start the next one (whose version, when it changed
			// to one this worker may not run, the next work item checks).
			out.outbound = append(out.outbound, e.handOver(start)...)
			return e, out
		}
		e = p.nextGeneration(e, start)
	}
}

// runLocalEpisodes collects the messages of the episode just run and, while
// it made nothing but activity calls that local runs in-process, runs the
// next episode with their results.
func (p *processor) runLocalEpisodes(e *execution, local localRun, out *output) {
	for i := 0; ; i++ {
		a, t, o := e.takeMessages()
		out.timers, out.outbound = append(out.timers, t...), append(out.outbound, o...)
		if local == nil || e.finished() || len(t) > 0 || len(o) > 0 || len(a) == 0 || i >= maxLocalEpisodes {
			out.acts = append(out.acts, a...)
			return
		}
		results, rest := local(a)
		// Calls not run here keep their TaskScheduled events (already in
		// history) and go through the task hub; their results arrive as
		// messages like those of any queued activity.
		out.acts = append(out.acts, rest...)
		if len(results) == 0 {
			return
		}
		// The results of the calls run here make the next episode.
		e.beginEpisode(p.clock.now())
		for _, r := range results {
			e.applyNew(r)
		}
		e.endEpisode(p.clock.now())
		if len(rest) > 0 {
			// Out of budget (or some calls must be queued): commit now,
			// with whatever this last episode decided.
			out.collect(e)
			return
		}
	}
}

// nextGeneration tears down an execution that continued as new and runs
// the first episode of its successor, which start begins.
func (p *processor) nextGeneration(prev *execution, start *sp.HistoryEvent) *execution {
	carry, custom := prev.carriedOver()
	prev.teardown()
	next := p.newExecution(start.Name, start.OrchestrationInstance.InstanceID, nil)
	next.inheritCustomStatus(custom)
	next.beginEpisode(start.Timestamp)
	next.applyNew(start)
	for _, ev := range carry {
		next.applyNew(ev)
	}
	next.endEpisode(p.clock.now())
	return next
}

// checkpoint is the last stage: it renders the new history, messages and
// status row, and hands the execution back while it still runs.
func (p *processor) checkpoint(wi *sp.OrchestrationWorkItem, e *execution, out *output) result {
	from := len(wi.History)
	if out.replace {
		from = 0
	}
	cp := &sp.OrchestrationCheckpoint{
		NewEvents:        e.cloneEventsFrom(from),
		ReplaceHistory:   out.replace,
		ActivityMessages: out.acts,
		TimerMessages:    out.timers,
		OutboundMessages: out.outbound,
		State:            e.state(p.clock.now()),
	}
	if e.finished() {
		e.teardown()
		return result{checkpoint: cp}
	}
	return result{checkpoint: cp, exec: e}
}

// newExecution prepares an execution of the named orchestrator; with
// preFail set it fails at its ExecutionStarted without running any code.
func (p *processor) newExecution(name, instanceID string, preFail *sp.FailureDetails) *execution {
	e := newExecution(p.lookup(name), p.logger).forInstance(instanceID, preFail)
	e.obs, e.hub = p.obs, p.hubName
	e.defaultVersion = p.versioning.Default
	e.lim = p.lim
	e.armEpisode() // its replay is part of the work item's first episode
	return e
}
