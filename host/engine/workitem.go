package engine

import (
	"fmt"
	"log/slog"
	"maps"
	"time"

	"github.com/funchost/funchost/bindings"
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

// processor turns an orchestration work item into a checkpoint. It holds
// no state of its own between work items: a live execution may be handed
// in (from the session cache) and is handed back.
type processor struct {
	lookup     func(name string) bindings.Orchestrator
	logger     *slog.Logger
	maxDequeue int
	clock      func() time.Time
}

// localRun runs activity calls in-process for one work item (see
// Options.LocalActivities). It returns the TaskCompleted/TaskFailed events
// of the calls it ran, in the order they finished, and the calls it did not run,
// which must go through the task hub: its budget is spent, the activity is
// not registered here, the worker is stopping or the work item's lock was
// lost.
type localRun func(acts []*sp.TaskMessage) (results []*sp.HistoryEvent, rest []*sp.TaskMessage)

func (p *processor) now() time.Time {
	if p.clock != nil {
		return truncateTicks(p.clock())
	}
	return truncateTicks(time.Now())
}

// historyInfo summarises a committed history.
type historyInfo struct {
	start       *sp.HistoryEvent
	executionID string
	completed   bool
	status      sp.OrchestrationStatus
	end         *sp.HistoryEvent // the event that set completed and status
}

func inspectHistory(hist []*sp.HistoryEvent) historyInfo {
	var hi historyInfo
	for _, ev := range hist {
		switch ev.EventType {
		case sp.EventExecutionStarted:
			if hi.start == nil {
				hi.start = ev
				if ev.OrchestrationInstance != nil {
					hi.executionID = ev.OrchestrationInstance.ExecutionID
				}
			}
		case sp.EventExecutionCompleted, sp.EventContinueAsNew:
			// A Terminated completion overrides an earlier ContinueAsNew;
			// other later completions are ignored (§7.8).
			if !hi.completed || (hi.status == sp.StatusContinuedAsNew && ev.OrchestrationStatus == sp.StatusTerminated) {
				hi.completed, hi.status, hi.end = true, ev.OrchestrationStatus, ev
				if ev.EventType == sp.EventContinueAsNew {
					hi.status = sp.StatusContinuedAsNew
				}
			}
		}
	}
	return hi
}

// result is what processing a work item produced.
type result struct {
	checkpoint *sp.OrchestrationCheckpoint
	// exec is the live execution after the work item (nil when none is
	// left running); the caller caches it or tears it down.
	exec *execution
}

// process runs one work item. cached, when non-nil, is a live execution
// whose history equals wi.History; process owns it from then on. local,
// when non-nil, runs the activity calls of episodes that make nothing but
// activity calls in-process, so that the work item goes on with the next
// episode instead of committing.
func (p *processor) process(wi *sp.OrchestrationWorkItem, cached *execution, local localRun) (res result) {
	var e *execution
	defer func() {
		// An engine bug must not leave a parked orchestrator goroutine
		// behind: tear the executions down before passing the panic on.
		if r := recover(); r != nil {
			if e != nil {
				e.teardown()
			}
			if cached != nil {
				cached.teardown()
			}
			panic(r)
		}
	}()
	hist := wi.History
	var hi historyInfo
	if cached != nil {
		// The caller checked that the live execution is exactly at this
		// history: no need to scan it.
		hi = historyInfo{start: cached.started, executionID: cached.executionID}
	} else {
		hi = inspectHistory(hist)
	}
	// A start is taken by an instance without (valid) history, a finished
	// one (re-created by a client) and one that continued as new beyond
	// the generation cap.
	acceptsStart := hi.start == nil || (hi.completed && (hi.status.IsTerminal() || hi.status == sp.StatusContinuedAsNew))

	// Sort the messages: a start of a new execution, a rewind, ordinary
	// events; stale and unwanted ones are dropped.
	var newStart *sp.HistoryEvent
	var rewind *sp.HistoryEvent
	var rest, droppedStarts []*sp.TaskMessage
	rewindOther := false // a rewind of an instance that did not fail
	for _, m := range wi.NewMessages {
		if m == nil || m.Event == nil {
			continue
		}
		ev := m.Event
		switch {
		case ev.EventType == sp.EventExecutionStarted:
			if acceptsStart && newStart == nil && startExecutionID(m) != hi.executionID {
				newStart = normaliseStart(m, p.now())
			} else {
				droppedStarts = append(droppedStarts, m)
			}
		case ev.EventType == sp.EventExecutionRewound:
			if hi.start != nil && hi.completed && (m.Target.ExecutionID == "" || m.Target.ExecutionID == hi.executionID) {
				if hi.status == sp.StatusFailed {
					rewind = ev
				} else {
					rewindOther = true
				}
			}
		default:
			rest = append(rest, m)
		}
	}
	// A sub-orchestration start that loses to the execution holding the
	// instance ID fails the parent's call instead of leaving it waiting.
	holder := hi.start
	if newStart != nil {
		holder = newStart
	}
	rejections := rejectStarts(droppedStarts, holder, wi.InstanceID, p.now(), p.logger)

	execID := hi.executionID
	replace := false
	switch {
	case newStart != nil:
		execID = newStart.OrchestrationInstance.ExecutionID
		replace = len(hist) > 0
		rewind = nil
	case rewind != nil:
		replace = true
	case hi.start == nil || hi.completed:
		// Nothing to run: messages for an instance that never started, or
		// for one that has finished.
		if cached != nil {
			cached.teardown()
		}
		if len(wi.NewMessages) > 0 {
			p.logger.Debug("dropping messages for a missing or finished instance", "instanceId", wi.InstanceID, "count", len(wi.NewMessages))
		}
		cp := &sp.OrchestrationCheckpoint{OutboundMessages: rejections}
		if rewindOther {
			// A parent being rewound sent this to a child that did not fail
			// (it was terminated, or completed after all): the parent
			// dropped the child's outcome from its history and waits for
			// it again, so tell it once more rather than leave it waiting.
			if m := notifyParent(hist, hi, wi.InstanceID, p.now()); m != nil {
				cp.OutboundMessages = append(cp.OutboundMessages, m)
			}
		}
		if hi.start != nil && hi.status.IsTerminal() && (wi.State == nil || wi.State.ExecutionID != hi.executionID || wi.State.RuntimeStatus != hi.status) {
			// The status row lags the history: a host that crashed (or
			// failed to write) between committing the final episode's
			// history and writing the status row left it Pending or
			// Running, and the redelivery of its messages is the only
			// chance to repair it.
			cp.State = finishedState(wi, hi, p.now())
		}
		return result{checkpoint: cp}
	}
	var events []*sp.HistoryEvent
	for _, m := range rest {
		if m.Target.ExecutionID != "" && m.Target.ExecutionID != execID {
			continue // stale: for another execution
		}
		if rewind != nil {
			continue // a finished instance takes nothing but the rewind
		}
		events = append(events, m.Event)
	}

	// Build or reuse the execution.
	var children []string
	now := p.now()
	var preFail *sp.FailureDetails
	if p.maxDequeue > 0 && wi.DequeueCount > p.maxDequeue {
		// Poison: the messages keep coming back (the orchestrator or the
		// engine crashes on them). Fail the instance without running its
		// code, instead of looping forever.
		preFail = &sp.FailureDetails{ErrorType: "PoisonMessage", ErrorMessage: fmt.Sprintf(
			"the instance's messages were delivered %d times (more than MaxDequeueCount %d) without being processed; the instance was failed to stop the loop",
			wi.DequeueCount, p.maxDequeue), IsNonRetriable: true}
	}
	if cached != nil && (newStart != nil || rewind != nil || preFail != nil) {
		cached.teardown()
		cached = nil
	}
	switch {
	case newStart != nil:
		e = p.newExecution(newStart.Name, wi.InstanceID, preFail)
		if hi.completed && hi.status == sp.StatusContinuedAsNew && wi.State != nil {
			e.customStatus = wi.State.CustomStatus // the generation cap's hand-over
		}
	case rewind != nil:
		var filtered []*sp.HistoryEvent
		filtered, children = rewindHistory(hist)
		e = p.newExecution(hi.start.Name, wi.InstanceID, preFail)
		for _, ev := range filtered {
			e.apply(ev, true)
		}
	case cached != nil:
		e = cached
	default:
		e = p.newExecution(hi.start.Name, wi.InstanceID, preFail)
		// A custom status carried over by ContinueAsNew lives only in the
		// status row; start from it so that a replay ends where a cached
		// execution would (the code's own SetCustomStatus calls replay on
		// top of it).
		if wi.State != nil && wi.State.ExecutionID == hi.executionID {
			e.customStatus = wi.State.CustomStatus
		}
		for _, ev := range hist {
			e.apply(ev, true)
		}
	}

	// The episode.
	e.apply(&sp.HistoryEvent{EventType: sp.EventOrchestratorStarted, EventID: -1, Timestamp: now}, false)
	if newStart != nil {
		e.apply(newStart, false)
	}
	if rewind != nil {
		e.apply(rewind.Clone(), false)
	}
	for _, ev := range events {
		e.apply(ev, false)
	}
	e.endEpisode()

	var acts, timers []*sp.TaskMessage
	outbound := rejections
	for _, child := range children {
		outbound = append(outbound, &sp.TaskMessage{Target: sp.OrchestrationInstance{InstanceID: child},
			Event: &sp.HistoryEvent{EventType: sp.EventExecutionRewound, EventID: -1, Timestamp: now, Reason: rewind.Reason}})
	}
	e, replace, acts, timers, outbound = p.continueRunning(e, local, replace, acts, timers, outbound)

	cp := &sp.OrchestrationCheckpoint{ReplaceHistory: replace, ActivityMessages: acts, TimerMessages: timers, OutboundMessages: outbound}
	newEvents := e.history
	if !replace {
		newEvents = e.history[len(hist):]
	}
	cp.NewEvents = make([]*sp.HistoryEvent, len(newEvents))
	for i, ev := range newEvents {
		cp.NewEvents[i] = ev.Clone()
	}
	cp.State = e.state(p.now())
	if e.done {
		e.teardown()
		return result{checkpoint: cp}
	}
	return result{checkpoint: cp, exec: e}
}

// continueRunning runs follow-up episodes inside the same work item: the
// in-process activity loop and ContinueAsNew generations.
func (p *processor) continueRunning(e *execution, local localRun, replace bool, acts, timers, outbound []*sp.TaskMessage) (*execution, bool, []*sp.TaskMessage, []*sp.TaskMessage, []*sp.TaskMessage) {
	for gen := 0; ; gen++ {
		for i := 0; ; i++ {
			a, t, o := e.takeMessages()
			timers, outbound = append(timers, t...), append(outbound, o...)
			if local == nil || e.done || len(t) > 0 || len(o) > 0 || len(a) == 0 || i >= maxLocalEpisodes {
				acts = append(acts, a...)
				break
			}
			results, rest := local(a)
			// Calls not run here keep their TaskScheduled events (already
			// in history) and go through the task hub; their results
			// arrive as messages like those of any queued activity.
			acts = append(acts, rest...)
			if len(results) == 0 {
				break
			}
			// The results of the calls run here make the next episode.
			e.apply(&sp.HistoryEvent{EventType: sp.EventOrchestratorStarted, EventID: -1, Timestamp: p.now()}, false)
			for _, r := range results {
				e.apply(r, false)
			}
			e.endEpisode()
			if len(rest) > 0 {
				// Out of budget (or some calls must be queued): commit
				// now, with whatever this last episode decided.
				a, t, o := e.takeMessages()
				acts, timers, outbound = append(acts, a...), append(timers, t...), append(outbound, o...)
				break
			}
		}
		if !e.done || e.status != sp.StatusContinuedAsNew {
			return e, replace, acts, timers, outbound
		}
		// ContinueAsNew: messages for the old execution's activities and
		// timers would be stale; drop them.
		acts, timers = nil, nil
		start := &sp.HistoryEvent{EventType: sp.EventExecutionStarted, EventID: -1, Timestamp: p.now(),
			Name: e.name, Version: e.started.Version, Input: e.output,
			OrchestrationInstance: &sp.OrchestrationInstance{InstanceID: e.instanceID, ExecutionID: newExecutionID()},
			Generation:            e.started.Generation}
		if e.can != nil && e.can.version != "" {
			start.Version = e.can.version
		}
		start.ParentInstance = e.started.ParentInstance
		start.Tags = maps.Clone(e.started.Tags)
		if gen+1 >= maxGenerationsPerWorkItem {
			// Commit this generation as ContinuedAsNew and let a message
			// to self start the next one.
			outbound = append(outbound, &sp.TaskMessage{Event: start, Target: *start.OrchestrationInstance})
			for _, ev := range e.carryOver {
				outbound = append(outbound, &sp.TaskMessage{Event: ev, Target: *start.OrchestrationInstance})
			}
			return e, true, acts, timers, outbound
		}
		carry, custom := e.carryOver, e.customStatus
		e.teardown()
		next := p.newExecution(e.name, e.instanceID, nil)
		next.customStatus = custom
		e = next
		replace = true
		e.apply(&sp.HistoryEvent{EventType: sp.EventOrchestratorStarted, EventID: -1, Timestamp: start.Timestamp}, false)
		e.apply(start, false)
		for _, ev := range carry {
			e.apply(ev, false)
		}
		e.endEpisode()
	}
}

// newExecution prepares an execution of the named orchestrator; with
// preFail set it fails at its ExecutionStarted without running any code.
func (p *processor) newExecution(name, instanceID string, preFail *sp.FailureDetails) *execution {
	e := newExecution(p.lookup(name), p.logger)
	e.instanceID = instanceID
	e.preFail = preFail
	return e
}

// startExecutionID returns the execution a start message begins.
func startExecutionID(m *sp.TaskMessage) string {
	if oi := m.Event.OrchestrationInstance; oi != nil && oi.ExecutionID != "" {
		return oi.ExecutionID
	}
	return m.Target.ExecutionID
}

// normaliseStart copies a start event and fills what a sloppy sender left
// out: the instance, an execution ID, a timestamp.
func normaliseStart(m *sp.TaskMessage, now time.Time) *sp.HistoryEvent {
	ev := m.Event.Clone()
	ev.EventID = -1
	if ev.OrchestrationInstance == nil {
		ev.OrchestrationInstance = &sp.OrchestrationInstance{}
	}
	if ev.OrchestrationInstance.InstanceID == "" {
		ev.OrchestrationInstance.InstanceID = m.Target.InstanceID
	}
	if ev.OrchestrationInstance.ExecutionID == "" {
		ev.OrchestrationInstance.ExecutionID = m.Target.ExecutionID
	}
	if ev.OrchestrationInstance.ExecutionID == "" {
		ev.OrchestrationInstance.ExecutionID = newExecutionID()
	}
	if ev.Timestamp.IsZero() {
		ev.Timestamp = now
	}
	ev.Timestamp = truncateTicks(ev.Timestamp)
	return ev
}

// rewindHistory removes a Failed execution's failures from its history:
// failed activity calls (TaskScheduled and TaskFailed), whole retry chains
// that ended in failure (attempts and retry timers), the
// SubOrchestrationInstanceFailed notices (the children are rewound
// themselves; their SubOrchestrationInstanceCreated events stay, so the
// parent re-attaches to their completion) and the Failed completion. It
// returns the filtered history and the failed children's instance IDs.
//
// Like Durable Functions, it assumes the failures ended the orchestration:
// a failure the orchestrator caught and moved past is re-run too, and the
// decisions it made afterwards then no longer line up with history.
func rewindHistory(hist []*sp.HistoryEvent) ([]*sp.HistoryEvent, []string) {
	failedTasks := map[int]bool{}
	failedSubs := map[int]bool{}
	chainOf := map[int]string{} // action id -> retry chain
	chainOK := map[string]bool{}
	for _, ev := range hist {
		switch ev.EventType {
		case sp.EventTaskScheduled, sp.EventTimerCreated, sp.EventSubOrchestrationInstanceCreated:
			if c, ok := ev.Tags[retryChainTag]; ok {
				chainOf[ev.EventID] = c
			}
		case sp.EventTaskFailed:
			failedTasks[ev.TaskScheduledID] = true
		case sp.EventSubOrchestrationInstanceFailed:
			failedSubs[ev.TaskScheduledID] = true
		}
	}
	for _, ev := range hist {
		if ev.EventType == sp.EventTaskCompleted || ev.EventType == sp.EventSubOrchestrationInstanceCompleted {
			if c, ok := chainOf[ev.TaskScheduledID]; ok {
				chainOK[c] = true
			}
		}
	}
	// A retry chain that ended in success stays as it is; one that
	// failed goes as a whole.
	inFailedChain := func(id int) bool {
		c, ok := chainOf[id]
		return ok && !chainOK[c]
	}
	inOKChain := func(id int) bool {
		c, ok := chainOf[id]
		return ok && chainOK[c]
	}
	var children []string
	out := make([]*sp.HistoryEvent, 0, len(hist))
	for _, ev := range hist {
		switch ev.EventType {
		case sp.EventExecutionCompleted:
			continue
		case sp.EventTaskFailed:
			if !inOKChain(ev.TaskScheduledID) {
				continue
			}
		case sp.EventTaskScheduled:
			if (failedTasks[ev.EventID] && !inOKChain(ev.EventID)) || inFailedChain(ev.EventID) {
				continue
			}
		case sp.EventTimerCreated:
			if inFailedChain(ev.EventID) {
				continue
			}
		case sp.EventTimerFired:
			if inFailedChain(ev.TimerID) {
				continue
			}
		case sp.EventSubOrchestrationInstanceFailed:
			if !inOKChain(ev.TaskScheduledID) {
				continue
			}
		case sp.EventSubOrchestrationInstanceCreated:
			if inFailedChain(ev.EventID) {
				continue
			}
			if failedSubs[ev.EventID] && !inOKChain(ev.EventID) {
				children = append(children, ev.InstanceID)
			}
		}
		out = append(out, ev)
	}
	return out, children
}

// rejectStarts handles the ExecutionStarted messages an instance did not
// take. Redeliveries of the start of the execution holding the ID, and
// starts re-sent by the parent call that started it (an episode re-run
// after a crash before its commit), are duplicates and dropped. A
// sub-orchestration start from any other caller would leave that caller
// waiting forever for a child that never runs: it gets a
// SubOrchestrationInstanceFailed instead, as Durable Functions fails a
// sub-orchestration call whose instance ID is in use.
func rejectStarts(dropped []*sp.TaskMessage, holder *sp.HistoryEvent, instanceID string, now time.Time, log *slog.Logger) []*sp.TaskMessage {
	var out []*sp.TaskMessage
	for _, m := range dropped {
		ev := m.Event
		pi := ev.ParentInstance
		if holder == nil || pi == nil || pi.OrchestrationInstance == nil || pi.OrchestrationInstance.InstanceID == "" ||
			(holder.OrchestrationInstance != nil && startExecutionID(m) == holder.OrchestrationInstance.ExecutionID) ||
			sameParentCall(pi, holder.ParentInstance) {
			log.Debug("dropping duplicate ExecutionStarted", "instanceId", instanceID)
			continue
		}
		fd := &sp.FailureDetails{ErrorType: "OrchestrationAlreadyExists", IsNonRetriable: true, ErrorMessage: fmt.Sprintf(
			"sub-orchestration '%s' cannot start: an orchestration with instance ID '%s' ('%s') is already running",
			ev.Name, instanceID, holder.Name)}
		log.Info("rejecting a sub-orchestration start for a running instance", "instanceId", instanceID,
			"parentInstanceId", pi.OrchestrationInstance.InstanceID)
		out = append(out, &sp.TaskMessage{Target: *pi.OrchestrationInstance, Event: &sp.HistoryEvent{
			EventType: sp.EventSubOrchestrationInstanceFailed, EventID: -1, Timestamp: now,
			TaskScheduledID: pi.TaskScheduleID, Reason: fd.ErrorMessage, FailureDetails: fd}})
	}
	return out
}

// sameParentCall reports whether two ParentInstance records name the same
// call of the same parent execution.
func sameParentCall(a, b *sp.ParentInstance) bool {
	if a == nil || b == nil || a.OrchestrationInstance == nil || b.OrchestrationInstance == nil {
		return false
	}
	return *a.OrchestrationInstance == *b.OrchestrationInstance && a.TaskScheduleID == b.TaskScheduleID
}

// notifyParent rebuilds the completion notice a finished sub-orchestration
// sent its parent, from the child's committed history (nil when it has no
// parent).
func notifyParent(hist []*sp.HistoryEvent, hi historyInfo, instanceID string, now time.Time) *sp.TaskMessage {
	if hi.start == nil || hi.start.ParentInstance == nil || hi.start.ParentInstance.OrchestrationInstance == nil {
		return nil
	}
	var done *sp.HistoryEvent
	for _, ev := range hist {
		if ev.EventType == sp.EventExecutionCompleted && done == nil {
			done = ev
		}
	}
	if done == nil {
		return nil
	}
	return parentNotice(hi.start.ParentInstance, done.OrchestrationStatus, done.Result, done.FailureDetails, hi.start.Name, instanceID, now)
}

// finishedState rebuilds the status row of a finished execution from its
// history. The custom status is not in history: it is kept from the
// work item's State when that is of the same execution.
func finishedState(wi *sp.OrchestrationWorkItem, hi historyInfo, now time.Time) *sp.OrchestrationState {
	s := hi.start
	st := &sp.OrchestrationState{
		InstanceID:      wi.InstanceID,
		ExecutionID:     hi.executionID,
		Name:            s.Name,
		Version:         s.Version,
		RuntimeStatus:   hi.status,
		CreatedTime:     s.Timestamp,
		LastUpdatedTime: now,
		CompletedTime:   now,
		Input:           s.Input,
		Generation:      s.Generation,
	}
	if s.ScheduledStartTime != nil {
		st.ScheduledStartTime = *s.ScheduledStartTime
	}
	if len(s.Tags) > 0 {
		st.Tags = maps.Clone(s.Tags)
	}
	if hi.end != nil {
		st.Output = hi.end.Result
		st.CompletedTime = hi.end.Timestamp
		if hi.end.FailureDetails != nil {
			fd := *hi.end.FailureDetails
			st.FailureDetails = &fd
		}
	}
	if wi.State != nil && wi.State.ExecutionID == hi.executionID {
		st.CustomStatus = wi.State.CustomStatus
	}
	return st
}
