package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funchost/funchost/bindings"
	sp "github.com/funchost/funchost/storageprovider"
)

// ---- hand-built history helpers ----

var t0 = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

const testID = "inst1"
const testExec = "exec1"

func osAt(t time.Time) *sp.HistoryEvent {
	return &sp.HistoryEvent{EventType: sp.EventOrchestratorStarted, EventID: -1, Timestamp: t}
}
func ocEv() *sp.HistoryEvent {
	return &sp.HistoryEvent{EventType: sp.EventOrchestratorCompleted, EventID: -1, Timestamp: t0}
}
func esEv(name, input string) *sp.HistoryEvent {
	return &sp.HistoryEvent{EventType: sp.EventExecutionStarted, EventID: -1, Timestamp: t0, Name: name, Input: input,
		OrchestrationInstance: &sp.OrchestrationInstance{InstanceID: testID, ExecutionID: testExec}}
}
func tsEv(id int, name string) *sp.HistoryEvent {
	return &sp.HistoryEvent{EventType: sp.EventTaskScheduled, EventID: id, Timestamp: t0, Name: name}
}
func tcEv(id int, result string) *sp.HistoryEvent {
	return &sp.HistoryEvent{EventType: sp.EventTaskCompleted, EventID: -1, TaskScheduledID: id, Result: result}
}
func tfEv(id int, msg string) *sp.HistoryEvent {
	return &sp.HistoryEvent{EventType: sp.EventTaskFailed, EventID: -1, TaskScheduledID: id, Reason: msg,
		FailureDetails: &sp.FailureDetails{ErrorType: "*errors.errorString", ErrorMessage: msg}}
}
func tmcEv(id int, at time.Time) *sp.HistoryEvent {
	return &sp.HistoryEvent{EventType: sp.EventTimerCreated, EventID: id, Timestamp: t0, FireAt: at}
}
func tmfEv(id int) *sp.HistoryEvent {
	return &sp.HistoryEvent{EventType: sp.EventTimerFired, EventID: -1, TimerID: id}
}
func socEv(id int, name, inst string) *sp.HistoryEvent {
	return &sp.HistoryEvent{EventType: sp.EventSubOrchestrationInstanceCreated, EventID: id, Name: name, InstanceID: inst}
}
func sentEv(id int, inst, name string) *sp.HistoryEvent {
	return &sp.HistoryEvent{EventType: sp.EventEventSent, EventID: id, Name: name, InstanceID: inst}
}
func raisedEv(name, input string) *sp.HistoryEvent {
	return &sp.HistoryEvent{EventType: sp.EventEventRaised, EventID: -1, Name: name, Input: input}
}

// sim drives the processor the way a task hub would, keeping the
// committed history between steps. With cache set it hands the live
// execution back in, as the Worker's session cache does.
type sim struct {
	t     *testing.T
	p     *processor
	hist  []*sp.HistoryEvent
	cache bool
	exec  *execution
	clock time.Time
	last  *sp.OrchestrationCheckpoint
	// jsonRoundTrip stores the committed history as JSON between steps,
	// as a storage provider would.
	jsonRoundTrip bool
}

func newSim(t *testing.T, orchs map[string]bindings.Orchestrator, cache bool) *sim {
	s := &sim{t: t, cache: cache, clock: t0}
	s.p = &processor{
		lookup: func(n string) bindings.Orchestrator { o, _ := lookupFold(orchs, n); return o },
		logger: slog.New(discardHandler{}),
		clock:  func() time.Time { return s.clock },
	}
	t.Cleanup(func() {
		if s.exec != nil {
			s.exec.teardown()
		}
	})
	return s
}

// step delivers events (as messages to the current execution) and commits
// the checkpoint. The clock moves by a second per step.
func (s *sim) step(evs ...*sp.HistoryEvent) *sp.OrchestrationCheckpoint {
	s.t.Helper()
	msgs := make([]*sp.TaskMessage, len(evs))
	for i, ev := range evs {
		msgs[i] = &sp.TaskMessage{Event: ev, Target: sp.OrchestrationInstance{InstanceID: testID}}
	}
	return s.stepMsgs(msgs...)
}

func (s *sim) stepMsgs(msgs ...*sp.TaskMessage) *sp.OrchestrationCheckpoint {
	s.t.Helper()
	wi := &sp.OrchestrationWorkItem{InstanceID: testID, History: s.hist, NewMessages: msgs, DequeueCount: 1}
	var cached *execution
	if s.exec != nil && s.exec.matchesHistory(s.hist) {
		cached = s.exec
	} else if s.exec != nil {
		s.exec.teardown()
	}
	s.exec = nil
	res := s.p.process(wi, cached, nil)
	cp := res.checkpoint
	if cp.ReplaceHistory {
		s.hist = append([]*sp.HistoryEvent(nil), cp.NewEvents...)
	} else {
		s.hist = append(s.hist, cp.NewEvents...)
	}
	if s.jsonRoundTrip {
		b, err := json.Marshal(s.hist)
		if err != nil {
			s.t.Fatal(err)
		}
		s.hist = nil
		if err := json.Unmarshal(b, &s.hist); err != nil {
			s.t.Fatal(err)
		}
	}
	if res.exec != nil {
		if s.cache {
			s.exec = res.exec
		} else {
			res.exec.teardown()
		}
	}
	s.last = cp
	s.clock = s.clock.Add(time.Second)
	return cp
}

func (s *sim) start(name, input string) *sp.OrchestrationCheckpoint {
	return s.step(esEv(name, input))
}

func eventTypes(evs []*sp.HistoryEvent) string {
	parts := make([]string, len(evs))
	for i, ev := range evs {
		parts[i] = ev.EventType.String()
		if ev.EventID >= 0 {
			parts[i] += fmt.Sprintf("(%d)", ev.EventID)
		}
	}
	return strings.Join(parts, " ")
}

// replayOnce runs orch against a hand-built history plus new events in one
// work item.
func replayOnce(t *testing.T, orch bindings.Orchestrator, hist []*sp.HistoryEvent, newEvents ...*sp.HistoryEvent) *sp.OrchestrationCheckpoint {
	t.Helper()
	s := newSim(t, map[string]bindings.Orchestrator{"Orch": orch}, false)
	s.hist = hist
	return s.step(newEvents...)
}

// ---- non-determinism ----

func TestNonDeterminism(t *testing.T) {
	started := []*sp.HistoryEvent{osAt(t0), esEv("Orch", "")}
	tests := []struct {
		name      string
		orch      bindings.Orchestrator
		history   []*sp.HistoryEvent
		wantHolds string
		wantAsked string
	}{
		{
			name: "kind differs",
			orch: func(ctx bindings.OrchestrationContext) (any, error) {
				return nil, ctx.CreateTimer(ctx.CurrentUTCDateTime().Add(time.Hour)).Await(nil)
			},
			history:   []*sp.HistoryEvent{tsEv(0, "A"), ocEv()},
			wantHolds: `TaskScheduled "A"`, wantAsked: "CreateTimer",
		},
		{
			name: "name differs",
			orch: func(ctx bindings.OrchestrationContext) (any, error) {
				return nil, ctx.CallActivity("B", nil).Await(nil)
			},
			history:   []*sp.HistoryEvent{tsEv(0, "A"), ocEv()},
			wantHolds: `TaskScheduled "A"`, wantAsked: `CallActivity "B"`,
		},
		{
			name: "history holds a decision the code no longer makes",
			orch: func(ctx bindings.OrchestrationContext) (any, error) {
				return "done", nil
			},
			history:   []*sp.HistoryEvent{tsEv(0, "A"), ocEv()},
			wantHolds: `TaskScheduled "A"`, wantAsked: "nothing",
		},
		{
			name: "timer where history holds a sub-orchestration",
			orch: func(ctx bindings.OrchestrationContext) (any, error) {
				return nil, ctx.CreateTimer(ctx.CurrentUTCDateTime()).Await(nil)
			},
			history:   []*sp.HistoryEvent{socEv(0, "Child", "c1"), ocEv()},
			wantHolds: `SubOrchestrationInstanceCreated "Child" (instance "c1")`, wantAsked: "CreateTimer",
		},
		{
			name: "sub-orchestration instance ID changed",
			orch: func(ctx bindings.OrchestrationContext) (any, error) {
				return nil, ctx.CallSubOrchestrator("Child", nil, bindings.WithInstanceID("c2")).Await(nil)
			},
			history:   []*sp.HistoryEvent{socEv(0, "Child", "c1"), ocEv()},
			wantHolds: `SubOrchestrationInstanceCreated "Child" (instance "c1")`, wantAsked: `CallSubOrchestrator "Child" (instance "c2")`,
		},
		{
			name: "event sent to another instance",
			orch: func(ctx bindings.OrchestrationContext) (any, error) {
				ctx.SendEvent("other", "Go", 1)
				return nil, ctx.CreateTimer(ctx.CurrentUTCDateTime().Add(time.Hour)).Await(nil)
			},
			history:   []*sp.HistoryEvent{sentEv(0, "target", "Go"), tmcEv(1, t0.Add(time.Hour)), ocEv()},
			wantHolds: `EventSent "Go" to "target"`, wantAsked: `SendEvent "Go" to "other"`,
		},
		{
			name: "event sent under another name",
			orch: func(ctx bindings.OrchestrationContext) (any, error) {
				ctx.SendEvent("target", "Stop", 1)
				return nil, ctx.CreateTimer(ctx.CurrentUTCDateTime().Add(time.Hour)).Await(nil)
			},
			history:   []*sp.HistoryEvent{sentEv(0, "target", "Go"), tmcEv(1, t0.Add(time.Hour)), ocEv()},
			wantHolds: `EventSent "Go" to "target"`, wantAsked: `SendEvent "Stop" to "target"`,
		},
		{
			name: "second decision differs after a completion",
			orch: func(ctx bindings.OrchestrationContext) (any, error) {
				if err := ctx.CallActivity("A", nil).Await(nil); err != nil {
					return nil, err
				}
				return nil, ctx.CallActivity("C", nil).Await(nil)
			},
			history:   []*sp.HistoryEvent{tsEv(0, "A"), ocEv(), osAt(t0.Add(time.Second)), tcEv(0, `1`), tsEv(1, "B"), ocEv()},
			wantHolds: `TaskScheduled "B"`, wantAsked: `CallActivity "C"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hist := append(append([]*sp.HistoryEvent{}, started...), tt.history...)
			cp := replayOnce(t, tt.orch, hist, raisedEv("poke", ""))
			if cp.State.RuntimeStatus != sp.StatusFailed {
				t.Fatalf("status = %v, want Failed; events %s", cp.State.RuntimeStatus, eventTypes(cp.NewEvents))
			}
			fd := cp.State.FailureDetails
			if fd == nil || fd.ErrorType != "*bindings.NonDeterministicOrchestrationError" {
				t.Fatalf("failure details = %+v", fd)
			}
			seq := tt.history[0].EventID
			if tt.name == "second decision differs after a completion" {
				seq = 1
			}
			for _, want := range []string{fmt.Sprintf("sequence number %d", seq), "history holds " + tt.wantHolds, "the code asked for " + tt.wantAsked} {
				if !strings.Contains(fd.ErrorMessage, want) {
					t.Errorf("message %q lacks %q", fd.ErrorMessage, want)
				}
			}
			if !strings.Contains(cp.State.Output, "non-deterministic") {
				t.Errorf("output %q does not explain the failure", cp.State.Output)
			}
			if len(cp.ActivityMessages)+len(cp.TimerMessages) != 0 {
				t.Errorf("a non-deterministic episode sent work: %d activities, %d timers", len(cp.ActivityMessages), len(cp.TimerMessages))
			}
		})
	}
}

func TestNamesMatchCaseInsensitively(t *testing.T) {
	orch := func(ctx bindings.OrchestrationContext) (any, error) {
		return bindings.CallActivity[int](ctx, "sayhello", nil)
	}
	hist := []*sp.HistoryEvent{osAt(t0), esEv("Orch", ""), tsEv(0, "SayHello"), ocEv()}
	cp := replayOnce(t, orch, hist, tcEv(0, "7"))
	if cp.State.RuntimeStatus != sp.StatusCompleted || cp.State.Output != "7" {
		t.Fatalf("state = %v %q, failure %+v", cp.State.RuntimeStatus, cp.State.Output, cp.State.FailureDetails)
	}
}

// ---- basic shapes ----

func TestSequenceHistoryShape(t *testing.T) {
	for _, cache := range []bool{false, true} {
		t.Run(fmt.Sprintf("cache=%v", cache), func(t *testing.T) {
			orch := func(ctx bindings.OrchestrationContext) (any, error) {
				var in string
				if err := ctx.Input(&in); err != nil {
					return nil, err
				}
				a, err := bindings.CallActivity[string](ctx, "Hello", in)
				if err != nil {
					return nil, err
				}
				return a + "!", nil
			}
			s := newSim(t, map[string]bindings.Orchestrator{"Orch": orch}, cache)
			cp := s.start("Orch", `"x"`)
			if got, want := eventTypes(cp.NewEvents), "OrchestratorStarted ExecutionStarted TaskScheduled(0) OrchestratorCompleted"; got != want {
				t.Fatalf("episode 1 = %s, want %s", got, want)
			}
			if len(cp.ActivityMessages) != 1 || cp.ActivityMessages[0].Event.Input != `"x"` || cp.ActivityMessages[0].Target.ExecutionID != testExec {
				t.Fatalf("activity messages = %+v", cp.ActivityMessages)
			}
			if cp.State.RuntimeStatus != sp.StatusRunning || !cp.State.CreatedTime.Equal(t0) || cp.State.Input != `"x"` {
				t.Fatalf("state after episode 1 = %+v", cp.State)
			}
			cp = s.step(tcEv(0, `"hi x"`))
			if got, want := eventTypes(cp.NewEvents), "OrchestratorStarted TaskCompleted ExecutionCompleted(1) OrchestratorCompleted"; got != want {
				t.Fatalf("episode 2 = %s, want %s", got, want)
			}
			if cp.State.RuntimeStatus != sp.StatusCompleted || cp.State.Output != `"hi x!"` || cp.State.CompletedTime.IsZero() {
				t.Fatalf("final state = %+v", cp.State)
			}
		})
	}
}

func TestActivityFailureReachesOrchestrator(t *testing.T) {
	var got *bindings.TaskFailedError
	orch := func(ctx bindings.OrchestrationContext) (any, error) {
		err := ctx.CallActivity("A", nil).Await(nil)
		if !errors.As(err, &got) {
			return nil, fmt.Errorf("not a TaskFailedError: %v", err)
		}
		return "handled", nil
	}
	hist := []*sp.HistoryEvent{osAt(t0), esEv("Orch", ""), tsEv(0, "A"), ocEv()}
	cp := replayOnce(t, orch, hist, tfEv(0, "kaput"))
	if cp.State.RuntimeStatus != sp.StatusCompleted {
		t.Fatalf("state = %+v", cp.State)
	}
	if got.TaskName != "A" || got.TaskID != 0 || got.Message != "kaput" || got.ErrorType != "*errors.errorString" {
		t.Fatalf("TaskFailedError = %+v", got)
	}
}

func TestOrchestratorErrorAndPanic(t *testing.T) {
	tests := []struct {
		name     string
		orch     bindings.Orchestrator
		wantType string
		wantMsg  string
	}{
		{"error", func(bindings.OrchestrationContext) (any, error) { return nil, errors.New("bad input") }, "*errors.errorString", "bad input"},
		{"panic", func(bindings.OrchestrationContext) (any, error) { panic("kaboom") }, "panic", "kaboom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSim(t, map[string]bindings.Orchestrator{"Orch": tt.orch}, false)
			cp := s.start("Orch", "")
			fd := cp.State.FailureDetails
			if cp.State.RuntimeStatus != sp.StatusFailed || fd == nil || fd.ErrorType != tt.wantType || !strings.Contains(fd.ErrorMessage, tt.wantMsg) {
				t.Fatalf("state = %v, failure %+v", cp.State.RuntimeStatus, fd)
			}
			var out string
			if err := json.Unmarshal([]byte(cp.State.Output), &out); err != nil || !strings.Contains(out, tt.wantMsg) {
				t.Errorf("output %q is not a JSON string naming the failure", cp.State.Output)
			}
			if tt.name == "panic" && !strings.Contains(fd.StackTrace, "goroutine") {
				t.Errorf("no stack in %q", fd.StackTrace)
			}
		})
	}
}

func TestUnknownOrchestratorFails(t *testing.T) {
	s := newSim(t, map[string]bindings.Orchestrator{}, false)
	cp := s.start("Missing", "")
	if cp.State.RuntimeStatus != sp.StatusFailed || !strings.Contains(cp.State.FailureDetails.ErrorMessage, "'Missing' is not registered") {
		t.Fatalf("state = %+v", cp.State)
	}
}

// ---- retries ----

func TestRetryHistoryShapes(t *testing.T) {
	policy := bindings.RetryPolicy{MaxAttempts: 3, FirstRetryInterval: 10 * time.Second, BackoffCoefficient: 2}
	type step struct {
		deliver   func(s *sim) []*sp.HistoryEvent
		wantTypes string
		wantDelay time.Duration // for a new timer, fireAt - episode time
	}
	fail := func(id int) func(*sim) []*sp.HistoryEvent {
		return func(*sim) []*sp.HistoryEvent { return []*sp.HistoryEvent{tfEv(id, "no")} }
	}
	fire := func(id int) func(*sim) []*sp.HistoryEvent {
		return func(*sim) []*sp.HistoryEvent { return []*sp.HistoryEvent{tmfEv(id)} }
	}
	tests := []struct {
		name       string
		policy     bindings.RetryPolicy
		sub        bool
		steps      []step
		wantStatus sp.OrchestrationStatus
	}{
		{
			name: "all attempts fail, extra timer after the last", policy: policy,
			steps: []step{
				{fail(0), "OrchestratorStarted TaskFailed TimerCreated(1) OrchestratorCompleted", 10 * time.Second},
				{fire(1), "OrchestratorStarted TimerFired TaskScheduled(2) OrchestratorCompleted", 0},
				{fail(2), "OrchestratorStarted TaskFailed TimerCreated(3) OrchestratorCompleted", 20 * time.Second},
				{fire(3), "OrchestratorStarted TimerFired TaskScheduled(4) OrchestratorCompleted", 0},
				{fail(4), "OrchestratorStarted TaskFailed TimerCreated(5) OrchestratorCompleted", 0},
				{fire(5), "OrchestratorStarted TimerFired ExecutionCompleted(6) OrchestratorCompleted", 0},
			},
			wantStatus: sp.StatusFailed,
		},
		{
			name: "second attempt succeeds", policy: policy,
			steps: []step{
				{fail(0), "OrchestratorStarted TaskFailed TimerCreated(1) OrchestratorCompleted", 10 * time.Second},
				{fire(1), "OrchestratorStarted TimerFired TaskScheduled(2) OrchestratorCompleted", 0},
				{func(*sim) []*sp.HistoryEvent { return []*sp.HistoryEvent{tcEv(2, `"ok"`)} }, "OrchestratorStarted TaskCompleted ExecutionCompleted(3) OrchestratorCompleted", 0},
			},
			wantStatus: sp.StatusCompleted,
		},
		{
			name: "handle says no: no timer", policy: bindings.RetryPolicy{MaxAttempts: 3, FirstRetryInterval: time.Second, Handle: func(error) bool { return false }},
			steps: []step{
				{fail(0), "OrchestratorStarted TaskFailed ExecutionCompleted(1) OrchestratorCompleted", 0},
			},
			wantStatus: sp.StatusFailed,
		},
		{
			name: "non-retriable failure: no retry, no timer", policy: policy,
			steps: []step{
				{func(*sim) []*sp.HistoryEvent {
					ev := tfEv(0, "poison")
					ev.FailureDetails.IsNonRetriable = true
					return []*sp.HistoryEvent{ev}
				}, "OrchestratorStarted TaskFailed ExecutionCompleted(1) OrchestratorCompleted", 0},
			},
			wantStatus: sp.StatusFailed,
		},
		{
			name: "max retry interval caps the delay", policy: bindings.RetryPolicy{MaxAttempts: 3, FirstRetryInterval: time.Minute, BackoffCoefficient: 10, MaxRetryInterval: 90 * time.Second},
			steps: []step{
				{fail(0), "OrchestratorStarted TaskFailed TimerCreated(1) OrchestratorCompleted", time.Minute},
				{fire(1), "OrchestratorStarted TimerFired TaskScheduled(2) OrchestratorCompleted", 0},
				{fail(2), "OrchestratorStarted TaskFailed TimerCreated(3) OrchestratorCompleted", 90 * time.Second},
			},
			wantStatus: sp.StatusRunning,
		},
		{
			name: "retry timeout elapsed: no retry", policy: bindings.RetryPolicy{MaxAttempts: 5, FirstRetryInterval: time.Second, RetryTimeout: time.Second},
			steps: []step{
				// The sim clock moves 1 s per step, so the failure is seen at
				// first attempt + 1 s = the retry timeout.
				{fail(0), "OrchestratorStarted TaskFailed ExecutionCompleted(1) OrchestratorCompleted", 0},
			},
			wantStatus: sp.StatusFailed,
		},
		{
			name: "sub-orchestration retry", policy: bindings.RetryPolicy{MaxAttempts: 2, FirstRetryInterval: time.Second}, sub: true,
			steps: []step{
				{func(*sim) []*sp.HistoryEvent {
					return []*sp.HistoryEvent{{EventType: sp.EventSubOrchestrationInstanceFailed, EventID: -1, TaskScheduledID: 0, Reason: "child broke"}}
				}, "OrchestratorStarted SubOrchestrationInstanceFailed TimerCreated(1) OrchestratorCompleted", time.Second},
				{fire(1), "OrchestratorStarted TimerFired SubOrchestrationInstanceCreated(2) OrchestratorCompleted", 0},
			},
			wantStatus: sp.StatusRunning,
		},
	}
	for _, tt := range tests {
		for _, cache := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/cache=%v", tt.name, cache), func(t *testing.T) {
				var final error
				orch := func(ctx bindings.OrchestrationContext) (any, error) {
					var err error
					if tt.sub {
						err = ctx.CallSubOrchestrator("Child", nil, bindings.WithRetry(tt.policy)).Await(nil)
					} else {
						err = ctx.CallActivity("Flaky", nil, bindings.WithRetry(tt.policy)).Await(nil)
					}
					final = err
					return "done", err
				}
				s := newSim(t, map[string]bindings.Orchestrator{"Orch": orch}, cache)
				cp := s.start("Orch", "")
				first := "TaskScheduled(0)"
				if tt.sub {
					first = "SubOrchestrationInstanceCreated(0)"
				}
				if got := eventTypes(cp.NewEvents); got != "OrchestratorStarted ExecutionStarted "+first+" OrchestratorCompleted" {
					t.Fatalf("first episode = %s", got)
				}
				for i, st := range tt.steps {
					cp = s.step(st.deliver(s)...)
					if got := eventTypes(cp.NewEvents); got != st.wantTypes {
						t.Fatalf("step %d: events %s, want %s", i, got, st.wantTypes)
					}
					for _, ev := range cp.NewEvents {
						if ev.EventType == sp.EventTimerCreated {
							if d := ev.FireAt.Sub(ev.Timestamp); d != st.wantDelay {
								t.Errorf("step %d: timer delay %v, want %v", i, d, st.wantDelay)
							}
							if ev.Tags[retryChainTag] != "0" {
								t.Errorf("step %d: retry timer lacks the chain tag: %v", i, ev.Tags)
							}
						}
					}
				}
				if cp.State.RuntimeStatus != tt.wantStatus {
					t.Fatalf("status = %v, want %v (%+v)", cp.State.RuntimeStatus, tt.wantStatus, cp.State.FailureDetails)
				}
				if tt.wantStatus == sp.StatusFailed {
					var tfe *bindings.TaskFailedError
					if !errors.As(final, &tfe) || tfe.TaskName != "Flaky" {
						t.Errorf("orchestrator saw %v", final)
					}
				}
			})
		}
	}
}

// ---- timers, events, WhenAny, WhenAll ----

func TestReturnWithPendingTimerCompletes(t *testing.T) {
	orch := func(ctx bindings.OrchestrationContext) (any, error) {
		ctx.CreateTimer(ctx.CurrentUTCDateTime().Add(time.Hour))
		return "early", nil
	}
	s := newSim(t, map[string]bindings.Orchestrator{"Orch": orch}, false)
	cp := s.start("Orch", "")
	if cp.State.RuntimeStatus != sp.StatusCompleted || cp.State.Output != `"early"` {
		t.Fatalf("state = %+v", cp.State)
	}
}

func TestTimerFires(t *testing.T) {
	for _, cache := range []bool{false, true} {
		orch := func(ctx bindings.OrchestrationContext) (any, error) {
			at := ctx.CurrentUTCDateTime().Add(time.Minute)
			if err := ctx.CreateTimer(at).Await(nil); err != nil {
				return nil, err
			}
			return ctx.CurrentUTCDateTime().Format(time.RFC3339), nil
		}
		s := newSim(t, map[string]bindings.Orchestrator{"Orch": orch}, cache)
		cp := s.start("Orch", "")
		if len(cp.TimerMessages) != 1 || !cp.TimerMessages[0].Event.FireAt.Equal(t0.Add(time.Minute)) || cp.TimerMessages[0].Event.TimerID != 0 {
			t.Fatalf("timer messages = %+v", cp.TimerMessages)
		}
		cp = s.step(tmfEv(0))
		if cp.State.RuntimeStatus != sp.StatusCompleted || cp.State.Output != `"2024-01-02T03:04:06Z"` {
			t.Fatalf("state = %+v", cp.State)
		}
	}
}

func TestExternalEventsBufferedFIFOCaseInsensitive(t *testing.T) {
	for _, cache := range []bool{false, true} {
		t.Run(fmt.Sprintf("cache=%v", cache), func(t *testing.T) {
			orch := func(ctx bindings.OrchestrationContext) (any, error) {
				// Wait for something else first so that both events arrive
				// before anyone waits for them.
				if err := ctx.WaitForExternalEvent("go").Await(nil); err != nil {
					return nil, err
				}
				a, err := bindings.WaitForExternalEvent[int](ctx, "approval")
				if err != nil {
					return nil, err
				}
				b, err := bindings.WaitForExternalEvent[int](ctx, "Approval")
				if err != nil {
					return nil, err
				}
				return []int{a, b}, nil
			}
			s := newSim(t, map[string]bindings.Orchestrator{"Orch": orch}, cache)
			s.start("Orch", "")
			s.step(raisedEv("APPROVAL", "1"))
			s.step(raisedEv("approval", "2"))
			cp := s.step(raisedEv("Go", ""))
			if cp.State.RuntimeStatus != sp.StatusCompleted || cp.State.Output != "[1,2]" {
				t.Fatalf("state = %v %q", cp.State.RuntimeStatus, cp.State.Output)
			}
		})
	}
}

func TestWaitForExternalEventTimeout(t *testing.T) {
	orch := func(ctx bindings.OrchestrationContext) (any, error) {
		err := ctx.WaitForExternalEvent("Approval", bindings.WithTimeout(time.Hour)).Await(nil)
		if errors.Is(err, bindings.ErrTimeout) {
			return "timed out", nil
		}
		return "approved", err
	}
	for _, tc := range []struct {
		name    string
		deliver *sp.HistoryEvent
		want    string
	}{
		{"timeout", tmfEv(0), `"timed out"`},
		{"event first", raisedEv("approval", `true`), `"approved"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, map[string]bindings.Orchestrator{"Orch": orch}, false)
			cp := s.start("Orch", "")
			if len(cp.TimerMessages) != 1 || !cp.TimerMessages[0].Event.FireAt.Equal(t0.Add(time.Hour)) {
				t.Fatalf("timer = %+v", cp.TimerMessages)
			}
			cp = s.step(tc.deliver)
			if cp.State.Output != tc.want {
				t.Fatalf("output %q, want %q", cp.State.Output, tc.want)
			}
		})
	}
}

func TestWhenAnyAndWhenAll(t *testing.T) {
	orch := func(ctx bindings.OrchestrationContext) (any, error) {
		timer := ctx.CreateTimer(ctx.CurrentUTCDateTime().Add(time.Hour))
		ev := ctx.WaitForExternalEvent("Done")
		var idx int
		if err := ctx.WhenAny(timer, ev).Await(&idx); err != nil {
			return nil, err
		}
		a := ctx.CallActivity("A", 1)
		b := ctx.CallActivity("B", 2)
		var all []int
		if err := ctx.WhenAll(a, b).Await(&all); err != nil {
			return nil, err
		}
		return map[string]any{"idx": idx, "all": all}, nil
	}
	for _, cache := range []bool{false, true} {
		s := newSim(t, map[string]bindings.Orchestrator{"Orch": orch}, cache)
		s.start("Orch", "")
		cp := s.step(raisedEv("done", ""))
		if got := eventTypes(cp.NewEvents); got != "OrchestratorStarted EventRaised TaskScheduled(1) TaskScheduled(2) OrchestratorCompleted" {
			t.Fatalf("events = %s", got)
		}
		s.step(tcEv(2, "20"))
		cp = s.step(tcEv(1, "10"))
		if cp.State.Output != `{"all":[10,20],"idx":1}` {
			t.Fatalf("output = %s (%v)", cp.State.Output, cp.State.FailureDetails)
		}
	}
}

func TestWhenAllReportsFirstErrorInArgumentOrder(t *testing.T) {
	orch := func(ctx bindings.OrchestrationContext) (any, error) {
		err := ctx.WhenAll(ctx.CallActivity("A", nil), ctx.CallActivity("B", nil)).Await(nil)
		var tfe *bindings.TaskFailedError
		if errors.As(err, &tfe) {
			return tfe.TaskName, nil
		}
		return nil, fmt.Errorf("unexpected %v", err)
	}
	hist := []*sp.HistoryEvent{osAt(t0), esEv("Orch", ""), tsEv(0, "A"), tsEv(1, "B"), ocEv()}
	cp := replayOnce(t, orch, hist, tfEv(1, "b broke"), tfEv(0, "a broke"))
	if cp.State.Output != `"A"` {
		t.Fatalf("output = %s", cp.State.Output)
	}
}

// ---- sub-orchestrations and events sent ----

func TestSubOrchestrationMessages(t *testing.T) {
	orch := func(ctx bindings.OrchestrationContext) (any, error) {
		ctx.SendEvent("peer", "Hello", "x")
		a := ctx.CallSubOrchestrator("Child", 1)
		b := ctx.CallSubOrchestrator("Child", 2, bindings.WithInstanceID("fixed"))
		return nil, ctx.WhenAll(a, b).Await(nil)
	}
	s := newSim(t, map[string]bindings.Orchestrator{"Orch": orch}, false)
	cp := s.start("Orch", "")
	if len(cp.OutboundMessages) != 3 {
		t.Fatalf("outbound = %d", len(cp.OutboundMessages))
	}
	ev := cp.OutboundMessages[0]
	if ev.Event.EventType != sp.EventEventRaised || ev.Target.InstanceID != "peer" || ev.Target.ExecutionID != "" || ev.Event.Input != `"x"` {
		t.Errorf("event message = %+v %+v", ev.Target, ev.Event)
	}
	child := cp.OutboundMessages[1]
	wantID := strings.ReplaceAll(stableGUID(testID, testExec, 1), "-", "")
	if child.Target.InstanceID != wantID || len(child.Target.ExecutionID) != 32 || child.Event.EventType != sp.EventExecutionStarted {
		t.Errorf("child start = %+v", child.Target)
	}
	if p := child.Event.ParentInstance; p == nil || p.TaskScheduleID != 1 || p.OrchestrationInstance.InstanceID != testID || p.OrchestrationInstance.ExecutionID != testExec {
		t.Errorf("parent instance = %+v", p)
	}
	if cp.OutboundMessages[2].Target.InstanceID != "fixed" {
		t.Errorf("explicit child ID = %q", cp.OutboundMessages[2].Target.InstanceID)
	}
	// Replaying must produce the same child ID (deterministic GUID).
	cp = s.step(&sp.HistoryEvent{EventType: sp.EventSubOrchestrationInstanceCompleted, EventID: -1, TaskScheduledID: 1, Result: "1"},
		&sp.HistoryEvent{EventType: sp.EventSubOrchestrationInstanceCompleted, EventID: -1, TaskScheduledID: 2, Result: "2"})
	if cp.State.RuntimeStatus != sp.StatusCompleted {
		t.Fatalf("state = %+v", cp.State)
	}
}

func TestChildReportsToParent(t *testing.T) {
	tests := []struct {
		name     string
		orch     bindings.Orchestrator
		deliver  []*sp.HistoryEvent
		wantType sp.EventType
	}{
		{"completed", func(bindings.OrchestrationContext) (any, error) { return 5, nil }, nil, sp.EventSubOrchestrationInstanceCompleted},
		{"failed", func(bindings.OrchestrationContext) (any, error) { return nil, errors.New("nope") }, nil, sp.EventSubOrchestrationInstanceFailed},
		{"terminated", func(ctx bindings.OrchestrationContext) (any, error) {
			return nil, ctx.WaitForExternalEvent("x").Await(nil)
		},
			[]*sp.HistoryEvent{{EventType: sp.EventExecutionTerminated, EventID: -1, Input: `"stop"`}}, sp.EventSubOrchestrationInstanceFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSim(t, map[string]bindings.Orchestrator{"Child": tt.orch}, false)
			start := esEv("Child", "")
			start.ParentInstance = &sp.ParentInstance{Name: "Parent", TaskScheduleID: 4, OrchestrationInstance: &sp.OrchestrationInstance{InstanceID: "p", ExecutionID: "pe"}}
			cp := s.step(start)
			if len(tt.deliver) > 0 {
				cp = s.step(tt.deliver...)
			}
			if len(cp.OutboundMessages) != 1 {
				t.Fatalf("outbound = %d", len(cp.OutboundMessages))
			}
			m := cp.OutboundMessages[0]
			if m.Event.EventType != tt.wantType || m.Event.TaskScheduledID != 4 || m.Target.InstanceID != "p" || m.Target.ExecutionID != "pe" {
				t.Fatalf("notice = %+v -> %+v", m.Event, m.Target)
			}
		})
	}
}

// TestSubOrchestrationStartForRunningInstance: a start for an instance ID
// that a running execution holds fails the calling parent's task, unless
// it is a duplicate of the holder's own start.
func TestSubOrchestrationStartForRunningInstance(t *testing.T) {
	parent := func(inst, exec string, id int) *sp.ParentInstance {
		return &sp.ParentInstance{Name: "Parent", TaskScheduleID: id, OrchestrationInstance: &sp.OrchestrationInstance{InstanceID: inst, ExecutionID: exec}}
	}
	startFrom := func(exec string, pi *sp.ParentInstance) *sp.TaskMessage {
		ev := esEv("Child", "")
		ev.OrchestrationInstance = &sp.OrchestrationInstance{InstanceID: testID, ExecutionID: exec}
		ev.ParentInstance = pi
		return &sp.TaskMessage{Event: ev, Target: *ev.OrchestrationInstance}
	}
	tests := []struct {
		name       string
		msg        *sp.TaskMessage
		wantReject bool
	}{
		{"redelivered start", startFrom(testExec, parent("p", "pe", 4)), false},
		{"same parent call re-sent with a new execution", startFrom("other", parent("p", "pe", 4)), false},
		{"client start", startFrom("other", nil), false},
		{"another parent", startFrom("other", parent("q", "qe", 7)), true},
		{"same parent, another call", startFrom("other", parent("p", "pe", 5)), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			child := func(ctx bindings.OrchestrationContext) (any, error) {
				return nil, ctx.WaitForExternalEvent("x").Await(nil)
			}
			s := newSim(t, map[string]bindings.Orchestrator{"Child": child}, false)
			s.stepMsgs(startFrom(testExec, parent("p", "pe", 4)))
			cp := s.stepMsgs(tt.msg)
			if cp.State.RuntimeStatus != sp.StatusRunning || cp.State.ExecutionID != testExec {
				t.Fatalf("holder disturbed: %+v", cp.State)
			}
			if !tt.wantReject {
				if len(cp.OutboundMessages) != 0 {
					t.Fatalf("outbound = %+v", cp.OutboundMessages[0].Event)
				}
				return
			}
			if len(cp.OutboundMessages) != 1 {
				t.Fatalf("outbound = %d messages, want the rejection", len(cp.OutboundMessages))
			}
			m := cp.OutboundMessages[0]
			pi := tt.msg.Event.ParentInstance
			if m.Event.EventType != sp.EventSubOrchestrationInstanceFailed || m.Event.TaskScheduledID != pi.TaskScheduleID ||
				m.Target != *pi.OrchestrationInstance || m.Event.FailureDetails == nil ||
				m.Event.FailureDetails.ErrorType != "OrchestrationAlreadyExists" || !strings.Contains(m.Event.Reason, "already running") {
				t.Fatalf("rejection = %+v -> %+v", m.Event, m.Target)
			}
		})
	}
}

// TestRewindOfUnfailedChildRenotifiesParent: a rewind reaching a child that
// was terminated or completed re-sends its outcome to the parent.
func TestRewindOfUnfailedChildRenotifiesParent(t *testing.T) {
	tests := []struct {
		name     string
		deliver  *sp.HistoryEvent
		wantType sp.EventType
		want     string
	}{
		{"terminated", &sp.HistoryEvent{EventType: sp.EventExecutionTerminated, EventID: -1, Input: `"stop"`}, sp.EventSubOrchestrationInstanceFailed, "terminated: stop"},
		{"completed", raisedEv("x", "5"), sp.EventSubOrchestrationInstanceCompleted, "5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			child := func(ctx bindings.OrchestrationContext) (any, error) {
				return bindings.WaitForExternalEvent[int](ctx, "x")
			}
			s := newSim(t, map[string]bindings.Orchestrator{"Child": child}, false)
			start := esEv("Child", "")
			start.ParentInstance = &sp.ParentInstance{Name: "Parent", TaskScheduleID: 2, OrchestrationInstance: &sp.OrchestrationInstance{InstanceID: "p", ExecutionID: "pe"}}
			s.step(start)
			s.step(tt.deliver)
			cp := s.step(&sp.HistoryEvent{EventType: sp.EventExecutionRewound, EventID: -1, Reason: "parent rewound"})
			if len(cp.NewEvents) != 0 || len(cp.OutboundMessages) != 1 {
				t.Fatalf("checkpoint = %d events, %d messages", len(cp.NewEvents), len(cp.OutboundMessages))
			}
			m := cp.OutboundMessages[0]
			got := m.Event.Result + m.Event.Reason
			if m.Event.EventType != tt.wantType || m.Event.TaskScheduledID != 2 || m.Target.InstanceID != "p" || !strings.Contains(got, tt.want) {
				t.Fatalf("notice = %+v -> %+v", m.Event, m.Target)
			}
		})
	}
}

// ---- ContinueAsNew ----

func TestContinueAsNewCarriesOverEvents(t *testing.T) {
	orch := func(ctx bindings.OrchestrationContext) (any, error) {
		var n int
		if err := ctx.Input(&n); err != nil {
			return nil, err
		}
		if err := ctx.WaitForExternalEvent("tick").Await(nil); err != nil {
			return nil, err
		}
		ctx.SetCustomStatus(n)
		if n < 2 {
			ctx.ContinueAsNew(n + 1)
		}
		return n, nil
	}
	for _, cache := range []bool{false, true} {
		t.Run(fmt.Sprintf("cache=%v", cache), func(t *testing.T) {
			s := newSim(t, map[string]bindings.Orchestrator{"Orch": orch}, cache)
			s.start("Orch", "0")
			// Two ticks in one batch: the first ends generation 0, the
			// second is carried over into generation 1, which ends at once;
			// generation 2 then waits.
			cp := s.step(raisedEv("tick", ""), raisedEv("tick", ""))
			if !cp.ReplaceHistory {
				t.Fatal("ContinueAsNew did not replace history")
			}
			if got := eventTypes(cp.NewEvents); got != "OrchestratorStarted ExecutionStarted OrchestratorCompleted" {
				t.Fatalf("new generation history = %s", got)
			}
			if cp.State.RuntimeStatus != sp.StatusRunning || cp.State.Input != "2" || cp.State.ExecutionID == testExec || cp.State.CustomStatus != "1" {
				t.Fatalf("state = %+v", cp.State)
			}
			cp = s.step(raisedEv("tick", ""))
			if cp.State.RuntimeStatus != sp.StatusCompleted || cp.State.Output != "2" {
				t.Fatalf("final state = %+v", cp.State)
			}
		})
	}
}

func TestContinueAsNewPreserveUnprocessedEvents(t *testing.T) {
	orch := func(ctx bindings.OrchestrationContext) (any, error) {
		var n int
		_ = ctx.Input(&n)
		if n == 0 {
			if err := ctx.WaitForExternalEvent("go").Await(nil); err != nil {
				return nil, err
			}
			ctx.ContinueAsNew(1, bindings.PreserveUnprocessedEvents())
			return nil, nil
		}
		return bindings.WaitForExternalEvent[string](ctx, "keep")
	}
	s := newSim(t, map[string]bindings.Orchestrator{"Orch": orch}, false)
	s.start("Orch", "0")
	s.step(raisedEv("keep", `"kept"`))
	cp := s.step(raisedEv("go", ""))
	if cp.State.RuntimeStatus != sp.StatusCompleted || cp.State.Output != `"kept"` {
		t.Fatalf("state = %+v; events %s", cp.State, eventTypes(cp.NewEvents))
	}
}

// ---- terminate, suspend, resume, rewind ----

func TestSuspendHoldsEventsUntilResume(t *testing.T) {
	for _, cache := range []bool{false, true} {
		orch := func(ctx bindings.OrchestrationContext) (any, error) {
			a, err := bindings.WaitForExternalEvent[int](ctx, "e")
			if err != nil {
				return nil, err
			}
			b, err := bindings.WaitForExternalEvent[int](ctx, "e")
			return a*10 + b, err
		}
		s := newSim(t, map[string]bindings.Orchestrator{"Orch": orch}, cache)
		s.start("Orch", "")
		cp := s.step(&sp.HistoryEvent{EventType: sp.EventExecutionSuspended, EventID: -1, Reason: "pause"}, raisedEv("e", "1"))
		if cp.State.RuntimeStatus != sp.StatusSuspended {
			t.Fatalf("status = %v", cp.State.RuntimeStatus)
		}
		cp = s.step(raisedEv("e", "2"))
		if cp.State.RuntimeStatus != sp.StatusSuspended {
			t.Fatalf("status = %v", cp.State.RuntimeStatus)
		}
		cp = s.step(&sp.HistoryEvent{EventType: sp.EventExecutionResumed, EventID: -1})
		if cp.State.RuntimeStatus != sp.StatusCompleted || cp.State.Output != "12" {
			t.Fatalf("state = %v %q", cp.State.RuntimeStatus, cp.State.Output)
		}
	}
}

func TestTerminateWhileSuspended(t *testing.T) {
	orch := func(ctx bindings.OrchestrationContext) (any, error) {
		return nil, ctx.WaitForExternalEvent("never").Await(nil)
	}
	s := newSim(t, map[string]bindings.Orchestrator{"Orch": orch}, true)
	s.start("Orch", "")
	s.step(&sp.HistoryEvent{EventType: sp.EventExecutionSuspended, EventID: -1})
	cp := s.step(&sp.HistoryEvent{EventType: sp.EventExecutionTerminated, EventID: -1, Input: `"enough"`})
	if cp.State.RuntimeStatus != sp.StatusTerminated || cp.State.Output != `"enough"` {
		t.Fatalf("state = %+v", cp.State)
	}
	if got := eventTypes(cp.NewEvents); got != "OrchestratorStarted ExecutionTerminated ExecutionCompleted(0) OrchestratorCompleted" {
		t.Fatalf("events = %s", got)
	}
	// Later messages to the terminated instance are dropped. (The sim
	// hands the processor no status row, so it may rewrite the row from
	// history, but only as it is: Terminated.)
	cp = s.step(raisedEv("never", ""))
	if len(cp.NewEvents) != 0 || (cp.State != nil && (cp.State.RuntimeStatus != sp.StatusTerminated || cp.State.Output != `"enough"`)) {
		t.Fatalf("terminal instance took a message: %+v", cp)
	}
}

func TestStaleMessagesDropped(t *testing.T) {
	orch := func(ctx bindings.OrchestrationContext) (any, error) {
		return bindings.WaitForExternalEvent[int](ctx, "e")
	}
	s := newSim(t, map[string]bindings.Orchestrator{"Orch": orch}, false)
	s.start("Orch", "")
	cp := s.stepMsgs(&sp.TaskMessage{Event: raisedEv("e", "1"), Target: sp.OrchestrationInstance{InstanceID: testID, ExecutionID: "old"}})
	if cp.State.RuntimeStatus != sp.StatusRunning {
		t.Fatalf("stale message was processed: %+v", cp.State)
	}
	cp = s.stepMsgs(&sp.TaskMessage{Event: raisedEv("e", "2"), Target: sp.OrchestrationInstance{InstanceID: testID, ExecutionID: testExec}})
	if cp.State.Output != "2" {
		t.Fatalf("output = %q", cp.State.Output)
	}
}

func TestRewindRerunsFailedWork(t *testing.T) {
	for _, retry := range []bool{false, true} {
		t.Run(fmt.Sprintf("retry=%v", retry), func(t *testing.T) {
			var opts []bindings.Option
			if retry {
				opts = append(opts, bindings.WithRetry(bindings.RetryPolicy{MaxAttempts: 2, FirstRetryInterval: time.Second}))
			}
			orch := func(ctx bindings.OrchestrationContext) (any, error) {
				a, err := bindings.CallActivity[int](ctx, "A", nil)
				if err != nil {
					return nil, err
				}
				b, err := bindings.CallActivity[int](ctx, "B", nil, opts...)
				if err != nil {
					return nil, err
				}
				return a + b, nil
			}
			s := newSim(t, map[string]bindings.Orchestrator{"Orch": orch}, false)
			s.start("Orch", "")
			s.step(tcEv(0, "1"))
			cp := s.step(tfEv(1, "b broke"))
			if retry {
				s.step(tmfEv(2))
				s.step(tfEv(3, "b broke again"))
				cp = s.step(tmfEv(4))
			}
			if cp.State.RuntimeStatus != sp.StatusFailed {
				t.Fatalf("status = %v", cp.State.RuntimeStatus)
			}
			cp = s.step(&sp.HistoryEvent{EventType: sp.EventExecutionRewound, EventID: -1, Reason: "try again"})
			if !cp.ReplaceHistory || cp.State.RuntimeStatus != sp.StatusRunning {
				t.Fatalf("rewind: replace=%v state=%+v", cp.ReplaceHistory, cp.State)
			}
			if len(cp.ActivityMessages) != 1 || cp.ActivityMessages[0].Event.Name != "B" || cp.ActivityMessages[0].Event.EventID != 1 {
				t.Fatalf("rewind re-ran %+v", cp.ActivityMessages)
			}
			for _, ev := range s.hist {
				if ev.EventType == sp.EventTaskFailed || ev.EventType == sp.EventExecutionCompleted {
					t.Fatalf("rewound history still holds %s: %s", ev.EventType, eventTypes(s.hist))
				}
			}
			cp = s.step(tcEv(1, "2"))
			if cp.State.RuntimeStatus != sp.StatusCompleted || cp.State.Output != "3" {
				t.Fatalf("after rewind: %+v", cp.State)
			}
		})
	}
}

func TestRewindSendsRewindToFailedChild(t *testing.T) {
	orch := func(ctx bindings.OrchestrationContext) (any, error) {
		return bindings.CallSubOrchestrator[int](ctx, "Child", nil, bindings.WithInstanceID("kid"))
	}
	s := newSim(t, map[string]bindings.Orchestrator{"Orch": orch}, false)
	s.start("Orch", "")
	s.step(&sp.HistoryEvent{EventType: sp.EventSubOrchestrationInstanceFailed, EventID: -1, TaskScheduledID: 0, Reason: "kid broke"})
	cp := s.step(&sp.HistoryEvent{EventType: sp.EventExecutionRewound, EventID: -1})
	if len(cp.OutboundMessages) != 1 || cp.OutboundMessages[0].Target.InstanceID != "kid" || cp.OutboundMessages[0].Event.EventType != sp.EventExecutionRewound {
		t.Fatalf("outbound = %+v", cp.OutboundMessages)
	}
	cp = s.step(&sp.HistoryEvent{EventType: sp.EventSubOrchestrationInstanceCompleted, EventID: -1, TaskScheduledID: 0, Result: "9"})
	if cp.State.Output != "9" {
		t.Fatalf("state = %+v", cp.State)
	}
}

func TestPoisonWorkItemFailsInstance(t *testing.T) {
	ran := false
	orch := func(ctx bindings.OrchestrationContext) (any, error) { ran = true; return nil, nil }
	s := newSim(t, map[string]bindings.Orchestrator{"Orch": orch}, false)
	s.p.maxDequeue = 3
	wi := &sp.OrchestrationWorkItem{InstanceID: testID, DequeueCount: 4,
		NewMessages: []*sp.TaskMessage{{Event: esEv("Orch", ""), Target: sp.OrchestrationInstance{InstanceID: testID}}}}
	res := s.p.process(wi, nil, nil)
	cp := res.checkpoint
	if ran || cp.State.RuntimeStatus != sp.StatusFailed || !strings.Contains(cp.State.FailureDetails.ErrorMessage, "MaxDequeueCount") {
		t.Fatalf("ran=%v state=%+v", ran, cp.State)
	}
}

// ---- GUIDs, time, replay flag, logging ----

func TestDeterministicGUIDGoldenVectors(t *testing.T) {
	at := time.Date(2023, 5, 6, 7, 8, 9, 123456700, time.UTC)
	want := []string{"73953b1f-150e-567a-b1c7-83c54f2547c3", "337a6d62-88d7-5693-9136-94da5755af1b", "b4bf1ef1-1083-55e5-8d3f-67e15eabc383"}
	for i, w := range want {
		if got := DeterministicGUID("fixed-instance-id", at, i); got != w {
			t.Errorf("counter %d: %s, want %s", i, got, w)
		}
	}
}

func TestNewGUIDAndTimeAreStableAcrossReplays(t *testing.T) {
	var seen [][]string
	orch := func(ctx bindings.OrchestrationContext) (any, error) {
		g1 := ctx.NewGUID()
		t1 := ctx.CurrentUTCDateTime()
		if err := ctx.CallActivity("A", nil).Await(nil); err != nil {
			return nil, err
		}
		g2 := ctx.NewGUID()
		t2 := ctx.CurrentUTCDateTime()
		seen = append(seen, []string{g1, g2})
		return []string{g1, g2, t1.Format(dotNetRoundTrip), t2.Format(dotNetRoundTrip)}, nil
	}
	s := newSim(t, map[string]bindings.Orchestrator{"Orch": orch}, false)
	s.clock = t0.Add(123456789) // sub-tick nanoseconds must be truncated
	s.start("Orch", "")
	cp := s.step(tcEv(0, ""))
	var out []string
	if err := json.Unmarshal([]byte(cp.State.Output), &out); err != nil {
		t.Fatal(err)
	}
	first := t0.Add(123456700)
	second := first.Add(time.Second)
	want := []string{DeterministicGUID(testID, first, 0), DeterministicGUID(testID, second, 1), first.Format(dotNetRoundTrip), second.Format(dotNetRoundTrip)}
	for i := range want {
		if out[i] != want[i] {
			t.Errorf("out[%d] = %s, want %s", i, out[i], want[i])
		}
	}
}

type recordHandler struct {
	mu   sync.Mutex
	msgs []string
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.msgs = append(h.msgs, r.Message)
	return nil
}
func (h *recordHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordHandler) WithGroup(string) slog.Handler      { return h }

func TestLoggerSilentDuringReplay(t *testing.T) {
	var replayFlags []bool
	orch := func(ctx bindings.OrchestrationContext) (any, error) {
		ctx.Logger().Info("starting")
		replayFlags = append(replayFlags, ctx.IsReplaying())
		if err := ctx.CallActivity("A", nil).Await(nil); err != nil {
			return nil, err
		}
		ctx.Logger().Info("finishing")
		replayFlags = append(replayFlags, ctx.IsReplaying())
		return nil, nil
	}
	rec := &recordHandler{}
	s := newSim(t, map[string]bindings.Orchestrator{"Orch": orch}, false)
	s.p.logger = slog.New(rec)
	s.start("Orch", "")
	s.step(tcEv(0, ""))
	if got := strings.Join(rec.msgs, ","); got != "starting,finishing" {
		t.Errorf("logged %q", got)
	}
	if fmt.Sprint(replayFlags) != "[false true false]" {
		t.Errorf("IsReplaying sequence = %v", replayFlags)
	}
}

func TestTeardownLeavesNoGoroutine(t *testing.T) {
	orch := func(ctx bindings.OrchestrationContext) (any, error) {
		return nil, ctx.WaitForExternalEvent("never").Await(nil)
	}
	s := newSim(t, map[string]bindings.Orchestrator{"Orch": orch}, true)
	s.start("Orch", "")
	e := s.exec
	if e == nil || e.exited {
		t.Fatal("no parked execution")
	}
	e.teardown()
	if !e.exited {
		t.Fatal("teardown did not end the goroutine")
	}
	s.exec = nil
}

func TestAwaitInDeferDuringTeardown(t *testing.T) {
	var deferredErr error
	orch := func(ctx bindings.OrchestrationContext) (any, error) {
		defer func() { deferredErr = ctx.WaitForExternalEvent("late").Await(nil) }()
		return nil, ctx.WaitForExternalEvent("never").Await(nil)
	}
	s := newSim(t, map[string]bindings.Orchestrator{"Orch": orch}, true)
	s.start("Orch", "")
	e := s.exec
	s.exec = nil
	e.teardown()
	if !e.exited || !errors.Is(deferredErr, errTornDown) {
		t.Fatalf("exited=%v deferred Await error %v", e.exited, deferredErr)
	}
}

func TestInvalidHistoryWithoutStartIsIgnored(t *testing.T) {
	ran := false
	orch := func(bindings.OrchestrationContext) (any, error) { ran = true; return nil, nil }
	cp := replayOnce(t, orch, []*sp.HistoryEvent{osAt(t0), tsEv(0, "A")}, raisedEv("x", ""))
	if ran || cp.State != nil || len(cp.NewEvents) != 0 {
		t.Fatalf("ran=%v checkpoint=%+v", ran, cp)
	}
	// A start replaces such a history.
	s := newSim(t, map[string]bindings.Orchestrator{"Orch": orch}, false)
	s.hist = []*sp.HistoryEvent{osAt(t0)}
	cp = s.start("Orch", "")
	if !ran || !cp.ReplaceHistory || cp.State.RuntimeStatus != sp.StatusCompleted {
		t.Fatalf("ran=%v checkpoint=%+v", ran, cp)
	}
}

// TestStoredHistoriesReplay: a history that went through JSON between
// every episode replays to the same decisions and result as a live
// (cached) execution that never replays.
func TestStoredHistoriesReplay(t *testing.T) {
	orch := func(ctx bindings.OrchestrationContext) (any, error) {
		g := ctx.NewGUID()
		a, err := bindings.CallActivity[int](ctx, "A", 1, bindings.WithRetry(bindings.RetryPolicy{MaxAttempts: 2, FirstRetryInterval: time.Second}))
		if err != nil {
			return nil, err
		}
		if err := ctx.CreateTimer(ctx.CurrentUTCDateTime().Add(time.Minute)).Await(nil); err != nil {
			return nil, err
		}
		ctx.SendEvent("peer", "ping", a)
		c, err := bindings.CallSubOrchestrator[int](ctx, "Child", a)
		if err != nil {
			return nil, err
		}
		e, err := bindings.WaitForExternalEvent[int](ctx, "E", bindings.WithTimeout(time.Hour))
		if err != nil {
			return nil, err
		}
		ctx.SetCustomStatus("almost")
		return fmt.Sprintf("%s %d %d %d %s", g, a, c, e, ctx.NewGUID()), nil
	}
	run := func(cache, roundTrip bool) (string, []string) {
		s := newSim(t, map[string]bindings.Orchestrator{"Orch": orch}, cache)
		s.jsonRoundTrip = roundTrip
		var shapes []string
		record := func(cp *sp.OrchestrationCheckpoint) { shapes = append(shapes, eventTypes(cp.NewEvents)) }
		record(s.start("Orch", ""))
		record(s.step(tfEv(0, "once")))
		record(s.step(tmfEv(1)))
		record(s.step(tcEv(2, "5")))
		record(s.step(tmfEv(3)))
		record(s.step(&sp.HistoryEvent{EventType: sp.EventSubOrchestrationInstanceCompleted, EventID: -1, TaskScheduledID: 5, Result: "6"}))
		cp := s.step(raisedEv("e", "7"))
		record(cp)
		if cp.State.RuntimeStatus != sp.StatusCompleted || cp.State.CustomStatus != `"almost"` {
			t.Fatalf("cache=%v roundTrip=%v: state %+v", cache, roundTrip, cp.State)
		}
		return cp.State.Output, shapes
	}
	liveOut, liveShapes := run(true, false)
	storedOut, storedShapes := run(false, true)
	if liveOut != storedOut {
		t.Errorf("outputs differ: live %s, stored %s", liveOut, storedOut)
	}
	if strings.Join(liveShapes, "|") != strings.Join(storedShapes, "|") {
		t.Errorf("histories differ:\nlive   %v\nstored %v", liveShapes, storedShapes)
	}
	if !strings.Contains(liveOut, " 5 6 7 ") {
		t.Errorf("output %s", liveOut)
	}
}

// TestStatusRowRepairedFromHistory covers a host that died between
// committing an execution's final history and writing its status row: the
// row still says Pending. A redelivered message for the finished instance
// must rewrite the row from history, or the instance looks stuck forever.
func TestStatusRowRepairedFromHistory(t *testing.T) {
	orch := func(ctx bindings.OrchestrationContext) (any, error) { return "done", nil }
	for _, tt := range []struct {
		name  string
		state *sp.OrchestrationState // the row as the provider has it
		want  bool                   // a repaired State is expected
	}{
		{"row missing", nil, true},
		{"row still Pending", &sp.OrchestrationState{InstanceID: testID, RuntimeStatus: sp.StatusPending}, true},
		{"row already Completed", nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newSim(t, map[string]bindings.Orchestrator{"Orch": orch}, false)
			cp := s.step(esEv("Orch", `"in"`))
			if cp.State == nil || cp.State.RuntimeStatus != sp.StatusCompleted {
				t.Fatalf("first episode state = %+v", cp.State)
			}
			state := tt.state
			if state != nil && state.ExecutionID == "" {
				state.ExecutionID = cp.State.ExecutionID
			}
			if !tt.want {
				state = cp.State.Clone()
			}
			wi := &sp.OrchestrationWorkItem{InstanceID: testID, History: s.hist, State: state, DequeueCount: 2,
				NewMessages: []*sp.TaskMessage{{Event: &sp.HistoryEvent{EventType: sp.EventEventRaised, EventID: -1, Name: "late"}, Target: sp.OrchestrationInstance{InstanceID: testID}}}}
			res := s.p.process(wi, nil, nil)
			got := res.checkpoint
			if len(got.NewEvents) != 0 {
				t.Fatalf("a finished instance got new history: %v", got.NewEvents)
			}
			if !tt.want {
				if got.State != nil {
					t.Fatalf("an up-to-date row was rewritten: %+v", got.State)
				}
				return
			}
			if got.State == nil {
				t.Fatal("the stale status row was not repaired")
			}
			if got.State.RuntimeStatus != sp.StatusCompleted || got.State.Output != `"done"` || got.State.Input != `"in"` ||
				got.State.Name != "Orch" || got.State.ExecutionID != cp.State.ExecutionID || got.State.CreatedTime.IsZero() {
				t.Fatalf("repaired state = %+v", got.State)
			}
		})
	}
}
