package engine

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"sort"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
)

// ---- completion ----

func (e *execution) completeFromReturn() {
	switch {
	case e.retFailure != nil:
		e.fail(e.retFailure)
	case e.can != nil:
		e.done, e.status, e.output = true, sp.StatusContinuedAsNew, e.can.input
		if e.can.preserveEvents {
			var evs []bufferedEvent
			for _, b := range e.buffered {
				evs = append(evs, b...)
			}
			sort.Slice(evs, func(i, j int) bool { return evs[i].seq < evs[j].seq })
			for _, b := range evs {
				e.carryOver = append(e.carryOver, b.ev)
			}
			e.buffered = map[string][]bufferedEvent{}
		}
	default:
		e.done, e.status, e.output = true, sp.StatusCompleted, e.retJSON
	}
}

func (e *execution) fail(fd *sp.FailureDetails) {
	e.done, e.status, e.failure = true, sp.StatusFailed, fd
	msg, _ := json.Marshal(fmt.Sprintf("Orchestrator function '%s' failed: %s", e.name, fd.ErrorMessage))
	e.output = string(msg)
}

func (e *execution) terminate(ev *sp.HistoryEvent) {
	e.done, e.status, e.output, e.failure = true, sp.StatusTerminated, ev.Input, nil
	e.can = nil
	e.carryOver = nil
	e.unmatched = map[int]*action{}
	e.teardown()
}

// ---- end of an episode ----

// endEpisode turns the unmatched decisions into history events and
// messages, appends the completion events when the orchestrator finished,
// and closes the episode with OrchestratorCompleted stamped completedAt
// (not for ContinueAsNew, whose history is replaced anyway).
func (e *execution) endEpisode(completedAt time.Time) {
	e.armed = false
	e.failIfRefused()
	e.recordDecisions()
	e.emitEpisodeEnd()
	if e.done {
		e.appendCompletion()
		if e.status == sp.StatusContinuedAsNew {
			return
		}
	}
	e.history = append(e.history, sp.NewOrchestratorCompletedEvent(completedAt))
}

// recordDecisions records the unmatched decisions in the order the code
// made them. While the execution runs on, it stops at the first activity
// call beyond the open-call bound (limits.maxOpenCalls): that call and
// every later decision stay unmatched, to be recorded at the end of a
// later episode, once completions have made room. Recording a prefix
// keeps history's scheduling events in the order of their IDs; replay
// matches them by ID whichever episode recorded them. An execution that
// ends now records everything (its calls are sent, as fire-and-forget
// calls are).
func (e *execution) recordDecisions() {
	target := sp.OrchestrationInstance{InstanceID: e.instanceID, ExecutionID: e.executionID}
	room := math.MaxInt
	if e.lim.maxOpenCalls > 0 {
		room = max(e.lim.maxOpenCalls-e.openCalls, 0)
	}
	// Every id below recordFrom is recorded or matched, and every
	// decision takes an id below nextID.
	for id := e.recordFrom; id < e.nextID && len(e.unmatched) > 0; id++ {
		a, ok := e.unmatched[id]
		if !ok {
			continue
		}
		if a.kind == kindActivity && !e.done {
			if room == 0 {
				e.recordFrom = id
				return
			}
			room--
		}
		e.record(a, target)
		delete(e.unmatched, id)
	}
	e.recordFrom = e.nextID
}

// record appends the scheduling event of a new decision to history and
// queues the message that carries it out (see docs/replay.md).
func (e *execution) record(a *action, target sp.OrchestrationInstance) {
	var ev *sp.HistoryEvent
	if e.obs != nil {
		e.emitScheduled(a, false)
	}
	switch a.kind {
	case kindActivity:
		ev = sp.NewTaskScheduledEvent(e.now, a.id, a.name, a.version, a.input)
		ev.Tags = a.tags
		ev.ParentTraceContext = e.childTrace()
		e.activityMsgs = append(e.activityMsgs, &sp.TaskMessage{Event: ev.Clone(), Target: target})
	case kindTimer:
		ev = sp.NewTimerCreatedEvent(e.now, a.id, a.fireAt)
		ev.Tags = a.tags
		e.timerMsgs = append(e.timerMsgs, &sp.TaskMessage{Event: sp.NewTimerFiredEvent(e.now, a.id, a.fireAt), Target: target})
	case kindSubOrchestration:
		ev = sp.NewSubOrchestrationInstanceCreatedEvent(e.now, a.id, a.name, a.version, a.instanceID, a.input)
		ev.Tags = a.tags
		parent := target
		child := sp.OrchestrationInstance{InstanceID: a.instanceID, ExecutionID: newExecutionID()}
		start := sp.NewExecutionStartedEvent(e.now, child, a.name, a.version, a.input)
		start.ParentInstance = &sp.ParentInstance{Name: e.name, Version: e.started.Version, OrchestrationInstance: &parent, TaskScheduleID: a.id}
		ev.ParentTraceContext = e.childTrace()
		start.ParentTraceContext = ev.ParentTraceContext.Clone()
		e.outboundMsgs = append(e.outboundMsgs, &sp.TaskMessage{Target: child, Event: start})
	case kindSendEvent:
		ev = sp.NewEventSentEvent(e.now, a.id, a.instanceID, a.name, a.input)
		raised := sp.NewEventRaisedEvent(e.now, a.name, a.input)
		if !isEntityInstance(a.instanceID) {
			raised.ParentTraceContext = e.ownTrace()
		}
		e.outboundMsgs = append(e.outboundMsgs, &sp.TaskMessage{Target: sp.OrchestrationInstance{InstanceID: a.instanceID}, Event: raised})
	}
	e.markScheduled(a, ev)
	e.history = append(e.history, ev)
}

// markScheduled records that ev, in history, holds decision a.
func (e *execution) markScheduled(a *action, ev *sp.HistoryEvent) {
	a.scheduled = ev
	if a.kind == kindActivity && a.task != nil && !a.task.done {
		e.openCalls++
	}
}

// appendCompletion appends the event that ends the execution and tells
// the parent, if any, how it ended.
func (e *execution) appendCompletion() {
	id := e.nextID
	if e.status == sp.StatusContinuedAsNew {
		e.history = append(e.history, sp.NewContinueAsNewEvent(e.now, id, e.output))
		return
	}
	e.history = append(e.history, sp.NewExecutionCompletedEvent(e.now, id, e.status, e.output, e.failure))
	e.teardown()
	if e.started == nil || e.started.ParentInstance == nil || e.started.ParentInstance.OrchestrationInstance == nil {
		return
	}
	e.outboundMsgs = append(e.outboundMsgs,
		parentNotice(e.started.ParentInstance, e.status, e.output, e.failure, e.name, e.instanceID, e.now))
}

// takeMessages returns and clears the messages produced so far.
func (e *execution) takeMessages() (acts, timers, outbound []*sp.TaskMessage) {
	acts, timers, outbound = e.activityMsgs, e.timerMsgs, e.outboundMsgs
	e.activityMsgs, e.timerMsgs, e.outboundMsgs = nil, nil, nil
	return
}

// state renders the execution's status row.
func (e *execution) state(now time.Time) *sp.OrchestrationState {
	st := &sp.OrchestrationState{
		InstanceID:      e.instanceID,
		ExecutionID:     e.executionID,
		Name:            e.name,
		RuntimeStatus:   sp.StatusRunning,
		LastUpdatedTime: now,
		CustomStatus:    e.customStatus,
	}
	if s := e.started; s != nil {
		st.Version = s.Version
		st.CreatedTime = s.Timestamp
		st.Input = s.Input
		st.Generation = s.Generation
		if s.ScheduledStartTime != nil {
			st.ScheduledStartTime = *s.ScheduledStartTime
		}
		st.Tags = maps.Clone(s.Tags)
	}
	switch {
	case e.done:
		st.RuntimeStatus = e.status
		st.Output = e.output
		if e.failure != nil {
			fd := *e.failure
			st.FailureDetails = &fd
		}
		if e.status.IsTerminal() {
			st.CompletedTime = now
		}
	case e.suspended:
		st.RuntimeStatus = sp.StatusSuspended
	}
	return st
}

// parentNotice is the message that tells a finished sub-orchestration's
// parent how it ended: SubOrchestrationInstanceCompleted with the output,
// or SubOrchestrationInstanceFailed with fd (nil for a terminated child,
// which reports terminatedFailure).
func parentNotice(pi *sp.ParentInstance, status sp.OrchestrationStatus, output string, fd *sp.FailureDetails, name, instanceID string, now time.Time) *sp.TaskMessage {
	msg := &sp.TaskMessage{Target: *pi.OrchestrationInstance}
	if status == sp.StatusCompleted {
		msg.Event = sp.NewSubOrchestrationInstanceCompletedEvent(now, pi.TaskScheduleID, output)
		return msg
	}
	if fd == nil { // terminated
		fd = terminatedFailure(name, instanceID, output)
	}
	msg.Event = sp.NewSubOrchestrationInstanceFailedEvent(now, pi.TaskScheduleID, fd)
	return msg
}

// terminatedFailure is what a terminated sub-orchestration reports to its
// parent; output is the terminate reason as JSON.
func terminatedFailure(name, instanceID, output string) *sp.FailureDetails {
	var reason string
	if err := json.Unmarshal([]byte(output), &reason); err != nil {
		reason = output
	}
	return &sp.FailureDetails{ErrorType: "Terminated", ErrorMessage: fmt.Sprintf("orchestration '%s' (instance %s) was terminated: %s", name, instanceID, reason)}
}
