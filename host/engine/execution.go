package engine

import (
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"time"

	"github.com/funchost/funchost/bindings"
	sp "github.com/funchost/funchost/storageprovider"
)

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
	// obs receives the lifecycle events (observer.go) of the task hub
	// hub; episodeStart is when the current episode began (wall clock).
	obs          Observer
	hub          string
	episodeStart time.Time
	// announced: the current episode's start was reported (while
	// replaying its ExecutionStarted, or as a new one).
	announced bool

	instanceID  string
	executionID string
	name        string
	started     *sp.HistoryEvent
	// defaultVersion is the worker's, stamped on sub-orchestrations
	// started without WithVersion.
	defaultVersion string
	// onMatch, when set (offline replay), sees each decision history
	// confirms; divergence is the non-determinism the execution failed
	// with, if any.
	onMatch func(ev *sp.HistoryEvent, a *action)
	// anyTarget (offline replay of a reconstructed history only) lets a
	// sub-orchestration event without an InstanceID match the code's.
	anyTarget  bool
	divergence *bindings.NonDeterministicOrchestrationError

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
	// openCalls counts the activity calls of open that history records
	// (scheduled, not completed); recordFrom is the lowest action id that
	// may still wait to be recorded. Both serve recordDecisions (the
	// open-call bound) without a pass over every decision per episode.
	openCalls  int
	recordFrom int

	waiters  map[string][]*task // per lower-cased event name, a stack
	buffered map[string][]bufferedEvent
	eventSeq int
	// entityWaits (observer.go): listen reasons of waits for entity
	// responses, by event name.
	entityWaits map[string]string

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

	// Guards (guard_*.go): the worker's limits and the actions counted.
	lim     limits
	actions int
	bat     baton
	// The stuck guard (guard_stuck.go): the goroutine's pprof label, the
	// episode timeout's deadline while armed, the yield timer; stuck is
	// set (engine side) and abandoned closed when the execution is given
	// up.
	label           string
	armed           bool
	episodeDeadline time.Time
	watch           *time.Timer
	stuck           bool
	abandoned       chan struct{}

	// Outcome.
	done     bool
	status   sp.OrchestrationStatus
	output   string
	failure  *sp.FailureDetails
	returned bool // the orchestrator function returned
	// What it returned, serialised on its goroutine (settleReturn): the
	// output's JSON, or the failure of a returned error or a panic.
	retJSON    string
	retFailure *sp.FailureDetails

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
		abandoned:  make(chan struct{}),
	}
}

// ---- what a work item asks of an execution ----

// forInstance binds a new execution to its instance; with preFail set it
// fails at its ExecutionStarted without running the orchestrator.
func (e *execution) forInstance(instanceID string, preFail *sp.FailureDetails) *execution {
	e.instanceID, e.preFail = instanceID, preFail
	return e
}

// historyInfo summarises a live execution as inspectHistory would its
// history.
func (e *execution) historyInfo() historyInfo {
	return historyInfo{start: e.started, executionID: e.executionID}
}

// matchesHistory reports whether a live execution is exactly at the
// committed history hist (the session cache's check).
func (e *execution) matchesHistory(hist []*sp.HistoryEvent) bool {
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

// inheritCustomStatus starts the execution from a custom status that lives
// only in the status row (one ContinueAsNew carried over).
func (e *execution) inheritCustomStatus(s string) { e.customStatus = s }

// replay feeds committed history.
func (e *execution) replay(hist []*sp.HistoryEvent) {
	for _, ev := range hist {
		e.apply(ev, true)
	}
}

// beginEpisode opens an episode at now; applyNew feeds it a new event.
func (e *execution) beginEpisode(now time.Time) {
	e.armEpisode()
	e.apply(sp.NewOrchestratorStartedEvent(now), false)
	if !e.announced {
		e.emitEpisodeStart(true, true) // a live execution: it has past events
	}
}

func (e *execution) applyNew(ev *sp.HistoryEvent) { e.apply(ev, false) }

// finished reports whether the execution completed (in any status).
func (e *execution) finished() bool { return e.done }

// continuedAsNew reports whether the execution ended with ContinueAsNew.
func (e *execution) continuedAsNew() bool { return e.done && e.status == sp.StatusContinuedAsNew }

// carriedOver returns what a ContinueAsNew hands to the next generation
// besides its start: the carried-over events and the custom status.
func (e *execution) carriedOver() ([]*sp.HistoryEvent, string) { return e.carryOver, e.customStatus }

// nextStart returns the ExecutionStarted of the generation a ContinueAsNew
// begins: a new execution ID, the same name, parent, tags and generation,
// the new input and the version asked for (else the current one).
func (e *execution) nextStart(now time.Time) *sp.HistoryEvent {
	version := e.started.Version
	if e.can != nil && e.can.version != "" {
		version = e.can.version
	}
	start := sp.NewExecutionStartedEvent(now, sp.OrchestrationInstance{InstanceID: e.instanceID, ExecutionID: nextExecutionID(e.instanceID, e.executionID)},
		e.name, version, e.output)
	start.Generation = e.started.Generation
	start.ParentInstance = e.started.ParentInstance
	start.Tags = maps.Clone(e.started.Tags)
	// The same trace and orchestration span go on (DTFx's ContinueAsNew).
	start.ParentTraceContext = e.started.ParentTraceContext.Clone()
	return start
}

// handOver returns the messages that start the next generation in a later
// work item: its start and the carried-over events.
func (e *execution) handOver(start *sp.HistoryEvent) []*sp.TaskMessage {
	target := *start.OrchestrationInstance
	msgs := make([]*sp.TaskMessage, 0, 1+len(e.carryOver))
	msgs = append(msgs, &sp.TaskMessage{Event: start, Target: target})
	for _, ev := range e.carryOver {
		msgs = append(msgs, &sp.TaskMessage{Event: ev, Target: target})
	}
	return msgs
}

// cloneEventsFrom returns copies of the history from index from on.
func (e *execution) cloneEventsFrom(from int) []*sp.HistoryEvent {
	evs := make([]*sp.HistoryEvent, len(e.history)-from)
	for i, ev := range e.history[from:] {
		evs[i] = ev.Clone()
	}
	return evs
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

// scheduleCopy schedules a copy of the template a (one per attempt of a
// retried call) with the retry chain's tags and returns its task.
func (e *execution) scheduleCopy(a action, tags map[string]string) *task {
	a.tags = tags
	return e.schedule(&a).task
}

func (e *execution) scheduleTimer(fireAt time.Time, tags map[string]string) *task {
	return e.schedule(&action{kind: kindTimer, fireAt: sp.Timestamp(fireAt), tags: tags}).task
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
		e.now = sp.Timestamp(ev.Timestamp)
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
		if !e.replaying {
			e.startTrace()
		}
		e.emitEpisodeStart(e.replaying, false)
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
			e.emitResult(a, ev)
			a.task.complete(ev.Result, nil)
		}
	case sp.EventTaskFailed, sp.EventSubOrchestrationInstanceFailed:
		sub := ev.EventType == sp.EventSubOrchestrationInstanceFailed
		if a := e.takeOpen(ev.TaskScheduledID, sub); a != nil {
			e.emitResult(a, ev)
			a.task.nonRetriable = ev.FailureDetails != nil && ev.FailureDetails.IsNonRetriable
			a.task.complete("", taskFailedError(a, ev))
		}
	case sp.EventTimerFired:
		if a, ok := e.open[ev.TimerID]; ok && a.kind == kindTimer {
			if e.obs != nil {
				oe := e.orchEvent(TimerExpired)
				oe.FireAt, oe.ScheduledTime, oe.TaskEventID = ev.FireAt, ev.Timestamp, ev.TimerID
				e.emit(oe)
			}
			delete(e.open, ev.TimerID)
			a.task.complete("", nil)
		}
	case sp.EventEventRaised:
		e.raise(ev)
	case sp.EventExecutionTerminated:
		e.terminate(ev)
	case sp.EventExecutionSuspended:
		e.suspended = true
		e.emitControl(Suspended, ev.Reason)
	case sp.EventExecutionRewound:
		e.emitControl(Rewound, ev.Reason)
	case sp.EventExecutionResumed:
		e.suspended = false
		e.emitControl(Resumed, ev.Reason)
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
	if a.kind == kindActivity && a.scheduled != nil {
		e.openCalls--
	}
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
	case a.kind == kindSubOrchestration && a.instanceID != ev.InstanceID && !(e.anyTarget && ev.InstanceID == "") && !a.derivedID:
	case a.kind == kindSendEvent && a.instanceID != ev.InstanceID:
	default:
		delete(e.unmatched, ev.EventID)
		e.markScheduled(a, ev)
		e.adoptRecordedID(a, ev)
		if e.replaying && e.obs != nil {
			e.emitScheduled(a, true)
		}
		if e.onMatch != nil {
			e.onMatch(ev, a)
		}
		return
	}
	e.nonDeterministic(ev.EventID, describeEvent(ev), a.describe())
}

func (e *execution) nonDeterministic(seq int, holds, asked string) {
	err := &bindings.NonDeterministicOrchestrationError{InstanceID: e.instanceID, SequenceNumber: seq, HistoryHolds: holds, CodeAsked: asked,
		WorkerVersion: e.defaultVersion}
	if e.started != nil {
		err.InstanceVersion = e.started.Version
	}
	e.divergence = err
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
	e.fail(&sp.FailureDetails{ErrorType: misuseType(e.misuse), ErrorMessage: e.misuse.Error(), IsNonRetriable: true})
	e.unmatched = map[int]*action{}
	e.can = nil
	e.teardown()
}

func (e *execution) raise(ev *sp.HistoryEvent) {
	key := strings.ToLower(ev.Name)
	if ws := e.waiters[key]; len(ws) > 0 {
		w := ws[len(ws)-1]
		e.waiters[key] = ws[:len(ws)-1]
		e.emitEvent(EventRaised, ev.Name)
		w.complete(ev.Input, nil)
		return
	}
	e.emitEvent(EventSaved, ev.Name)
	e.eventSeq++
	e.buffered[key] = append(e.buffered[key], bufferedEvent{seq: e.eventSeq, ev: ev})
}

// takeBuffered removes and returns the oldest buffered event named key
// (lower-cased), if one is waiting for a taker.
func (e *execution) takeBuffered(key string) (*sp.HistoryEvent, bool) {
	buf := e.buffered[key]
	if len(buf) == 0 {
		return nil, false
	}
	if len(buf) == 1 {
		delete(e.buffered, key)
	} else {
		e.buffered[key] = buf[1:]
	}
	return buf[0].ev, true
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
