package engine

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/internal/payload"
	sp "github.com/funchost/funchost/storageprovider"
)

// actionKind is the kind of a decision an orchestrator makes.
type actionKind int

const (
	kindActivity actionKind = iota
	kindSubOrchestration
	kindTimer
	kindSendEvent
)

// String names the kind as the orchestrator API call that makes it.
func (k actionKind) String() string {
	switch k {
	case kindActivity:
		return "CallActivity"
	case kindSubOrchestration:
		return "CallSubOrchestrator"
	case kindTimer:
		return "CreateTimer"
	case kindSendEvent:
		return "SendEvent"
	}
	return "unknown"
}

// retryChainTag is the Tags key that marks the TaskScheduled,
// SubOrchestrationInstanceCreated and TimerCreated events of a call made
// with a retry policy; its value is the action id of the first attempt.
// Rewind uses it to drop a failed chain as a whole, so that the call
// replays from its first attempt.
const retryChainTag = "funchost.retryChain"

// action is one decision of the orchestrator, identified by its action id.
type action struct {
	id         int
	kind       actionKind
	name       string // activity, sub-orchestrator or event name; timer marker
	version    string
	input      string
	instanceID string // sub-orchestration ID or SendEvent target
	fireAt     time.Time
	tags       map[string]string // retry chain markers
	task       *task             // nil for SendEvent
}

// describe renders the action as the code asked for it, for
// non-determinism errors.
func (a *action) describe() string {
	switch a.kind {
	case kindTimer:
		return "CreateTimer"
	case kindSubOrchestration:
		return fmt.Sprintf("CallSubOrchestrator %q (instance %q)", a.name, a.instanceID)
	case kindSendEvent:
		return fmt.Sprintf("SendEvent %q to %q", a.name, a.instanceID)
	}
	return fmt.Sprintf("%s %q", a.kind, a.name)
}

// describeEvent renders a scheduling event of history, for
// non-determinism errors.
func describeEvent(ev *sp.HistoryEvent) string {
	switch ev.EventType {
	case sp.EventTimerCreated:
		return "TimerCreated"
	case sp.EventSubOrchestrationInstanceCreated:
		return fmt.Sprintf("SubOrchestrationInstanceCreated %q (instance %q)", ev.Name, ev.InstanceID)
	case sp.EventEventSent:
		return fmt.Sprintf("EventSent %q to %q", ev.Name, ev.InstanceID)
	}
	return fmt.Sprintf("%s %q", ev.EventType, ev.Name)
}

func kindOf(t sp.EventType) actionKind {
	switch t {
	case sp.EventTaskScheduled:
		return kindActivity
	case sp.EventSubOrchestrationInstanceCreated:
		return kindSubOrchestration
	case sp.EventTimerCreated:
		return kindTimer
	}
	return kindSendEvent
}

// continueAsNew is an orchestrator's request to restart.
type continueAsNew struct {
	input          string
	preserveEvents bool   // PreserveUnprocessedEvents
	version        string // the next generation's, "" = unchanged
}

// bufferedEvent is an external event nobody waited for yet.
type bufferedEvent struct {
	seq int
	ev  *sp.HistoryEvent
}

// execution is the replay state of one orchestration execution, including
// the goroutine that runs its orchestrator.
type execution struct {
	orch       bindings.Orchestrator
	baseLogger *slog.Logger

	instanceID  string
	executionID string
	name        string
	started     *sp.HistoryEvent

	// history is every event of the execution so far: the committed
	// history followed by the events of the current work item.
	history []*sp.HistoryEvent

	now         time.Time
	replaying   bool
	nextID      int
	guidCounter int

	// unmatched holds decisions the code made that history has not
	// confirmed yet: at the end of an episode they become new events.
	unmatched map[int]*action
	// open holds decisions that wait for a completion event.
	open map[int]*action

	waiters  map[string][]*task // per lower-cased event name, a stack
	buffered map[string][]bufferedEvent
	eventSeq int

	suspended bool
	held      []*sp.HistoryEvent

	// preFail fails the execution at its ExecutionStarted without running
	// the orchestrator (poison messages).
	preFail *sp.FailureDetails

	customStatus string
	can          *continueAsNew
	// misuse is the first misuse of the context the code made that no
	// Task can report (SendEvent, ContinueAsNew): the orchestration fails
	// with it as soon as the code yields.
	misuse    error
	carryOver []*sp.HistoryEvent

	// Outcome.
	done     bool
	status   sp.OrchestrationStatus
	output   string
	failure  *sp.FailureDetails
	returned bool // the orchestrator function returned
	retOut   any
	retErr   error
	retPanic *sp.FailureDetails

	// Messages produced by the current work item.
	activityMsgs []*sp.TaskMessage
	timerMsgs    []*sp.TaskMessage
	outboundMsgs []*sp.TaskMessage

	// Coroutine hand-off.
	goStarted bool
	exited    bool
	killed    bool
	resumeCh  chan struct{}
	yieldCh   chan struct{}
	awaiting  *task
}

func newExecution(orch bindings.Orchestrator, logger *slog.Logger) *execution {
	if logger == nil {
		logger = slog.New(discardHandler{})
	}
	return &execution{
		orch:       orch,
		baseLogger: logger,
		unmatched:  map[int]*action{},
		open:       map[int]*action{},
		waiters:    map[string][]*task{},
		buffered:   map[string][]bufferedEvent{},
		resumeCh:   make(chan struct{}),
		yieldCh:    make(chan struct{}),
	}
}

// ---- coroutine hand-off ----

// run lets the orchestrator goroutine run until it awaits an incomplete
// task or returns. Only the engine side calls it.
func (e *execution) run() {
	if e.exited {
		return
	}
	e.resumeCh <- struct{}{}
	<-e.yieldCh
	if e.misuse != nil && !e.done {
		e.failMisuse()
		return
	}
	if e.returned && !e.done {
		e.completeFromReturn()
	}
}

// await is called on the orchestrator goroutine: it hands control back to
// the engine until t completes, and leaves through runtime.Goexit when the
// execution is torn down meanwhile.
func (e *execution) await(t *task) bool {
	for !t.done {
		if e.killed {
			// Await from a deferred call while the execution is being torn
			// down: the engine no longer listens, so do not block.
			return false
		}
		e.awaiting = t
		e.yieldCh <- struct{}{}
		<-e.resumeCh
		if e.killed {
			runtime.Goexit()
		}
	}
	e.awaiting = nil
	return true
}

// main is the orchestrator goroutine.
func (e *execution) main(ctx *orchestrationContext) {
	defer func() {
		if r := recover(); r != nil {
			e.returned = true
			e.retPanic = &sp.FailureDetails{ErrorType: "panic", ErrorMessage: fmt.Sprint(r), StackTrace: string(debug.Stack())}
		}
		e.exited = true
		e.awaiting = nil
		e.yieldCh <- struct{}{}
	}()
	<-e.resumeCh
	if e.killed {
		return
	}
	out, err := e.orch(ctx)
	e.returned, e.retOut, e.retErr = true, out, err
}

// start launches the orchestrator goroutine and runs it to its first
// await.
func (e *execution) start() {
	if e.goStarted {
		return
	}
	e.goStarted = true
	go e.main(&orchestrationContext{e: e})
	e.run()
}

// teardown ends a parked orchestrator goroutine. It is idempotent.
func (e *execution) teardown() {
	if !e.goStarted || e.exited {
		return
	}
	e.killed = true
	e.resumeCh <- struct{}{}
	<-e.yieldCh
}

// resumeIfReady runs the orchestrator when the task it awaits completed.
func (e *execution) resumeIfReady() {
	for !e.done && e.awaiting != nil && e.awaiting.done {
		e.run()
	}
}

// ---- decisions made by the code ----

func (e *execution) schedule(a *action) *action {
	a.id = e.nextID
	e.nextID++
	if a.kind != kindSendEvent {
		a.task = e.newTask()
		e.open[a.id] = a
	}
	e.unmatched[a.id] = a
	return a
}

func (e *execution) scheduleTimer(fireAt time.Time, tags map[string]string) *task {
	return e.schedule(&action{kind: kindTimer, fireAt: truncateTicks(fireAt), tags: tags}).task
}

// ---- history events ----

// apply processes one history event. replaying says whether it comes from
// committed history.
func (e *execution) apply(ev *sp.HistoryEvent, replaying bool) {
	e.history = append(e.history, ev)
	e.replaying = replaying
	if e.done {
		e.applyAfterCompletion(ev)
		return
	}
	if e.suspended {
		switch ev.EventType {
		case sp.EventExecutionResumed, sp.EventExecutionTerminated, sp.EventOrchestratorStarted, sp.EventOrchestratorCompleted:
		default:
			e.held = append(e.held, ev)
			return
		}
	}
	e.dispatch(ev)
}

func (e *execution) dispatch(ev *sp.HistoryEvent) {
	switch ev.EventType {
	case sp.EventOrchestratorStarted:
		e.now = truncateTicks(ev.Timestamp)
	case sp.EventExecutionStarted:
		if e.started != nil {
			return // duplicate start
		}
		e.started = ev
		e.name = ev.Name
		if ev.OrchestrationInstance != nil {
			e.instanceID = ev.OrchestrationInstance.InstanceID
			e.executionID = ev.OrchestrationInstance.ExecutionID
		}
		if e.preFail != nil {
			e.fail(e.preFail)
			return
		}
		if e.orch == nil {
			e.fail(&sp.FailureDetails{ErrorType: "OrchestratorNotFound",
				ErrorMessage: fmt.Sprintf("orchestrator function '%s' is not registered with this worker", ev.Name)})
			return
		}
		e.start()
	case sp.EventTaskScheduled, sp.EventTimerCreated, sp.EventSubOrchestrationInstanceCreated, sp.EventEventSent:
		e.match(ev)
	case sp.EventTaskCompleted, sp.EventSubOrchestrationInstanceCompleted:
		if a := e.takeOpen(ev.TaskScheduledID, ev.EventType == sp.EventSubOrchestrationInstanceCompleted); a != nil {
			a.task.complete(ev.Result, nil)
		}
	case sp.EventTaskFailed, sp.EventSubOrchestrationInstanceFailed:
		sub := ev.EventType == sp.EventSubOrchestrationInstanceFailed
		if a := e.takeOpen(ev.TaskScheduledID, sub); a != nil {
			a.task.nonRetriable = ev.FailureDetails != nil && ev.FailureDetails.IsNonRetriable
			a.task.complete("", taskFailedError(a, ev))
		}
	case sp.EventTimerFired:
		if a, ok := e.open[ev.TimerID]; ok && a.kind == kindTimer {
			delete(e.open, ev.TimerID)
			a.task.complete("", nil)
		}
	case sp.EventEventRaised:
		e.raise(ev)
	case sp.EventExecutionTerminated:
		e.terminate(ev)
	case sp.EventExecutionSuspended:
		e.suspended = true
	case sp.EventExecutionResumed:
		e.suspended = false
		held := e.held
		e.held = nil
		for i, h := range held {
			if e.done {
				break
			}
			if e.suspended {
				e.held = append(e.held, held[i:]...)
				break
			}
			e.dispatch(h)
		}
	}
	e.resumeIfReady()
}

// applyAfterCompletion handles events that arrive after the orchestrator
// completed in this work item.
func (e *execution) applyAfterCompletion(ev *sp.HistoryEvent) {
	switch ev.EventType {
	case sp.EventTaskScheduled, sp.EventTimerCreated, sp.EventSubOrchestrationInstanceCreated, sp.EventEventSent:
		// The code returned, yet history holds more decisions: unless the
		// execution was ended from outside (terminate, poison), that is
		// non-determinism too.
		if e.returned {
			if _, ok := e.unmatched[ev.EventID]; ok {
				e.match(ev)
				return
			}
			e.done = false
			e.nonDeterministic(ev.EventID, describeEvent(ev), "nothing")
		}
	case sp.EventEventRaised:
		if e.status == sp.StatusContinuedAsNew {
			e.carryOver = append(e.carryOver, ev)
		}
	case sp.EventExecutionTerminated:
		// A terminate wins over a ContinueAsNew decided in the same work
		// item.
		if e.status == sp.StatusContinuedAsNew {
			e.done = false
			e.terminate(ev)
		}
	}
}

func (e *execution) takeOpen(id int, sub bool) *action {
	a, ok := e.open[id]
	if !ok || (sub != (a.kind == kindSubOrchestration)) || a.kind == kindTimer {
		return nil // a duplicate or unknown completion: ignored
	}
	delete(e.open, id)
	return a
}

func taskFailedError(a *action, ev *sp.HistoryEvent) *bindings.TaskFailedError {
	te := &bindings.TaskFailedError{TaskName: a.name, TaskID: a.id, SubOrchestration: a.kind == kindSubOrchestration, Message: ev.Reason}
	if fd := ev.FailureDetails; fd != nil {
		te.ErrorType = fd.ErrorType
		te.StackTrace = fd.StackTrace
		if fd.ErrorMessage != "" {
			te.Message = fd.ErrorMessage
		}
	}
	if te.StackTrace == "" {
		te.StackTrace = ev.Details
	}
	return te
}

// match confirms a decision of the code against a scheduling event of
// history, failing the execution when they disagree.
func (e *execution) match(ev *sp.HistoryEvent) {
	a, ok := e.unmatched[ev.EventID]
	if !ok {
		e.nonDeterministic(ev.EventID, describeEvent(ev), "nothing")
		return
	}
	switch {
	case a.kind != kindOf(ev.EventType):
	case a.kind != kindTimer && !strings.EqualFold(a.name, ev.Name):
	case a.kind == kindSubOrchestration && a.instanceID != ev.InstanceID:
	case a.kind == kindSendEvent && a.instanceID != ev.InstanceID:
	default:
		delete(e.unmatched, ev.EventID)
		return
	}
	e.nonDeterministic(ev.EventID, describeEvent(ev), a.describe())
}

func (e *execution) nonDeterministic(seq int, holds, asked string) {
	err := &bindings.NonDeterministicOrchestrationError{InstanceID: e.instanceID, SequenceNumber: seq, HistoryHolds: holds, CodeAsked: asked}
	e.fail(&sp.FailureDetails{ErrorType: fmt.Sprintf("%T", err), ErrorMessage: err.Error(), IsNonRetriable: true})
	// What the code decided beyond this point is meaningless.
	e.unmatched = map[int]*action{}
	e.teardown()
}

// misused records a misuse of the context by the code (on the
// orchestrator goroutine); run fails the orchestration with the first one.
func (e *execution) misused(err error) {
	if e.misuse == nil {
		e.misuse = err
	}
}

// failMisuse fails the execution with the recorded misuse. The decisions
// of the episode are dropped: the orchestration ends here.
func (e *execution) failMisuse() {
	e.fail(&sp.FailureDetails{ErrorType: fmt.Sprintf("%T", e.misuse), ErrorMessage: e.misuse.Error(), IsNonRetriable: true})
	e.unmatched = map[int]*action{}
	e.can = nil
	e.teardown()
}

func (e *execution) raise(ev *sp.HistoryEvent) {
	key := strings.ToLower(ev.Name)
	if ws := e.waiters[key]; len(ws) > 0 {
		w := ws[len(ws)-1]
		e.waiters[key] = ws[:len(ws)-1]
		w.complete(ev.Input, nil)
		return
	}
	e.eventSeq++
	e.buffered[key] = append(e.buffered[key], bufferedEvent{seq: e.eventSeq, ev: ev})
}

func (e *execution) removeWaiter(key string, t *task) {
	ws := e.waiters[key]
	for i, w := range ws {
		if w == t {
			e.waiters[key] = append(ws[:i:i], ws[i+1:]...)
			return
		}
	}
}

// ---- completion ----

func (e *execution) completeFromReturn() {
	switch {
	case e.retPanic != nil:
		e.fail(e.retPanic)
	case e.retErr != nil:
		e.fail(&sp.FailureDetails{ErrorType: fmt.Sprintf("%T", e.retErr), ErrorMessage: e.retErr.Error()})
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
		out, err := payload.Marshal(e.retOut)
		if err != nil {
			e.fail(&sp.FailureDetails{ErrorType: fmt.Sprintf("%T", err), ErrorMessage: fmt.Sprintf("serialising the output: %v", err)})
			return
		}
		e.done, e.status, e.output = true, sp.StatusCompleted, out
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
// and closes the episode with OrchestratorCompleted (not for
// ContinueAsNew, whose history is replaced anyway).
func (e *execution) endEpisode() {
	ids := slices.Sorted(maps.Keys(e.unmatched))
	target := sp.OrchestrationInstance{InstanceID: e.instanceID, ExecutionID: e.executionID}
	for _, id := range ids {
		a := e.unmatched[id]
		switch a.kind {
		case kindActivity:
			ev := &sp.HistoryEvent{EventType: sp.EventTaskScheduled, EventID: id, Timestamp: e.now, Name: a.name, Version: a.version, Input: a.input, Tags: a.tags}
			e.history = append(e.history, ev)
			e.activityMsgs = append(e.activityMsgs, &sp.TaskMessage{Event: ev.Clone(), Target: target})
		case kindTimer:
			ev := &sp.HistoryEvent{EventType: sp.EventTimerCreated, EventID: id, Timestamp: e.now, FireAt: a.fireAt, Tags: a.tags}
			e.history = append(e.history, ev)
			e.timerMsgs = append(e.timerMsgs, &sp.TaskMessage{
				Event:  &sp.HistoryEvent{EventType: sp.EventTimerFired, EventID: -1, Timestamp: e.now, TimerID: id, FireAt: a.fireAt},
				Target: target})
		case kindSubOrchestration:
			ev := &sp.HistoryEvent{EventType: sp.EventSubOrchestrationInstanceCreated, EventID: id, Timestamp: e.now,
				Name: a.name, Version: a.version, InstanceID: a.instanceID, Input: a.input, Tags: a.tags}
			e.history = append(e.history, ev)
			child := sp.OrchestrationInstance{InstanceID: a.instanceID, ExecutionID: newExecutionID()}
			ci := child
			e.outboundMsgs = append(e.outboundMsgs, &sp.TaskMessage{Target: child, Event: &sp.HistoryEvent{
				EventType: sp.EventExecutionStarted, EventID: -1, Timestamp: e.now, Name: a.name, Version: a.version, Input: a.input,
				OrchestrationInstance: &ci,
				ParentInstance: &sp.ParentInstance{Name: e.name, Version: e.started.Version,
					OrchestrationInstance: &sp.OrchestrationInstance{InstanceID: e.instanceID, ExecutionID: e.executionID}, TaskScheduleID: id},
			}})
		case kindSendEvent:
			ev := &sp.HistoryEvent{EventType: sp.EventEventSent, EventID: id, Timestamp: e.now, Name: a.name, InstanceID: a.instanceID, Input: a.input}
			e.history = append(e.history, ev)
			e.outboundMsgs = append(e.outboundMsgs, &sp.TaskMessage{Target: sp.OrchestrationInstance{InstanceID: a.instanceID},
				Event: &sp.HistoryEvent{EventType: sp.EventEventRaised, EventID: -1, Timestamp: e.now, Name: a.name, Input: a.input}})
		}
	}
	e.unmatched = map[int]*action{}
	if e.done {
		e.appendCompletion()
		if e.status == sp.StatusContinuedAsNew {
			return
		}
	}
	e.history = append(e.history, &sp.HistoryEvent{EventType: sp.EventOrchestratorCompleted, EventID: -1, Timestamp: truncateTicks(time.Now())})
}

func (e *execution) appendCompletion() {
	id := e.nextID
	switch e.status {
	case sp.StatusContinuedAsNew:
		e.history = append(e.history, &sp.HistoryEvent{EventType: sp.EventContinueAsNew, EventID: id, Timestamp: e.now,
			OrchestrationStatus: sp.StatusContinuedAsNew, Result: e.output})
		return
	case sp.StatusFailed:
		e.history = append(e.history, &sp.HistoryEvent{EventType: sp.EventExecutionCompleted, EventID: id, Timestamp: e.now,
			OrchestrationStatus: sp.StatusFailed, Result: e.output, FailureDetails: e.failure, Reason: e.failure.ErrorMessage, Details: e.failure.StackTrace})
	default:
		e.history = append(e.history, &sp.HistoryEvent{EventType: sp.EventExecutionCompleted, EventID: id, Timestamp: e.now,
			OrchestrationStatus: e.status, Result: e.output})
	}
	e.teardown()
	// Tell the parent, if any.
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
		msg.Event = &sp.HistoryEvent{EventType: sp.EventSubOrchestrationInstanceCompleted, EventID: -1, Timestamp: now,
			TaskScheduledID: pi.TaskScheduleID, Result: output}
		return msg
	}
	if fd == nil { // terminated
		fd = terminatedFailure(name, instanceID, output)
	}
	msg.Event = &sp.HistoryEvent{EventType: sp.EventSubOrchestrationInstanceFailed, EventID: -1, Timestamp: now,
		TaskScheduledID: pi.TaskScheduleID, Reason: fd.ErrorMessage, Details: fd.StackTrace, FailureDetails: fd}
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
